"""Where a propagated frame's time goes, keyframe mode or every frame encoded, end to end.

    .venv/bin/python scripts/keyframe_profile.py --frames ../shared/data/cholecseg8k_clip/frames \\
        --masks ../shared/data/cholecseg8k_clip/masks --label 22 --keyframes on

One walk from frame 0's ground truth to the end, in this (fresh) process: nothing is
cached before it, so the video is decoded and the frames encoded inside the timed walk.
Prints milliseconds per propagated frame for: decoding the video, the tracker's optical
flow (on its own thread, overlapping the rest), the keyframe flow and warp, the encoder,
the decoder (calls and boxes), carrying answers back from keyframes, and the rest (mask
work: warps, boxes, growth limit, quality gate). Run it once per mode, alternating, on a
shared machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import evosam.propagate as propagate_module  # noqa: E402
import evosam.tracking.keyframes as keyframes_module  # noqa: E402
from evosam.bench.propagation import read_label_masks  # noqa: E402
from evosam.masks import dice  # noqa: E402
from evosam.models import load_model  # noqa: E402
from evosam.models.backend import cpu_info  # noqa: E402
from evosam.tracking import TrackSession, make_tracker  # noqa: E402
from evosam.tracking.keyframes import keyframe_session  # noqa: E402
from evosam.tracking.video import KEYFRAMES  # noqa: E402
from evosam.video import open_video  # noqa: E402

SECONDS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
MAIN = threading.main_thread()


def timed(name: str, fn):
    """``fn`` that adds its wall time to ``SECONDS[name]`` (a thread other than the main
    one adds to ``name + " (thread)"``)."""

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            key = name if threading.current_thread() is MAIN else f"{name} (thread)"
            SECONDS[key] += time.perf_counter() - started
            CALLS[key] += 1

    return wrapper


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", required=True)
    p.add_argument("--masks", required=True)
    p.add_argument("--label", type=int, required=True)
    p.add_argument("--keyframes", choices=("on", "off"), default="on")
    p.add_argument("--tracker", default="sam-flow")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    backend = load_model("litemedsam", device="cpu")
    backend.embed(np.zeros((64, 64, 3), np.uint8))  # warm-up: lazy initialisation, not the walk's cost
    with open_video(args.frames) as video:
        count = min(video.frame_count, args.limit or video.frame_count)
        truth = [g == args.label for g in read_label_masks(Path(args.masks), video, count)]
        read = timed("decode video", video.frame)
        boxes = [0]
        predict_boxes = backend.predict_boxes

        def decode(emb, bs):
            boxes[0] += len(bs)
            return predict_boxes(emb, bs)

        backend.predict_boxes = timed("decoder", decode)
        backend.predict = timed("decoder (single)", backend.predict)
        encode_fn = timed("encoder", lambda i: backend.embed(read(i)))
        propagate_module.backward_flow = timed("tracker flow", propagate_module.backward_flow)
        for name in ("carry_prediction", "carry_box", "frame_maps"):
            setattr(keyframes_module, name, timed("carry answer", getattr(keyframes_module, name)))
        keyframes_module.gray_flow = timed("keyframe flow", keyframes_module.gray_flow)
        keyframes_module.warp_embedding = timed("keyframe warp", keyframes_module.warp_embedding)
        started = time.perf_counter()
        if args.keyframes == "on":
            walk = range(1, count)
            session, kf = keyframe_session(backend, read, encode_fn, make_tracker(args.tracker), KEYFRAMES, walk)
        else:
            session, kf = TrackSession(backend, read, encode_fn, make_tracker(args.tracker)), None
        session.add_mask(0, "object", truth[0])
        results = list(session.track("object", range(1, count)))
        wall = time.perf_counter() - started
    n = len(results)
    parts = {k: 1000 * v / n for k, v in sorted(SECONDS.items())}
    main_parts = sum(v for k, v in parts.items() if "(thread)" not in k)
    scored = [r for r in results if truth[r.index].any()]
    out = {
        "cpu": cpu_info("model name"),
        "device": backend.describe(),
        "mode": "keyframes" if kf else "every frame",
        "label": args.label,
        "frames": n,
        "frames_per_s": round(n / wall, 2),
        "ms_per_frame": round(1000 * wall / n, 1),
        "parts_ms_per_frame": {k: round(v, 1) for k, v in parts.items()},
        "rest_ms_per_frame": round(1000 * wall / n - main_parts, 1),
        "calls": dict(CALLS),
        "boxes_decoded": boxes[0] + CALLS.get("decoder (single)", 0),
        "encoded": len(kf.stats.encoded) if kf else CALLS.get("encoder", 0),
        "rechecked": kf.stats.rechecked if kf else 0,
        "mean_dice": round(float(np.mean([dice(r.mask, truth[r.index]) for r in scored])), 4),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['mode']}, label {args.label}: {n} frames, {out['frames_per_s']} frames/s, Dice {out['mean_dice']}")
        print(f"encoded {out['encoded']} (rechecked {out['rechecked']}), boxes decoded {out['boxes_decoded']}")
        for k, v in parts.items():
            print(f"  {k:>24} {v:8.1f} ms/frame")
        print(f"  {'rest (main thread)':>24} {out['rest_ms_per_frame']:8.1f} ms/frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
