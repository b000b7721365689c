"""``evosam bench review``: does the review queue find the bad proposals first?

Each label is propagated from frame 0's ground truth through the clip. A proposal is *bad*
when its Dice against the ground truth is below ``--bad`` (0.8), or when it shows the label
on a frame whose ground truth has none (the user must delete it). Two figures per label:

- ``found_in_first_20pct``: the share of the bad frames among the first 20 % of the frames in
  the queue's order (least confident first, ``evosam.review``); random order finds 20 %. When
  more than 20 % of the frames are bad no order can find them all: ``attainable`` says how
  many the first 20 % can hold at most.
- ``corrections`` and ``reviews``: a simulated annotator looks at the least confident frame
  not yet reviewed, corrects it if it is bad (the ground truth becomes a confirmed mask and the
  label is propagated again from it up to the next reviewed frame, as the window does),
  accepts it otherwise, until no bad frame is left. The same annotator walking the frames in
  order (no queue) is the baseline.

Every frame is encoded once up front; with keyframes (``--keyframes``, as for propagation)
each walk runs in keyframe mode on those encodings (the same proposals, without the timing).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from evosam.bench.propagation import CachedEmbeddings, clip_truth
from evosam.commands.common import model_from_args, progress
from evosam.errors import InputError
from evosam.masks import dice
from evosam.models.cache import EmbeddingCache
from evosam.review import next_to_review, review_confidence, review_order
from evosam.tracking import TrackSession, make_tracker
from evosam.tracking.keyframes import keyframe_session
from evosam.tracking.video import keyframes_for
from evosam.video import open_video

SessionFactory = Callable[[range], TrackSession]  # a fresh session for a walk through these frames


@dataclass(frozen=True)
class ReviewScore:
    label: int
    frames: int  # proposed frames (all but frame 0)
    bad_frames: int
    found_in_first_20pct: float  # share of the bad frames (NaN when there are none)
    attainable: float  # the most any order can find in the first 20 % (NaN when none are bad)
    corrections: int  # with the queue
    reviews: int
    sequential_corrections: int  # walking the frames in order
    sequential_reviews: int


@dataclass
class _Proposal:
    mask: np.ndarray
    confidence: float


class _Walk:
    """One label's proposals on a clip and the propagation that renews them after a correction."""

    def __init__(self, make_session: SessionFactory, truth: list[np.ndarray], label: str, bad: float) -> None:
        self.make_session, self.truth, self.label, self.bad_below = make_session, truth, label, bad
        self.proposals: dict[int, _Proposal] = {}
        self.renew(0, len(truth))

    def renew(self, start: int, stop: int) -> None:
        """Propagate from the ground truth of ``start`` through ``start + 1 .. stop - 1``."""
        frames = range(start + 1, stop)
        session = self.make_session(frames)
        session.add_mask(start, self.label, self.truth[start])
        for r in session.track(self.label, frames):
            self.proposals[r.index] = _Proposal(r.mask, review_confidence(r.iou, r.flags))

    def is_bad(self, frame: int) -> bool:
        mask, truth = self.proposals[frame].mask, self.truth[frame]
        return dice(mask, truth) < self.bad_below if truth.any() else bool(mask.any())

    def bad_frames(self, reviewed: set[int]) -> list[int]:
        return [f for f in self.proposals if f not in reviewed and self.is_bad(f)]


def simulate(walk: _Walk, pick: Callable[[dict[int, float]], int]) -> tuple[int, int]:
    """(corrections, reviews) until no bad proposal is left, reviewing ``pick``'s frame next."""
    reviewed: set[int] = set()
    corrections = 0
    while walk.bad_frames(reviewed):
        waiting = {f: p.confidence for f, p in walk.proposals.items() if f not in reviewed}
        frame = pick(waiting)
        bad = walk.is_bad(frame)
        reviewed.add(frame)
        if not bad:
            continue
        corrections += 1
        walk.proposals[frame] = _Proposal(walk.truth[frame], 1.0)
        if walk.truth[frame].any():
            stop = min([f for f in reviewed if f > frame], default=len(walk.truth))
            walk.renew(frame, stop)
    return corrections, len(reviewed)


def score_label(make_session: SessionFactory, gts: list[np.ndarray], label: int, bad: float) -> ReviewScore:
    truth = [g == label for g in gts]
    if not truth[0].any():
        raise InputError(f"label {label} is absent from the first frame's ground truth")
    walk = _Walk(make_session, truth, str(label), bad)
    order = review_order({f: p.confidence for f, p in walk.proposals.items()})
    bad_set = set(walk.bad_frames(set()))
    first = order[: math.ceil(0.2 * len(order))]
    found = len(bad_set.intersection(first)) / len(bad_set) if bad_set else float("nan")
    attainable = min(len(bad_set), len(first)) / len(bad_set) if bad_set else float("nan")
    queue = simulate(walk, next_to_review)
    sequential = simulate(_Walk(make_session, truth, str(label), bad), min)
    return ReviewScore(label, len(order), len(bad_set), found, attainable, *queue, *sequential)


def run(args: argparse.Namespace) -> int:
    backend = model_from_args(args)
    make_tracker(args.tracker)
    cache = EmbeddingCache(max_bytes=2 * 2**30)
    with open_video(args.frames) as video:
        gts = clip_truth(args, video)
        embed = CachedEmbeddings(backend, video, cache)
        for i in progress(range(len(gts)), len(gts), "encoding"):
            embed(i)

        keyframes = keyframes_for(args.tracker, args.keyframes)

        def make_session(frames: range) -> TrackSession:
            if keyframes is None:
                return TrackSession(backend, video.frame, embed, make_tracker(args.tracker))
            return keyframe_session(backend, video.frame, embed, make_tracker(args.tracker), keyframes, frames)[0]

        scores = [score_label(make_session, gts, label, args.bad) for label in args.label]
    print_table(scores, backend.describe(), args)
    if args.json:
        print(json.dumps({"labels": {str(s.label): _json_row(s) for s in scores}}))
    return 0


def _json_row(s: ReviewScore) -> dict:
    row = asdict(s)
    for key in ("found_in_first_20pct", "attainable"):
        row[key] = None if math.isnan(row[key]) else round(row[key], 4)
    return row


def print_table(scores: list[ReviewScore], model: str, args: argparse.Namespace) -> None:
    mode = "keyframes" if keyframes_for(args.tracker, args.keyframes) is not None else "every frame encoded"
    print(f"review benchmark ({model}, {args.tracker}, {mode}); bad: Dice < {args.bad} or the label shown where absent")
    print(
        f"{'label':>6} {'frames':>6} {'bad':>4} {'first 20%':>9} {'attain.':>7} "
        f"{'queue: corr.':>12} {'reviews':>7} {'in order: corr.':>15} {'reviews':>7}"
    )
    for s in scores:
        print(
            f"{s.label:>6} {s.frames:>6} {s.bad_frames:>4} {s.found_in_first_20pct:>9.2f} {s.attainable:>7.2f} "
            f"{s.corrections:>12} {s.reviews:>7} {s.sequential_corrections:>15} {s.sequential_reviews:>7}"
        )
