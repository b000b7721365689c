"""Where to look first: a proposal's review confidence and the review queue.

A proposal is as sure as SAM's predicted IoU for it, halved when the propagation's quality
gate flagged the frame; a frame the tracker called lost (an empty, flagged proposal) scores
0 and is looked at first. Chosen on ``cvc_dev`` (the measured signals: predicted IoU, the
tracker's confidence, agreement with the previous frame, distance from the start, and
their products); the clip's figures in ``docs/benchmarks.md`` were not used to choose.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

FLAG_FACTOR = 0.5  # a flagged proposal's confidence is its IoU times this
CONFIDENT = 0.8  # at least this: shown as confident (timeline green); below UNSURE: red
UNSURE = 0.5


def review_confidence(iou: float | None, flags: Iterable[str] = ()) -> float:
    """[0, 1], higher is surer: the predicted ``iou`` (0 when unknown or NaN), times
    ``FLAG_FACTOR`` when the frame has any flag; a ``lost`` frame is 0."""
    flags = tuple(flags)
    if "lost" in flags:
        return 0.0
    value = 0.0 if iou is None or math.isnan(iou) else min(1.0, max(0.0, float(iou)))
    return value * FLAG_FACTOR if flags else value


def confidence_level(confidence: float) -> str:
    """``confident``, ``unsure`` or ``lost`` (the timeline's three colours)."""
    if confidence >= CONFIDENT:
        return "confident"
    return "unsure" if confidence >= UNSURE else "lost"


def review_order(confidences: Mapping[int, float]) -> list[int]:
    """Frames least sure first (ties: earlier frame first)."""
    return sorted(confidences, key=lambda f: (confidences[f], f))


def next_to_review(confidences: Mapping[int, float], after: int | None = None) -> int | None:
    """The least sure frame of ``confidences`` (frame -> confidence of an unconfirmed
    proposal); with ``after`` one of them, the frame after it in ``review_order`` (the first
    again after the last), so that pressing "next" walks the queue."""
    order = review_order(confidences)
    if not order:
        return None
    if after in confidences:
        return order[(order.index(after) + 1) % len(order)]
    return order[0]
