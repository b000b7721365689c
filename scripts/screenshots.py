"""Screenshots of the annotator's main states on the bundled sample, as a user sees them.

Run under a virtual X server (the real xcb platform, not offscreen):

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python scripts/screenshots.py docs/screens

It drives the window through its public methods: a box on frame 0 (SAM's proposal), the
ground truth confirmed on a few frames (the head learns in the background), a box on a new
frame (the head's proposal, the learning dock with its curve), then a propagation (caught
while running, once its rate and time left show), and saves the screen with ImageMagick's
``import -window root``. Without ``EVOSAM_HOME`` it runs as a fresh user (a temporary home
whose model cache is the user's).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import evosam  # noqa: F401  - first, as in main.py (limits OpenBLAS's idle spinning)

# isort: split
import torch  # noqa: F401  - before PySide6, as in main.py
from PySide6.QtWidgets import QApplication
from window_driver import wait

from app.main_window import MainWindow, open_source
from app.state import FrameMask, Status
from evosam.imageio import read_mask
from evosam.masks import prompt_box
from evosam.models import load_model
from evosam.paths import HOME_ENV, fresh_home
from evosam.sample import default_sample_path

TAUGHT = (0, 3, 6, 9, 12)
LATER = 20


def shot(app: QApplication, out: Path, name: str) -> None:
    for _ in range(5):
        app.processEvents()
    subprocess.run(["import", "-window", "root", str(out / name)], check=True)
    print(f"wrote {out / name}")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if not os.environ.get(HOME_ENV):  # a fresh user: no autosave of the sample resumed, no kept options
        os.environ[HOME_ENV] = str(fresh_home(Path(tempfile.mkdtemp(prefix="evosam-shots-"))))
    app = QApplication(sys.argv[:1])
    sample = default_sample_path()
    truth = {i: read_mask(sample.parent / "masks" / f"{i:06d}.png") > 0 for i in (*TAUGHT, LATER)}
    win = MainWindow(lambda: load_model("litemedsam", device="cpu"))
    win.set_video(open_source(sample), sample)
    win.resize(1400, 900)
    win.move(0, 0)
    win.show()
    wait(lambda: win.controller.idle() and "LiteMedSAM" in win.model_info.text())
    win.prompt_box(prompt_box(truth[0]))
    wait(lambda: win.current_mask() is not None and win.controller.idle())
    shot(app, out, "1-box-sam-proposal.png")
    taught = []
    win.teaching.taught.connect(taught.append)
    for i in TAUGHT:  # the annotator corrects the proposal to the true tree and confirms it
        win.player.seek(i)
        before = len(taught)
        win.controller.apply(i, win.label, FrameMask(truth[i], Status.CONFIRMED), "Confirm")
        wait(lambda before=before: len(taught) > before)
        print(f"taught frame {i}: Dice SAM {taught[-1].dice_sam:.2f}, with head {taught[-1].dice_head:.2f}")
    win.player.seek(LATER)
    win.prompt_box(prompt_box(truth[LATER]))
    wait(lambda: win.current_mask() is not None and win.controller.idle())
    shot(app, out, "2-head-proposal-and-learning-dock.png")
    win.player.seek(LATER)
    win.propagate()
    # caught once the status bar shows the rate and the time left (a few frames in)
    wait(
        lambda: "frames/s" in win.job_status.text.text() and sum(1 for (f, _), e in win.state.items() if f > LATER) >= 4
    )
    shot(app, out, "3-propagating.png")
    win.controller.cancel()
    wait(lambda: win.controller.idle())
    win.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screens"))
