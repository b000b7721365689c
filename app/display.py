"""What the window shows of the state: timeline marks, the mask line, other labels' masks, counts."""

from __future__ import annotations

import numpy as np

from app.state import AnnotationState, FrameMask, PackedMask, Status
from evosam.review import confidence_level, review_confidence


def mark_kind(entry: PackedMask | None) -> str | None:
    """Timeline mark of a stored mask: confirmed, rejected, or a proposal's review level
    (``evosam.review``): confident, unsure, or lost (the tracker lost the object, or the
    quality gate distrusts it, or SAM is unsure)."""
    if entry is None:
        return None
    if entry.status != Status.PROPOSED:
        return entry.status.value
    if entry.iou is None and not entry.flagged:
        return "unsure"  # no score (imported, drawn by another tool)
    return confidence_level(review_confidence(entry.iou, entry.flags))


def describe_mask(fm: FrameMask | None, label: str) -> str:
    """One status-bar line about a mask, e.g. ``vessel: proposed · IoU 0.91 · 1234 px``."""
    if fm is None:
        return f"{label}: no mask — drag a box (B) or paint (D)"
    parts = [f"{label}: {fm.status.value}"]
    if fm.iou is not None:
        parts.append(f"IoU {fm.iou:.2f}")
    parts.append(f"{int(np.count_nonzero(fm.mask))} px")
    if fm.flags:
        parts.append("flagged: " + ", ".join(fm.flags))
    return " · ".join(parts)


def other_masks(state: AnnotationState | None, frame: int, label: str) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
    """The other labels' masks on ``frame`` (not rejected ones), with their colours."""
    out = []
    for lab in [] if state is None else state.labels:
        entry = state.entry(frame, lab.name) if lab.name != label else None
        if entry is not None and entry.status != Status.REJECTED:
            out.append((state.get(frame, lab.name).mask, lab.color))
    return out


def plural(n: int, word: str) -> str:
    """``1 frame``, ``2 frames``, ``0 frames``: every count the window shows."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
