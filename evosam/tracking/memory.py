"""An appearance memory of the tracked object in SAM's own embedding space.

Each cell of a frame's embedding (a 256-channel vector per 4x4 input pixels for LiteMedSAM)
is scored for object-ness by a ridge regression taught on reliable frames (the start mask,
confirmations, confident results): the statistics are a fixed (C+1, C+1) matrix and vector,
so the memory does not grow with the number of frames tracked, and a frame's contribution
is exactly additive (the EvoSAM closed form, at the embedding's resolution). The score map
of a new frame gives candidate boxes where the object may be after an occlusion or a jump.

Coordinates: score maps are (h, w) cells over the embedding's valid (unpadded) region; boxes
are ``(x0, y0, x1, y1)`` frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from evosam.models import Embedding
from evosam.propagate import Box

RIDGE = 0.1  # ridge strength, a fraction of the mean diagonal of the statistics (0.05-0.2 alike on cvc_dev)


def cell_grid(emb: Embedding) -> tuple[int, int]:
    """(h, w) cells of ``emb`` that cover the frame (the rest is padding)."""
    side = emb.features.shape[-1]
    scale = side / max(emb.input_size)
    return max(1, round(emb.input_size[0] * scale)), max(1, round(emb.input_size[1] * scale))


@dataclass(frozen=True)
class Cells:
    """One frame's embedding cells: ``features`` float64 (h * w, C + 1), each valid cell's
    unit-length vector and a constant 1; ``grid`` (h, w). Made once per frame (``cells_of``)."""

    features: np.ndarray
    grid: tuple[int, int]


def cells_of(emb: Embedding) -> Cells:
    """The valid cells of ``emb`` (the padding dropped)."""
    h, w = cell_grid(emb)
    f = emb.features[0, :, :h, :w].float().cpu().numpy().reshape(emb.features.shape[1], -1).T
    f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-6)
    return Cells(np.hstack([f, np.ones((f.shape[0], 1), f.dtype)]).astype(np.float64), (h, w))


def cell_coverage(mask: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """float (h * w,): the share of each cell covered by the bool (H, W) ``mask``."""
    return cv2.resize(mask.astype(np.float32), (grid[1], grid[0]), interpolation=cv2.INTER_AREA).reshape(-1)


def scene_signature(cells: Cells) -> np.ndarray:
    """Unit (C,) mean of the cells' vectors (without the constant): what the frame shows overall."""
    mean = cells.features[:, :-1].mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


@dataclass
class AppearanceMemory:
    """Ridge statistics ``G`` (D, D), ``c`` (D,) of cell features against object coverage
    (object and background cells weighted to equal totals per frame); ``scene`` (C,) the sum
    of the taught frames' ``scene_signature``s."""

    G: np.ndarray | None = None
    c: np.ndarray | None = None
    scene: np.ndarray | None = None
    frames: int = 0
    _w: np.ndarray | None = field(default=None, repr=False)

    def teach(self, cells: Cells, mask: np.ndarray, weight: float = 1.0) -> None:
        """Add a frame whose object is the bool (H, W) ``mask`` (ignored when empty)."""
        y = cell_coverage(mask, cells.grid)
        fg = y.sum()
        if fg <= 0 or fg >= y.size:
            return
        z = cells.features
        w = weight * np.where(y > 0.5, 0.5 / max((y > 0.5).sum(), 1), 0.5 / max((y <= 0.5).sum(), 1))
        zw = z * w[:, None]
        g, c = z.T @ zw, zw.T @ y
        self.G, self.c = (g, c) if self.G is None else (self.G + g, self.c + c)
        sig = scene_signature(cells)
        self.scene = sig if self.scene is None else self.scene + sig
        self.frames += 1
        self._w = None

    @property
    def ready(self) -> bool:
        return self.frames > 0

    def score_map(self, cells: Cells) -> np.ndarray:
        """float (h, w): object-ness of each cell (about 1 on the object, 0 elsewhere)."""
        if self._w is None:
            gamma = RIDGE * np.trace(self.G) / len(self.G)
            self._w = np.linalg.solve(self.G + gamma * np.eye(len(self.G)), self.c)
        return (cells.features @ self._w).reshape(cells.grid)

    def scene_similarity(self, cells: Cells) -> float:
        """Cosine between the frame's scene signature and the taught frames' mean: 0.93-1.0 here
        for frames of the same scene, even after a camera jump; far lower for a black or
        blank frame."""
        mean = self.scene / np.linalg.norm(self.scene)
        return float(scene_signature(cells) @ mean)

    def objectness(self, scores: np.ndarray, mask: np.ndarray) -> float:
        """Mean cell score under the bool (H, W) ``mask`` (weighted by coverage); 0 when empty."""
        cover = cell_coverage(mask, scores.shape)
        total = cover.sum()
        return float(cover @ scores.reshape(-1) / total) if total > 0 else 0.0

    def candidate_boxes(
        self, scores: np.ndarray, frame_size: tuple[int, int], threshold: float = 0.5, keep: int = 3
    ) -> list[Box]:
        """Boxes (frame pixels) of the ``keep`` strongest connected regions of cells scoring
        above ``threshold`` (strength: the sum of their scores)."""
        hot = (scores > threshold).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(hot, connectivity=8)
        sy, sx = frame_size[0] / scores.shape[0], frame_size[1] / scores.shape[1]
        strength = [(scores[labels == j].sum(), j) for j in range(1, n)]
        boxes = []
        for _, j in sorted(strength, reverse=True)[:keep]:
            x, y, w, h = stats[j, :4]
            boxes.append(
                (x * sx, y * sy, min((x + w) * sx, frame_size[1] - 1.0), min((y + h) * sy, frame_size[0] - 1.0))
            )
        return boxes
