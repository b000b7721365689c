"""Tune keyframe embeddings on material that is not scored: how well keyframe-mode masks
agree (Dice) with every-frame masks, and how many frames each setting encodes.

    .venv/bin/python scripts/keyframe_agree.py --video ../shared/data/videos/cholecystectomy_81f.mp4 \\
        --box 360,170,560,370 --box 440,110,720,320 --set max_interval=8,12 --set max_warp_error=3,4

Each ``--box`` on frame 0 becomes SAM's mask there (the start mask); ``--mask PNG`` gives a
start mask instead (the bundled sample's frame 0). The real encodings of every frame are
computed once and kept in ``--store`` (a keyframe is then a lookup: the same embedding the
encoder gives), so a grid of settings costs decoder time only. Prints one row per setting:
mean and lowest per-prompt agreement, frames encoded, rechecked. No ground truth is read.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evosam.imageio import read_mask  # noqa: E402
from evosam.masks import dice  # noqa: E402
from evosam.models import Embedding, load_model  # noqa: E402
from evosam.tracking import TrackSession, make_tracker  # noqa: E402
from evosam.tracking.keyframes import KeyframeConfig, keyframe_session  # noqa: E402
from evosam.video import open_video  # noqa: E402


def stored_embeddings(backend, video, count: int, store: Path) -> dict[int, Embedding]:
    """Every frame's real encoding, computed once and kept in ``store`` (a torch file)."""
    if store.is_file():
        saved = torch.load(store, weights_only=True)
        if saved["model"] == backend.name and saved["count"] == count:
            return {
                i: Embedding(f, tuple(saved["frame_size"]), tuple(saved["input_size"]), backend.name)
                for i, f in enumerate(saved["features"])
            }
    embs = {}
    for i in range(count):
        embs[i] = backend.embed(video.frame(i))
        print(f"encoded {i + 1}/{count}", end="\r", file=sys.stderr)
    first = embs[0]
    torch.save(
        {
            "model": backend.name,
            "count": count,
            "frame_size": first.frame_size,
            "input_size": first.input_size,
            "features": [embs[i].features for i in range(count)],
        },
        store,
    )
    return embs


def reference_walks(backend, video, embs, starts, count, tracker, store: Path) -> list[list[np.ndarray]]:
    """Every-frame masks of each start (kept beside ``store``, keyed by the starts and tracker)."""
    digest = hashlib.sha256(b"".join(np.packbits(s).tobytes() for s in starts) + tracker.encode()).hexdigest()[:12]
    path = store.with_name(f"{store.stem}_ref_{digest}.npz")
    if path.is_file():
        saved = np.load(path)
        return [list(saved[f"walk{i}"]) for i in range(len(starts))]
    walks = [
        walk(TrackSession(backend, video.frame, embs.__getitem__, make_tracker(tracker)), s, count) for s in starts
    ]
    np.savez_compressed(path, **{f"walk{i}": np.stack(w) for i, w in enumerate(walks)})
    return walks


def walk(session: TrackSession, start: np.ndarray, count: int) -> list[np.ndarray]:
    session.add_mask(0, "object", start)
    return [r.mask for r in session.track("object", range(1, count))]


def settings(pairs: list[str]) -> list[dict[str, object]]:
    """The cartesian product of ``name=v1,v2`` pairs, values typed like the defaults."""
    defaults = KeyframeConfig()
    axes = []
    for pair in pairs:
        name, _, values = pair.partition("=")
        kind = type(getattr(defaults, name))
        parse = (lambda v: v.lower() in ("1", "true", "yes")) if kind is bool else kind
        axes.append([(name, parse(v)) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)] if axes else [{}]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", required=True)
    p.add_argument("--box", action="append", default=[], help="x0,y0,x1,y1 on frame 0 (SAM's mask starts)")
    p.add_argument("--mask", action="append", default=[], help="a start mask PNG of frame 0")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--tracker", default="sam-flow")
    p.add_argument("--set", action="append", default=[], metavar="NAME=V1,V2", help="KeyframeConfig values to try")
    p.add_argument("--store", default=None, help="file keeping the real encodings (default /tmp/kf_<video>.pt)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (a busy machine: 1)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    backend = load_model("litemedsam", device="cpu")
    with open_video(args.video) as video:
        count = min(video.frame_count, args.limit or video.frame_count)
        store = Path(args.store or f"/tmp/kf_{Path(args.video).stem}_{count}.pt")
        embs = stored_embeddings(backend, video, count, store)
        starts = [read_mask(m, video.size) > 0 for m in args.mask]
        for box in args.box:
            starts.append(backend.predict(embs[0], box=tuple(float(v) for v in box.split(","))).mask)
        every = reference_walks(backend, video, embs, starts, count, args.tracker, store)
        rows = []
        for change in settings(args.set):
            cfg = dataclasses.replace(KeyframeConfig(), **change)
            agree, encoded, rechecked, started = [], 0, 0, time.perf_counter()
            why: dict[str, int] = {}
            decoded = 0
            for start, ref in zip(starts, every, strict=True):
                session, kf = keyframe_session(
                    backend, video.frame, embs.__getitem__, make_tracker(args.tracker), cfg, range(1, count)
                )
                masks = walk(session, start, count)
                agree.append(float(np.mean([dice(a, b) for a, b in zip(masks, ref, strict=True)])))
                encoded += len(kf.stats.encoded)
                rechecked += kf.stats.rechecked
                decoded += getattr(session.model, "decoded", 0)
                for _, reason, _, _ in kf.stats.log:
                    if reason != "carried":
                        why[reason.split()[0]] = why.get(reason.split()[0], 0) + 1
            row = {
                **change,
                "mean_agree": round(float(np.mean(agree)), 4),
                "min_agree": round(float(np.min(agree)), 4),
                "per_prompt": [round(a, 3) for a in agree],
                "encoded_per_walk": round(encoded / len(starts), 1),
                "frames": count - 1,
                "rechecked": rechecked,
                "why": why,
                "decoded_per_frame": round(decoded / len(starts) / (count - 1), 2),
                "s": round(time.perf_counter() - started, 1),
            }
            rows.append(row)
            print(json.dumps(row) if args.json else "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
