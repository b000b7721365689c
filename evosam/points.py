"""Refining a mask with clicked points: positive points add, negative points remove.

Models trained with point prompts (SAM, MobileSAM) get the points with the box, as SAM's
own interactive loop does. Models trained on boxes alone (LiteMedSAM, MedSAM) return worse
masks when given points (measured on the laparoscopic clip: Dice 0.86 -> 0.28 with one
negative point on the grasper), so for them a point acts locally: a positive point adds the
piece the model segments in a small box around it, a negative point removes the piece of
the mask around it. Points are (x, y) frame pixels; masks bool (H, W), rows = y.
"""

from __future__ import annotations

import cv2
import numpy as np

from evosam.errors import InputError
from evosam.masks import mask_box
from evosam.models import Embedding, Points, SamBackend

Box = tuple[float, float, float, float]
MIN_LOCAL_SIDE = 24.0  # pixels: the smallest local box a point acts in
LOCAL_FRACTION = 0.25  # the local box's side as a fraction of the prompt box's longer side


def local_box(x: float, y: float, side: float, size: tuple[int, int]) -> Box:
    """A square box (x0, y0, x1, y1) of ``side`` centred on (x, y), clipped to (H, W)."""
    h, w = size
    half = side / 2
    return max(0.0, x - half), max(0.0, y - half), min(w - 1.0, x + half), min(h - 1.0, y + half)


def component_at(mask: np.ndarray, x: float, y: float, within: Box | None = None) -> np.ndarray:
    """The 8-connected piece of bool (H, W) ``mask`` (inside ``within`` if given) holding
    pixel (x, y); all False when that pixel is not in the mask."""
    region = mask.copy()
    if within is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in within)
        clip = np.zeros_like(region)
        clip[y0 : y1 + 1, x0 : x1 + 1] = True
        region &= clip
    col, row = int(round(x)), int(round(y))
    if not region[row, col]:
        return np.zeros_like(region)
    _, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    return labels == labels[row, col]


def refine_with_points(
    backend: SamBackend, embedding: Embedding, box: Box | None, points: Points, mask: np.ndarray | None
) -> np.ndarray:
    """The mask after the user's clicks: bool (H, W). ``box``: the label's box prompt on this
    frame (None if there is none); ``mask``: its current mask (None if there is none)."""
    h, w = embedding.frame_size
    coords = np.asarray(points.coords, dtype=float)
    if coords.size == 0:
        raise InputError("no points given")
    if not np.all((coords >= 0) & (coords <= (w - 1, h - 1))):
        raise InputError(f"a point lies outside the {w}x{h} frame")
    if backend.spec.point_prompts:
        return backend.predict(embedding, box=box, points=points).mask
    out = np.zeros((h, w), bool) if mask is None else np.array(mask, dtype=bool)
    ref = box if box is not None else mask_box(out)
    side = max(MIN_LOCAL_SIDE, LOCAL_FRACTION * max(ref[2] - ref[0], ref[3] - ref[1])) if ref else 4 * MIN_LOCAL_SIDE
    for (x, y), positive in zip(coords, points.labels, strict=True):
        near = local_box(x, y, side, (h, w))
        if positive:
            if not out[int(round(y)), int(round(x))]:
                out |= component_at(backend.predict(embedding, box=near).mask, x, y, near)
        else:
            out &= ~component_at(out, x, y, near)
    return out
