"""Annotation state of one clip: the records live in the engine (``evosam.annotations``,
no Qt); this module re-exports them for the GUI and adds the brush.

Masks are ``bool[H, W]`` arrays (rows = y, columns = x).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from evosam.annotations import (
    DEFAULT_COLORS,
    UNPACKED_KEPT,
    AnnotationState,
    Change,
    Edit,
    FrameMask,
    Key,
    Label,
    PackedMask,
    Status,
    provenance,
)

__all__ = [
    "DEFAULT_COLORS",
    "UNPACKED_KEPT",
    "AnnotationState",
    "Change",
    "Edit",
    "FrameMask",
    "Key",
    "Label",
    "PackedMask",
    "Status",
    "paint_stroke",
    "provenance",
]


def paint_stroke(
    mask: np.ndarray | None, size: tuple[int, int], points: Sequence[tuple[float, float]], radius: float, value: bool
) -> np.ndarray:
    """A new bool (H, W) mask: ``mask`` (or an empty one) with a round brush of ``radius``
    pixels drawn along ``points`` ((x, y) frame pixels), set to ``value`` (True = paint,
    False = erase). The input is not modified."""
    canvas = np.zeros(size, np.uint8) if mask is None else np.asarray(mask, dtype=np.uint8).copy()
    pts = [(int(round(x)), int(round(y))) for x, y in points]
    r = max(1, int(round(radius)))
    color = 1 if value else 0
    for p in pts:
        cv2.circle(canvas, p, r, color, thickness=-1, lineType=cv2.LINE_8)
    if len(pts) > 1:
        cv2.polylines(canvas, [np.array(pts, np.int32)], False, color, thickness=2 * r, lineType=cv2.LINE_8)
    return canvas.astype(bool)
