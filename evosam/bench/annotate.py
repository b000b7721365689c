"""``evosam bench annotate``: a simulated annotator walks a clip.

Frame 0 is annotated from its ground truth. On every later frame the tool proposes a mask
(propagation from the last confirmed mask; with ``evosam`` the head refines SAM's answer
inside the prompt box, held to the propagation's growth limit, exactly as the GUI
propagates). The annotator accepts a proposal whose Dice against the
ground truth is at least ``--accept``; otherwise it corrects it (one correction: the ground
truth becomes the confirmed mask). Every confirmed mask teaches the head. Frames whose
ground truth lacks the label are skipped.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evosam.bench.propagation import read_label_masks
from evosam.commands.common import add_model_arguments, model_from_args, progress
from evosam.errors import InputError
from evosam.head import EvoHead
from evosam.learning import beside, refiner
from evosam.masks import dice, prompt_box
from evosam.models import SamBackend
from evosam.models.cache import EmbeddingCache
from evosam.propagate import propagate
from evosam.video import VideoSource, open_video


@dataclass(frozen=True)
class WalkResult:
    frames: int  # frames proposed and judged
    corrections: int
    mean_dice: float  # of the proposals, before correction
    seconds_per_frame: float


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", required=True, metavar="DIR", help="folder of frames (or a video file)")
    p.add_argument("--masks", required=True, metavar="DIR", help="ground-truth masks with the frames' stems")
    p.add_argument(
        "--label",
        type=int,
        nargs="+",
        action="extend",
        metavar="ID",
        help="class id(s): each is walked on its own, then totalled (default: any non-zero pixel)",
    )
    p.add_argument("--accept", type=float, default=0.9, help="Dice at which a proposal is accepted (default 0.9)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use only the first N frames")
    add_model_arguments(p)


def walk(
    backend: SamBackend, video: VideoSource, truth: list[np.ndarray], accept: float, embed, use_head: bool
) -> WalkResult:
    """Simulate the annotator over ``truth`` (bool masks per frame), with or without the head."""
    head = EvoHead(backend.name)
    confirmed = truth[0]
    if use_head:
        box = prompt_box(confirmed)
        head = head.taught(head.frame_stats(video.frame(0), backend.predict(embed(0), box=box), confirmed, box))
    corrections, scores, started = 0, [], time.perf_counter()
    label = "with head" if use_head else "SAM only"
    for i in progress(range(1, len(truth)), len(truth) - 1, label):
        if not truth[i].any():
            continue
        refine = beside(refiner(head), backend) if use_head else None  # as the GUI propagates: the head refines
        result = next(propagate(backend, video.frame, embed, range(i, i + 1), confirmed, refine=refine))
        proposal = result.mask
        score = dice(proposal, truth[i])
        scores.append(score)
        if score < accept:
            corrections += 1
            confirmed = truth[i]
        else:
            confirmed = proposal
        if use_head:
            head = head.taught(head.frame_stats(video.frame(i), result.prediction, confirmed, result.box))
    seconds = (time.perf_counter() - started) / max(1, len(scores))
    return WalkResult(len(scores), corrections, float(np.mean(scores)) if scores else float("nan"), seconds)


def total(results: list[WalkResult]) -> WalkResult:
    """The walks of several labels as one: frames and corrections summed, means weighted by frames."""
    frames = sum(r.frames for r in results)

    def weighted(key: str) -> float:
        return sum(getattr(r, key) * r.frames for r in results) / max(1, frames)

    return WalkResult(frames, sum(r.corrections for r in results), weighted("mean_dice"), weighted("seconds_per_frame"))


def saved_fraction(sam: WalkResult, evo: WalkResult) -> float:
    return 1 - evo.corrections / sam.corrections if sam.corrections else 0.0


def run(args: argparse.Namespace) -> int:
    backend = model_from_args(args)
    cache = EmbeddingCache(max_bytes=2 * 2**30)
    labels = args.label or [None]
    walks: dict[str, tuple[WalkResult, WalkResult]] = {}
    with open_video(args.frames) as video:
        count = min(video.frame_count, args.limit or video.frame_count)
        raw = read_label_masks(Path(args.masks), video, count)
        embed = lambda i: cache.get_or_compute(i, lambda: backend.embed(video.frame(i)))  # noqa: E731
        for label in labels:
            truth = [(m == label) if label is not None else (m > 0) for m in raw]
            if not truth[0].any():
                raise InputError(f"{args.masks}: the first frame's ground truth holds no {label or 'object'}")
            sam = walk(backend, video, truth, args.accept, embed, use_head=False)
            walks["any" if label is None else str(label)] = (sam, walk(backend, video, truth, args.accept, embed, True))
    sam, evo = (total([w[k] for w in walks.values()]) for k in (0, 1))
    print(f"annotate benchmark ({backend.describe()}), accept at Dice >= {args.accept}")
    print(f"{'label':>6} {'method':>8} {'frames':>7} {'corrections':>12} {'mean Dice':>10} {'s/frame':>8} {'saved':>6}")
    rows = list(walks.items()) + ([("all", (sam, evo))] if len(walks) > 1 else [])
    for label, (s, e) in rows:
        for name, r in (("sam", s), ("evosam", e)):
            saved = f"{100 * saved_fraction(s, e):5.0f}%" if name == "evosam" else ""
            print(
                f"{label:>6} {name:>8} {r.frames:>7} {r.corrections:>12} {r.mean_dice:>10.3f}"
                f" {r.seconds_per_frame:>8.2f} {saved:>6}"
            )
    print(f"corrections saved by the head: {100 * saved_fraction(sam, evo):.0f}%")
    if args.json:
        print(
            json.dumps(
                {
                    "corrections_sam": sam.corrections,
                    "corrections_evosam": evo.corrections,
                    "saved_fraction": round(saved_fraction(sam, evo), 4),
                    "sam": asdict(sam),
                    "evosam": asdict(evo),
                    "labels": {k: {"sam": asdict(s), "evosam": asdict(e)} for k, (s, e) in walks.items()},
                }
            )
        )
    return 0
