"""The tiny synthetic clip of the GUI tests: a bright elliptic blob moving right on dark red noise."""

from __future__ import annotations

import cv2
import numpy as np

FRAMES, HEIGHT, WIDTH = 4, 160, 240
BLOB_CENTER, BLOB_AXES, BLOB_STEP = (90, 80), (34, 22), 3  # (x, y), (ax, ay) pixels; x moves BLOB_STEP per frame


def blob_mask(frame: int) -> np.ndarray:
    """The true blob of ``frame``: bool (HEIGHT, WIDTH)."""
    m = np.zeros((HEIGHT, WIDTH), np.uint8)
    cx, cy = BLOB_CENTER
    cv2.ellipse(m, (cx + BLOB_STEP * frame, cy), BLOB_AXES, 0, 0, 360, 1, -1)
    return m.astype(bool)


def blob_box(frame: int, margin: int = 6) -> tuple[float, float, float, float]:
    """A box prompt (x0, y0, x1, y1) around the blob of ``frame``."""
    cx, cy = BLOB_CENTER
    cx += BLOB_STEP * frame
    ax, ay = BLOB_AXES
    return (cx - ax - margin, cy - ay - margin, cx + ax + margin, cy + ay + margin)
