"""Pure functions on masks: ``bool[H, W]`` arrays, rows = y, columns = x.

Boxes are ``(x0, y0, x1, y1)`` in pixel coordinates, inclusive of the last pixel.
"""

from __future__ import annotations

import cv2
import numpy as np


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Tight box (x0, y0, x1, y1) of a bool (H, W) mask; None when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def expand_box(
    box: tuple[float, float, float, float], margin: float, frame_size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """Grow a box by ``margin`` x its width/height on each side, clipped to the frame (H, W)."""
    x0, y0, x1, y1 = box
    dx, dy = margin * (x1 - x0 + 1), margin * (y1 - y0 + 1)
    h, w = frame_size
    return max(0.0, x0 - dx), max(0.0, y0 - dy), min(w - 1.0, x1 + dx), min(h - 1.0, y1 + dy)


def prompt_box(
    mask: np.ndarray, margin: float = 0.0, min_side: float = 4.0
) -> tuple[float, float, float, float] | None:
    """Box prompt (x0, y0, x1, y1) around a bool (H, W) mask: its tight box grown by
    ``margin`` x its size per side and to at least ``min_side`` pixels; None when empty."""
    box = mask_box(mask)
    if box is None:
        return None
    x0, y0, x1, y1 = expand_box(box, margin, mask.shape)
    h, w = mask.shape
    grow_x, grow_y = max(0.0, min_side - (x1 - x0)) / 2, max(0.0, min_side - (y1 - y0)) / 2
    return max(0.0, x0 - grow_x), max(0.0, y0 - grow_y), min(w - 1.0, x1 + grow_x), min(h - 1.0, y1 + grow_y)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two bool masks; 1.0 when both are empty."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two bool masks; 1.0 when both are empty."""
    union = int(np.logical_or(a, b).sum())
    return 1.0 if union == 0 else int(np.logical_and(a, b).sum()) / union


def centroid(mask: np.ndarray) -> tuple[float, float] | None:
    """(x, y) centre of mass of a bool mask; None when empty."""
    ys, xs = np.nonzero(mask)
    return (float(xs.mean()), float(ys.mean())) if xs.size else None


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """IoU of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def speck_share(mask: np.ndarray, fraction: float) -> float:
    """The share of bool (H, W) ``mask``'s area in its specks: 8-connected pieces smaller than
    ``fraction`` of the whole mask (NaN for an empty mask). About 0 for a solid object's
    annotation (a gallbladder, an artery), a few thousandths for a retinal vessel tree."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    total = int(areas.sum())
    return float(areas[areas < fraction * total].sum() / total) if total else float("nan")


def without_specks(mask: np.ndarray, fraction: float) -> np.ndarray:
    """Bool (H, W) ``mask`` without its specks (8-connected pieces smaller than ``fraction``
    of its area) and with its pinholes (4-connected holes that small, not touching the
    image border) filled. ``fraction`` <= 0 or an empty mask: ``mask`` unchanged."""
    mask = np.asarray(mask, dtype=bool)
    least = fraction * int(mask.sum())
    if least <= 0:
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= least
    out = keep[labels]
    n, labels, stats, _ = cv2.connectedComponentsWithStats((~out).astype(np.uint8), connectivity=4)
    x, y, w, h = (stats[:, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
    inside = (x > 0) & (y > 0) & (x + w < mask.shape[1]) & (y + h < mask.shape[0])
    fill = inside & (stats[:, cv2.CC_STAT_AREA] < least)
    fill[0] = False  # label 0 is the mask itself
    return out | fill[labels]
