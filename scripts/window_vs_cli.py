"""Propagation frames/s in the window and through the CLI's code path, alternately, in one run.

Both start from the same mask (SAM's answer to a box on frame 0 of the 81-frame video) with
the model already loaded and nothing cached: the CLI path is ``propagate_video`` as
``evosam propagate --head`` calls it, with the head the window proposes with (it learned the
start mask and the anchor that ends the run: the window confirms both); the window path is
a real ``MainWindow`` (Qt's offscreen platform unless a display is set) propagating with P,
timed from the key to ``propagation_finished``. Prints a table of each round and the medians. ``--keyframes``: both
in keyframe mode (``--keyframes on``; the window's Tools ▸ Fast propagation).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/window_vs_cli.py [--frames 40] [--rounds 2] [--keyframes]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import evosam  # noqa: F401  - first, as in main.py

# isort: split
import torch  # noqa: F401  - before PySide6, as in main.py
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from window_driver import wait

from app.main_window import MainWindow, open_source
from app.state import FrameMask, Status
from evosam.models import load_model
from evosam.tracking import Prompt, propagate_video
from evosam.tracking.video import KEYFRAMES
from evosam.video import open_video

DATA = Path(os.environ.get("EVOSAM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
VIDEO = DATA / "videos" / "cholecystectomy_81f.mp4"
BOX = (300.0, 150.0, 560.0, 330.0)  # around the gallbladder on frame 0 (x0, y0, x1, y1)


def start_mask(model) -> object:
    with open_video(VIDEO) as video:
        return model.predict(model.embed(video.frame(0)), box=BOX).mask


def cli_rate(model, mask, frames: int, fast: bool = False, head=None) -> float:
    """Frames/s of ``propagate_video`` from ``mask`` on frame 0, refined by ``head`` (a refiner) if given."""
    started = time.perf_counter()
    with open_video(VIDEO) as video:
        keyframes = KEYFRAMES if fast else None
        walk = range(1, frames + 1)
        results = propagate_video(video, Prompt(0, mask=mask), model, head, frames=walk, keyframes=keyframes)
        count = sum(1 for _ in results) - 1  # the prompt frame comes first
    return count / (time.perf_counter() - started)


def window_rate(app: QApplication, model, mask, frames: int, follow: bool, fast: bool = False) -> tuple[float, object]:
    """Frames/s of the window's propagation (P) from ``mask``, and the head's refiner it used."""
    win = MainWindow(lambda: model, prefetch_ms=0)
    win.act.follow.setChecked(follow)
    win.act.fast_propagation.setChecked(fast)
    win.set_video(open_source(VIDEO), VIDEO)
    win.resize(1400, 900)
    win.show()
    win.activateWindow()  # the P shortcut reaches an active window only (xvfb has no window manager to activate it)
    wait(win.isActiveWindow, 30)
    wait(lambda: win.controller.idle() and bool(win.controller.model_name), 300)
    win.controller.apply(0, win.label, FrameMask(mask, Status.CONFIRMED), "Confirm")
    win.controller.apply(frames + 1, win.label, FrameMask(mask, Status.CONFIRMED), "Anchor")  # stop there
    wait(lambda: win.controller.idle(), 300)
    refiner = win.controller.refiner_for(win.label)
    win.player.seek(0)
    done = []
    win.propagation_finished.connect(done.append)
    started = time.perf_counter()
    QTest.keyClick(win, Qt.Key.Key_P)
    wait(lambda: bool(done), 1200)
    seconds = time.perf_counter() - started
    rate = done[0].frames_done / seconds
    win.close()
    app.processEvents()
    return rate, refiner


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--no-follow", action="store_true", help="the window's view stays on frame 0")
    p.add_argument("--keyframes", action="store_true", help="both paths encode keyframes only")
    p.add_argument("--runtime", default="auto", help="what runs the encoder on the CPU (evosam's --runtime)")
    args = p.parse_args()
    if not VIDEO.is_file():
        print(f"shared data not found at {VIDEO}", file=sys.stderr)
        return 2
    app = QApplication(sys.argv[:1])
    model = load_model("litemedsam", device="cpu", runtime=args.runtime)
    mask = start_mask(model)
    cli_rate(model, mask, 2)  # warm-up: the first encoder calls are slower
    _, head = window_rate(app, model, mask, args.frames, False)  # the head the window learns from the two masks
    print(f"the window proposes with {'the head' if head is not None else 'SAM alone'}", file=sys.stderr)
    rows = []
    for r in range(args.rounds):
        rows.append(("cli", r + 1, cli_rate(model, mask, args.frames, args.keyframes, head)))
        rate, _ = window_rate(app, model, mask, args.frames, not args.no_follow, args.keyframes)
        rows.append(("window", r + 1, rate))
        print(f"round {r + 1}: cli {rows[-2][2]:.2f}, window {rows[-1][2]:.2f} frames/s", file=sys.stderr)
    mode = "keyframes" if args.keyframes else "every frame encoded"
    print(f"propagation of {args.frames} frames of {VIDEO.name} ({model.describe()}, {mode}), frames/s")
    print(f"{'path':>7} {'round':>5} {'frames/s':>9}")
    for path, r, rate in rows:
        print(f"{path:>7} {r:>5} {rate:>9.2f}")
    med = {k: statistics.median(rate for p_, _, rate in rows if p_ == k) for k in ("cli", "window")}
    share = 100 * med["window"] / med["cli"]
    print(f"median: cli {med['cli']:.2f}, window {med['window']:.2f} ({share:.0f} % of the CLI)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
