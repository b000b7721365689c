"""Turning frames and masks into Qt images and outlines for display (no annotation logic).

Scene coordinates equal frame pixels: pixel (row r, column c) covers the square
[c, c + 1) x [r, r + 1), so a frame of (H, W) fills the scene rect (0, 0, W, H).
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QPainterPath, QPixmap, QPolygonF


def rgb_to_pixmap(rgb: np.ndarray) -> QPixmap:
    """RGB uint8 (H, W, 3) -> QPixmap (copied; the array may be reused afterwards)."""
    a = np.ascontiguousarray(rgb[:, :, :3], dtype=np.uint8)
    h, w = a.shape[:2]
    img = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(img.copy())


def mask_to_image(mask: np.ndarray, color: tuple[int, int, int], alpha: int) -> QImage:
    """bool (H, W) -> 8-bit indexed QImage: transparent, and ``color`` at ``alpha`` where set."""
    a = np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    h, w = a.shape
    img = QImage(a.data, w, h, w, QImage.Format.Format_Indexed8)
    img.setColorTable([0, QColor(*color, alpha).rgba()])
    return img.copy()


OUTLINE_TOLERANCE = 0.7  # pixels: staircase contours simplified this much (the fill stays exact)


def mask_outline(mask: np.ndarray) -> QPainterPath:
    """Outline of a bool (H, W) mask as closed polygons through boundary pixel centres."""
    path = QPainterPath()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for c in contours:
        pts = (cv2.approxPolyDP(c, OUTLINE_TOLERANCE, True).reshape(-1, 2) + 0.5).tolist()
        if len(pts) == 1:
            path.addEllipse(QPointF(*pts[0]), 0.5, 0.5)
        else:
            poly = QPolygonF([QPointF(x, y) for x, y in pts])
            poly.append(poly[0])
            path.addPolygon(poly)
    return path
