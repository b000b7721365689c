"""How long the annotator takes to answer a drawn box, as a user waits for it.

On the bundled sample (640x360) in the real window (offscreen Qt, LiteMedSAM on the CPU,
no background prefetch): the embedding of the frame is cached first (as the idle prefetch
does), then a box is prompted the way the canvas does on mouse release, and the script
times, in the GUI thread, when SAM's mask is on screen and when the proposal is in the
state. Before any teaching the proposal is SAM's mask; after teaching (the ground truth of
five frames confirmed), SAM's mask is shown first as a draft and the head's refinement
follows. Two boxes per frame: the mask's tight box (the vessel tree spans most of the
frame) and a 160x120 box around a part of it.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/box_latency.py [--runtime auto|torch|openvino]
        [--pause SECONDS]

Prints a table of medians (milliseconds) over the frames.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import evosam  # noqa: E402, F401  - first, as in main.py (limits OpenBLAS's idle spinning)

# isort: split
import torch  # noqa: E402, F401  - before PySide6, as in main.py
from PySide6.QtWidgets import QApplication  # noqa: E402
from window_driver import wait  # noqa: E402

from app.main_window import MainWindow, open_source  # noqa: E402
from app.state import FrameMask, Status  # noqa: E402
from evosam.imageio import read_mask  # noqa: E402
from evosam.masks import centroid, prompt_box  # noqa: E402
from evosam.models import load_model  # noqa: E402
from evosam.sample import default_sample_path  # noqa: E402

TAUGHT = (0, 3, 6, 9, 12)
TIMED = (20, 24, 28, 32, 36, 40, 44, 48)
PAUSE_S = 0.5  # default pause before drawing, as a user's (--pause 0: right after the last answer)


def local_box(mask, size=(160, 120)) -> tuple[float, float, float, float]:
    """A ``size`` (w, h) box centred on the mask's centroid, inside the frame."""
    (cx, cy), (h, w) = centroid(mask), mask.shape
    x0 = min(max(0.0, cx - size[0] / 2), w - 1.0 - size[0])
    y0 = min(max(0.0, cy - size[1] / 2), h - 1.0 - size[1])
    return (x0, y0, x0 + size[0], y0 + size[1])


def time_box(win: MainWindow, frame: int, box, pause_s: float) -> tuple[float | None, float]:
    """(ms until SAM's mask is on screen as a draft or None without a head, ms until the
    proposal is in the state) for a box on ``frame``, whose embedding is cached first."""
    win.player.seek(frame)
    win.prompt_box(box)  # embeds the frame (not timed)
    wait(lambda: win.controller.idle())
    pause = time.perf_counter() + pause_s
    wait(lambda: time.perf_counter() > pause)
    marks: dict[str, float] = {}
    on_draft = lambda _res: marks.setdefault("draft", time.perf_counter())  # noqa: E731
    on_change = lambda _frames: marks.setdefault("final", time.perf_counter())  # noqa: E731
    win.draft_shown.connect(on_draft)
    win.annotation_changed.connect(on_change)
    started = time.perf_counter()
    win.prompt_box(box)
    wait(lambda: "final" in marks)
    win.draft_shown.disconnect(on_draft)
    win.annotation_changed.disconnect(on_change)
    wait(lambda: win.controller.idle())
    draft = 1000 * (marks["draft"] - started) if "draft" in marks else None
    return draft, 1000 * (marks["final"] - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="auto", choices=("auto", "torch", "openvino"))
    parser.add_argument("--pause", type=float, default=PAUSE_S, help="seconds between an answer and the next box")
    args = parser.parse_args()
    _app = QApplication(sys.argv[:1])  # kept alive while the window runs
    sample = default_sample_path()
    truth = {i: read_mask(sample.parent / "masks" / f"{i:06d}.png") > 0 for i in (*TAUGHT, *TIMED)}
    win = MainWindow(lambda: load_model("litemedsam", device="cpu", runtime=args.runtime), prefetch_ms=0)
    win.set_video(open_source(sample), sample)
    win.resize(1400, 900)
    win.show()
    wait(lambda: win.controller.idle() and "LiteMedSAM" in win.model_info.text())
    boxes = {"tight box": lambda i: prompt_box(truth[i]), "160x120 box": lambda i: local_box(truth[i])}
    rows = []
    for name, box_of in boxes.items():
        rows.append((f"SAM only, {name}", [time_box(win, i, box_of(i), args.pause) for i in TIMED]))
    taught: list[object] = []
    win.teaching.taught.connect(taught.append)
    for i in TAUGHT:
        win.player.seek(i)
        before = len(taught)
        win.controller.apply(i, win.label, FrameMask(truth[i], Status.CONFIRMED), "Confirm")
        wait(lambda before=before: len(taught) > before)
    for name, box_of in boxes.items():
        rows.append((f"head taught, {name}", [time_box(win, i, box_of(i), args.pause) for i in TIMED]))
    print(f"box -> mask in the window: {win.model_info.text()}, {len(TIMED)} frames, medians in ms")
    print(f"{'':>28}  {'SAM mask on screen':>18}  {'proposal in the state':>21}")
    for text, times in rows:
        drafts = [d for d, _ in times if d is not None]
        first = statistics.median(drafts) if drafts else statistics.median(f for _, f in times)
        print(f"{text:>28}  {first:>18.1f}  {statistics.median(f for _, f in times):>21.1f}")
    win.close()


if __name__ == "__main__":
    main()
