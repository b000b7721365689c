"""The new user's case of the head issue, in the real window: on the 81-frame cholecystectomy
video, the gallbladder confirmed on frame 0 (SAM's answer to a box), then a box around the
gallbladder under the instrument on frame 24. Prints the pixel counts of SAM's answer and of
the proposal, and saves a screenshot.

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python scripts/new_user_case.py OUT.png
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import evosam  # noqa: F401  - first, as in main.py

# isort: split
import torch  # noqa: F401  - before PySide6, as in main.py
from PySide6.QtWidgets import QApplication
from window_driver import run_events, wait

from app.main_window import MainWindow, open_source
from evosam.models import load_model

VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "cholecystectomy_81f.mp4"
FIRST_BOX, LATER, LATER_BOX = (365, 160, 520, 355), 24, (345, 150, 530, 360)


def main(out: Path) -> None:
    app = QApplication(sys.argv[:1])
    backend = load_model("litemedsam", device="cpu")
    win = MainWindow(lambda: backend)
    win.set_video(open_source(VIDEO), VIDEO)
    win.resize(1400, 900)
    win.move(0, 0)
    win.show()
    wait(lambda: "LiteMedSAM" in win.model_info.text(), 600)
    win.controller.add_label("gallbladder")
    win.prompt_box(FIRST_BOX)
    wait(lambda: win.current_mask() is not None, 600)
    taught = []
    win.teaching.taught.connect(taught.append)
    win.confirm()
    wait(lambda: bool(taught), 600)
    win.player.seek(LATER)
    win.prompt_box(LATER_BOX)
    busy = lambda: any(type(j).__name__ == "PredictJob" for j in win.controller.jobs.jobs)  # noqa: E731
    wait(lambda: win.current_mask() is not None and not busy(), 600)
    run_events(1.0)
    proposal, frame = win.current_mask().mask, win.source.frame(LATER)
    reason = win.teaching.report("gallbladder").choice.reason
    for _ in range(5):
        app.processEvents()
    subprocess.run(["import", "-window", "root", str(out)], check=True)
    print(f"wrote {out}")
    win.close()  # the window's model worker is the backend's one owner until then
    sam = backend.predict(backend.embed(frame), box=LATER_BOX).mask
    print(
        f"frame {LATER}: SAM alone {int(sam.sum())} px, proposal {int(proposal.sum())} px, "
        f"identical: {bool((sam == proposal).all())}; gate: {reason}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "new-user-case.png"))
