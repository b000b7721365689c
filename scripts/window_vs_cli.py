"""Propagation frames/s in the window and through the CLI's code path, alternately, in one run.

Both start from the same mask (SAM's answer to a box on frame 0 of the 81-frame video) with
the model already loaded and nothing cached: the CLI path is ``propagate_video`` as
``evosam propagate`` calls it; the window path is a real ``MainWindow`` (Qt's offscreen
platform unless a display is set) propagating with P, timed from the key to
``propagation_finished``. Prints a table of each round and the medians.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/window_vs_cli.py [--frames 40] [--rounds 2]
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
from evosam.video import open_video

DATA = Path(os.environ.get("EVOSAM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
VIDEO = DATA / "videos" / "cholecystectomy_81f.mp4"
BOX = (300.0, 150.0, 560.0, 330.0)  # around the gallbladder on frame 0 (x0, y0, x1, y1)


def start_mask(model) -> object:
    with open_video(VIDEO) as video:
        return model.predict(model.embed(video.frame(0)), box=BOX).mask


def cli_rate(model, mask, frames: int) -> float:
    started = time.perf_counter()
    with open_video(VIDEO) as video:
        results = propagate_video(video, Prompt(0, mask=mask), model, frames=range(1, frames + 1))
        count = sum(1 for _ in results) - 1  # the prompt frame comes first
    return count / (time.perf_counter() - started)


def window_rate(app: QApplication, model, mask, frames: int, follow: bool) -> float:
    win = MainWindow(lambda: model, prefetch_ms=0)
    win.act.follow.setChecked(follow)
    win.set_video(open_source(VIDEO), VIDEO)
    win.resize(1400, 900)
    win.show()
    win.activateWindow()  # the P shortcut reaches an active window only (xvfb has no window manager to activate it)
    wait(win.isActiveWindow, 30)
    wait(lambda: win.controller.idle() and bool(win.controller.model_name), 300)
    win.controller.apply(0, win.label, FrameMask(mask, Status.CONFIRMED), "Confirm")
    win.controller.apply(frames + 1, win.label, FrameMask(mask, Status.CONFIRMED), "Anchor")  # stop there
    wait(lambda: win.controller.idle(), 300)
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
    return rate


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--no-follow", action="store_true", help="the window's view stays on frame 0")
    args = p.parse_args()
    if not VIDEO.is_file():
        print(f"shared data not found at {VIDEO}", file=sys.stderr)
        return 2
    app = QApplication(sys.argv[:1])
    model = load_model("litemedsam", device="cpu")
    mask = start_mask(model)
    cli_rate(model, mask, 2)  # warm-up: the first encoder calls are slower
    rows = []
    for r in range(args.rounds):
        rows.append(("cli", r + 1, cli_rate(model, mask, args.frames)))
        rows.append(("window", r + 1, window_rate(app, model, mask, args.frames, not args.no_follow)))
        print(f"round {r + 1}: cli {rows[-2][2]:.2f}, window {rows[-1][2]:.2f} frames/s", file=sys.stderr)
    print(f"propagation of {args.frames} frames of {VIDEO.name} ({model.describe()}), frames/s")
    print(f"{'path':>7} {'round':>5} {'frames/s':>9}")
    for path, r, rate in rows:
        print(f"{path:>7} {r:>5} {rate:>9.2f}")
    med = {k: statistics.median(rate for p_, _, rate in rows if p_ == k) for k in ("cli", "window")}
    share = 100 * med["window"] / med["cli"]
    print(f"median: cli {med['cli']:.2f}, window {med['window']:.2f} ({share:.0f} % of the CLI)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
