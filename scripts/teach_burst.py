"""What a burst of confirmations (Accept proposals…, a project re-taught) costs the head
worker: the leave-out evidence scored after every frame against once at the burst's end,
alternately in one run. Prints a table of seconds per burst and the reports' agreement.

    .venv/bin/python scripts/teach_burst.py [--frames 40] [--rounds 2]

Frames: the 81-frame cholecystectomy video, SAM's mask of a box around the gallbladder carried
frame to frame (each frame's mask is the confirmation, taught with its tight box), real
LiteMedSAM; SAM's predictions are computed once before the timed bursts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import evosam  # noqa: F401  (sets the BLAS thread timeout before numpy loads)
from evosam.learning import Learner, teaching_box
from evosam.masks import prompt_box
from evosam.models import load_model
from evosam.video import open_video

DATA = Path(os.environ.get("EVOSAM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
VIDEO = DATA / "videos" / "cholecystectomy_81f.mp4"
BOX = (350.0, 160.0, 665.0, 375.0)  # the gallbladder on frame 0 (x0, y0, x1, y1)


def confirmations(model, count: int) -> list[tuple]:
    """(index, frame, SAM's prediction for the teaching box, mask, box) for frames 0..count-1."""
    out, box = [], BOX
    with open_video(VIDEO) as video:
        for i in range(count):
            frame = video.frame(i)
            emb = model.embed(frame)
            mask = model.predict(emb, box=box).mask
            box = prompt_box(mask, 0.05) or box
            tight = teaching_box(mask)
            out.append((i, frame, model.predict(emb, box=tight), mask, tight))
    return out


def burst(model_name: str, items: list[tuple], each: bool) -> tuple[float, object]:
    """Seconds to teach ``items`` (scored after each, or once at the end) and the final report."""
    learner = Learner(model_name)
    started = time.perf_counter()
    for i, frame, pred, mask, box in items:
        learner.teach(("v", i, "g"), frame, pred, mask, box, "g", "v", i, rescore=each)
    report = learner.report("g")  # scores a deferred burst now
    return time.perf_counter() - started, report


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    if not VIDEO.is_file():
        print(f"shared data not found at {VIDEO}", file=sys.stderr)
        return 2
    model = load_model("litemedsam", device="cpu")
    items = confirmations(model, args.frames)
    rows, reports = [], {}
    for r in range(args.rounds):
        for each in (True, False):
            seconds, reports[each] = burst(model.name, items, each)
            rows.append(("after every frame" if each else "once, at the end", r + 1, seconds))
            print(f"round {r + 1}: {rows[-1][0]} {seconds:.1f} s", file=sys.stderr)
    print(f"a burst of {args.frames} confirmations taught on the head worker ({model.describe()})")
    print(f"{'evidence scored':>18} {'round':>5} {'s':>7} {'ms/frame':>9}")
    for how, r, seconds in rows:
        print(f"{how:>18} {r:>5} {seconds:>7.1f} {1000 * seconds / args.frames:>9.0f}")
    print(f"the two reports equal: {reports[True] == reports[False]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
