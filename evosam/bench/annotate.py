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
from evosam.bench.retina import Sample, load_sample, task_stems
from evosam.commands.common import model_from_args, progress
from evosam.errors import InputError
from evosam.learning import Learner, beside
from evosam.masks import dice, prompt_box
from evosam.models import SamBackend
from evosam.models.cache import EmbeddingCache
from evosam.tracking import TrackSession
from evosam.video import VideoSource, open_video


@dataclass(frozen=True)
class WalkResult:
    frames: int  # frames proposed and judged
    corrections: int
    mean_dice: float  # of the proposals, before correction
    seconds_per_frame: float


def walk(
    backend: SamBackend, video: VideoSource, truth: list[np.ndarray], accept: float, embed, use_head: bool
) -> WalkResult:
    """Simulate the annotator over ``truth`` (bool masks per frame), with or without the head:
    each frame's proposal is propagated from the last confirmed mask."""
    learner = Learner(backend.name)
    confirmed = truth[0]
    if use_head:
        box = prompt_box(confirmed)
        learner.teach(0, video.frame(0), backend.predict(embed(0), box=box), confirmed, box, "walk", "clip", 0)
    corrections, scores, started = 0, [], time.perf_counter()
    session = TrackSession(backend, video.frame, embed)
    for i in progress(range(1, len(truth)), len(truth) - 1, "with head" if use_head else "SAM only"):
        if not truth[i].any():
            continue
        if use_head:  # the label's gated proposal
            session.set_refiner("walk", beside(learner.refiner("walk", video="clip"), backend))
        # the last confirmed mask is the start (frames without the label in between are skipped)
        session.add_mask(i - 1, "walk", confirmed)
        result = next(session.track("walk", range(i, i + 1)))
        confirmed, corrected, score = judge(result.mask, truth[i], accept)
        corrections += corrected
        scores.append(score)
        if use_head:
            learner.teach(i, video.frame(i), result.prediction, confirmed, result.box, "walk", "clip", i)
    seconds = (time.perf_counter() - started) / max(1, len(scores))
    return WalkResult(len(scores), corrections, float(np.mean(scores)) if scores else float("nan"), seconds)


def judge(proposal: np.ndarray, truth: np.ndarray, accept: float) -> tuple[np.ndarray, int, float]:
    """The annotator's verdict: (confirmed mask, 1 if corrected else 0, the proposal's Dice)."""
    score = dice(proposal, truth)
    return (truth, 1, score) if score < accept else (proposal, 0, score)


def walk_boxes(
    backend: SamBackend, samples: list[tuple[str, int, Sample]], accept: float, use_head: bool
) -> WalkResult:
    """Simulate the annotator over frames far apart (``(video, frame, sample)`` in order): each
    is prompted with its tight ground-truth box (the box the annotator draws); SAM alone, or
    the label's gated proposal; every confirmed mask teaches the label."""
    learner = Learner(backend.name)
    corrections, scores, started = 0, [], time.perf_counter()
    for video, index, s in progress(samples, len(samples), "with head" if use_head else "SAM only"):
        refine = learner.refiner("walk", video=video) if use_head else None
        proposal = refine(s.image, s.sam, s.box, index) if refine is not None else s.sam.mask
        confirmed, corrected, score = judge(proposal, s.truth, accept)
        corrections += corrected
        scores.append(score)
        if use_head:
            learner.teach((video, index), s.image, s.sam, confirmed, s.box, "walk", video, index)
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
    if (args.videos is None) == (args.frames is None or args.masks is None):
        raise InputError("bench annotate: give --frames DIR --masks DIR, or --videos DIR")
    if args.frames:
        check_first_frame(args)  # a label the walk cannot start from fails before the model loads
    backend = model_from_args(args)
    walks = video_walks(backend, args) if args.videos else clip_walks(backend, args)
    report(backend, args, walks)
    return 0


def video_walks(backend: SamBackend, args: argparse.Namespace) -> dict[str, tuple[WalkResult, WalkResult]]:
    """The walk over a folder of frames far apart, videos and frames in order."""
    from evosam.bench.continual import video_of

    folder = Path(args.videos)
    stems = sorted(task_stems(folder), key=lambda s: (video_of(s), int(s.partition("_")[2] or 0)))[: args.limit]
    samples = [
        (video_of(s), int(s.partition("_")[2]), load_sample(folder, s, backend))
        for s in progress(stems, len(stems), "SAM")
    ]
    return {"box": (walk_boxes(backend, samples, args.accept, False), walk_boxes(backend, samples, args.accept, True))}


def check_first_frame(args: argparse.Namespace) -> None:
    """InputError when the first frame's ground truth lacks a label to walk."""
    with open_video(args.frames) as video:
        first = read_label_masks(Path(args.masks), video, 1)[0]
    for label in args.label or [None]:
        if not ((first == label) if label is not None else (first > 0)).any():
            raise InputError(f"{args.masks}: the first frame's ground truth holds no {label or 'object'}")


def clip_walks(backend: SamBackend, args: argparse.Namespace) -> dict[str, tuple[WalkResult, WalkResult]]:
    """The walk through a clip, each label on its own, propagating from frame 0's ground truth."""
    cache = EmbeddingCache(max_bytes=2 * 2**30)
    labels = args.label or [None]
    walks: dict[str, tuple[WalkResult, WalkResult]] = {}
    with open_video(args.frames) as video:
        count = min(video.frame_count, args.limit or video.frame_count)
        raw = read_label_masks(Path(args.masks), video, count)
        embed = lambda i: cache.get_or_compute(i, lambda: backend.embed(video.frame(i)))  # noqa: E731
        for label in labels:
            truth = [(m == label) if label is not None else (m > 0) for m in raw]
            sam = walk(backend, video, truth, args.accept, embed, use_head=False)
            walks["any" if label is None else str(label)] = (sam, walk(backend, video, truth, args.accept, embed, True))
    return walks


def report(backend: SamBackend, args: argparse.Namespace, walks: dict[str, tuple[WalkResult, WalkResult]]) -> None:
    """Print the table (and the JSON line with ``--json``)."""
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
