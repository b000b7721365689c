"""``evosam bench speed``: where the time goes, per frame, on this machine.

On a clip (default: the bundled sample) with a start mask (default: the sample's ground
truth of frame 0, or ``--masks``): median milliseconds of the image encoder (``embed``), the
mask decoder for a box (``predict``), teaching the head one confirmed frame (``teach``), the
head's prediction over a whole frame (``head_predict``; on the backend's GPU when it has one,
``evosam.learning.beside``), the interactive answer to a drawn box
once the frame's embedding is cached (``box``: the decoder, then the taught head refining
inside the box, as the app's box prompt does), and end-to-end propagation frames
per second (read + embed + predict + head refinement, fresh embeddings, ``--batch`` frames
per encoder call with the next frames decoded meanwhile), with the peak
resident memory (and peak GPU memory on CUDA).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from evosam.commands.common import batch_from_args, model_from_args, progress
from evosam.errors import InputError
from evosam.imageio import read_mask
from evosam.learning import Box, HeadRefiner, Learner, Refiner, beside, teaching_box
from evosam.models import Embedding, SamBackend
from evosam.models.backend import cpu_info
from evosam.tracking import Prompt, propagate_video
from evosam.video import open_video

KEYS = ("embed_ms", "predict_ms", "teach_ms", "head_predict_ms", "box_ms", "propagate_fps", "peak_rss_mb")


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` in ms; CUDA work is waited for."""
    times = []
    for _ in range(repeats):
        _sync()
        start = time.perf_counter()
        fn()
        _sync()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def _sync() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def start_masks(source: str | None, masks: str | None, count: int) -> list[np.ndarray]:
    """Bool (H, W) masks of the first ``count`` frames: files by stem order in ``masks``."""
    if masks is None:
        if source is not None:
            raise InputError("--frames needs --masks (a start mask per frame, by name order)")
        from evosam.sample import default_sample_path

        masks = str(default_sample_path().parent / "masks")
    files = sorted(p for p in Path(masks).iterdir() if p.suffix.lower() in (".png", ".bmp", ".tif", ".tiff"))
    if len(files) < count:
        raise InputError(f"{masks}: {len(files)} mask files, {count} needed")
    out = [read_mask(f) > 0 for f in files[:count]]
    if not out[0].any():
        raise InputError(f"{files[0]}: the first mask is empty")
    return out


def measure(args: argparse.Namespace) -> dict[str, object]:
    backend = model_from_args(args, random_init=args.random_weights)
    n = max(2, args.count)
    truth = start_masks(args.frames, args.masks, n)
    if args.frames is None:
        from evosam.sample import default_sample_path

        args.frames = str(default_sample_path())
    with open_video(args.frames) as video:
        if video.frame_count < n + 1:
            raise InputError(f"{args.frames}: {video.frame_count} frames, {n + 1} needed")
        frames = [video.frame(i) for i in range(n)]
        backend.embed(frames[0])  # warm-up (lazy initialisation, kernels)
        embs = []
        embed_ms = median_ms(lambda: embs.append(backend.embed(frames[len(embs) % n])), n)
        boxes = [teaching_box(m) for m in truth]
        preds = [backend.predict(e, box=b) for e, b in zip(embs, boxes, strict=False)]
        predict_ms = median_ms(lambda: backend.predict(embs[0], box=boxes[0]), n)
        learner = Learner(backend.name)
        order = itertools.count()  # each timed call teaches the next frame (keys cycle over n)

        def teach_next() -> None:
            k = next(order) % n
            learner.teach(("speed", k), frames[k], preds[k], truth[k], boxes[k])

        teach_ms = median_ms(teach_next, n)
        h, w = frames[0].shape[:2]
        whole = (0.0, 0.0, w - 1.0, h - 1.0)
        full = backend.predict(embs[0], box=whole)
        # the head's cost where it proposes (the gate may still keep SAM's mask after n frames)
        refine = beside(HeadRefiner(learner.head), backend)  # on the backend's GPU when it has one
        refine(frames[0], full, whole)  # solve the weights once (as the app does)
        head_ms = median_ms(lambda: refine(frames[1], full, whole), n)
        box_ms = median_ms(lambda: answer_box(backend, refine, frames, embs, boxes, next(order) % n), n)
        walk, batch = range(1, n + 1), batch_from_args(args, backend)
        started = time.perf_counter()
        # embeds `batch` frames per call; the first result is the start frame's given mask
        results = propagate_video(video, Prompt(0, mask=truth[0]), backend, refine, frames=walk, batch=batch)
        done = sum(1 for r in progress(results, n + 1, "propagating") if r.index != 0)
        fps = done / (time.perf_counter() - started)
    out: dict[str, object] = {
        "embed_ms": round(embed_ms, 1),
        "predict_ms": round(predict_ms, 1),
        "teach_ms": round(teach_ms, 1),
        "head_predict_ms": round(head_ms, 1),
        "box_ms": round(box_ms, 1),
        "propagate_fps": round(fps, 2),
        "peak_rss_mb": round(peak_rss_mb(), 0),
        "device": backend.describe(),
        "cpu": cpu_info("model name") or platform.machine(),
        "frame_size": [h, w],
        "frames": n,
        "batch": batch,
        "random_weights": bool(args.random_weights),
    }
    if backend.device.type == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 0)
    return out


def answer_box(
    backend: SamBackend, refine: Refiner, frames: list[np.ndarray], embs: list[Embedding], boxes: list[Box], k: int
) -> np.ndarray:
    """The app's answer to a box drawn on frame ``k`` whose embedding is cached: SAM's mask
    for the box, refined by the taught head inside it (bool (H, W))."""
    pred = backend.predict(embs[k], box=boxes[k])
    return refine(frames[k], pred, boxes[k], k)


def run(args: argparse.Namespace) -> int:
    result = measure(args)
    h, w = result["frame_size"]
    machine = f"{result['device']}{' random weights' if result['random_weights'] else ''} ({result['cpu']})"
    print(
        f"speed benchmark: {machine}, {w}x{h} frames, {result['frames']} per stage (medians), "
        f"propagation {result['batch']} frame(s) per encoder call"
    )
    rows = [
        ("embed (image encoder)", "embed_ms", "ms"),
        ("predict (decoder, box)", "predict_ms", "ms"),
        ("teach one frame (head)", "teach_ms", "ms"),
        ("head predict, whole frame", "head_predict_ms", "ms"),
        ("box -> proposal, emb. cached", "box_ms", "ms"),
        ("propagation end to end", "propagate_fps", "frames/s"),
        ("peak resident memory", "peak_rss_mb", "MB"),
    ]
    if "peak_gpu_mb" in result:
        rows.append(("peak GPU memory", "peak_gpu_mb", "MB"))
    for text, key, unit in rows:
        print(f"{text:>28}  {result[key]:>9}  {unit}")
    if args.json:
        print(json.dumps(result))
    return 0
