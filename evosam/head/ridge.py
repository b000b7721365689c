"""Ridge regression by accumulated sufficient statistics: exact, additive, subtractable.

For features Z (N, D), targets y (N,) and sample weights w (N,):
G = Zᵀ diag(w) Z, c = Zᵀ diag(w) y; the solution is W = (G + γI)⁻¹ c (Cholesky).
Statistics of frames add up, so the solution after any sequence of frames equals ridge on
all of them at once; subtracting a frame's statistics removes it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch


@dataclass(frozen=True)
class Stats:
    """Sufficient statistics (float64): ``G`` (D, D), ``c`` (D,), ``mean_sum`` (D,) the sum of
    each frame's weighted mean feature (for choosing a profile), ``frames`` and ``pixels``
    (the total sample weight). Immutable: ``+`` merges, ``-`` removes exactly."""

    G: np.ndarray
    c: np.ndarray
    mean_sum: np.ndarray
    frames: int
    pixels: float

    @staticmethod
    def zeros(dim: int) -> Stats:
        return Stats(np.zeros((dim, dim)), np.zeros(dim), np.zeros(dim), 0, 0.0)

    @staticmethod
    def from_samples(z: np.ndarray, y: np.ndarray, w: np.ndarray) -> Stats:
        """One frame's statistics from samples z (N, D), targets y (N,), weights w (N,) >= 0."""
        root = np.sqrt(np.asarray(w, np.float64))
        zs = z.astype(np.float64) * root[:, None]  # G = Σ w z zᵀ = zsᵀ zs
        dim = z.shape[1]
        # numpy's product releases the GIL (scipy's dsyrk, half the arithmetic, holds it for
        # 25-80 ms: the GUI thread would stall while a frame is taught); same time on 2 cores
        g = zs.T @ zs if len(zs) else np.zeros((dim, dim))
        total = float(root @ root)
        mean = root @ zs / total if total > 0 else np.zeros(dim)
        return Stats(g, (root * np.asarray(y, np.float64)) @ zs, mean, 1, total)

    @property
    def dim(self) -> int:
        return self.c.shape[0]

    def subset(self, idx: np.ndarray) -> Stats:
        """The statistics of the features ``idx`` alone (a smaller ridge, solved exactly)."""
        return Stats(self.G[np.ix_(idx, idx)], self.c[idx], self.mean_sum[idx], self.frames, self.pixels)

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.G + other.G,
            self.c + other.c,
            self.mean_sum + other.mean_sum,
            self.frames + other.frames,
            self.pixels + other.pixels,
        )

    def scaled(self, factor: float) -> Stats:
        """These frames counted ``factor`` times (G, c, mean_sum and pixels scaled; frames kept)."""
        return Stats(self.G * factor, self.c * factor, self.mean_sum * factor, self.frames, self.pixels * factor)

    def __sub__(self, other: Stats) -> Stats:
        return Stats(
            self.G - other.G,
            self.c - other.c,
            self.mean_sum - other.mean_sum,
            self.frames - other.frames,
            self.pixels - other.pixels,
        )


def solve(stats: Stats, ridge: float) -> np.ndarray:
    """W (D,) = (G + γI)⁻¹ c with γ = ``ridge`` x mean diagonal of G (scale-free); Cholesky
    (torch's: it releases the GIL, as numpy's does, in half numpy's time at D = 1080), then two
    triangular solves."""
    gamma = ridge * max(float(np.trace(stats.G)) / stats.dim, 1e-12)
    a = stats.G + gamma * np.eye(stats.dim)
    low = torch.linalg.cholesky(torch.from_numpy(a)).numpy()
    half = scipy.linalg.solve_triangular(low, stats.c, lower=True, check_finite=False)
    return scipy.linalg.solve_triangular(low, half, lower=True, trans="T", check_finite=False)
