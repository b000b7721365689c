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
import scipy.linalg.blas


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
        # dsyrk on zsᵀ (a Fortran-ordered view, no copy) fills the upper triangle: half a product
        g = scipy.linalg.blas.dsyrk(1.0, zs.T, trans=0, lower=0) if len(zs) else np.zeros((dim, dim))
        _mirror_upper(g)
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

    def __sub__(self, other: Stats) -> Stats:
        return Stats(
            self.G - other.G,
            self.c - other.c,
            self.mean_sum - other.mean_sum,
            self.frames - other.frames,
            self.pixels - other.pixels,
        )


def _mirror_upper(g: np.ndarray, block: int = 256) -> None:
    """Copy the strict upper triangle of a square array onto the lower, in place, by cache-sized
    blocks (a plain ``g + triu(g, 1).T`` strides through memory and costs as much as dsyrk)."""
    n = g.shape[0]
    for i in range(0, n, block):
        for j in range(i, n, block):
            if i == j:
                tile = g[i : i + block, i : i + block]
                lower = np.tril_indices(tile.shape[0], -1)
                tile[lower] = tile.T[lower]
            else:
                g[j : j + block, i : i + block] = g[i : i + block, j : j + block].T


def solve(stats: Stats, ridge: float) -> np.ndarray:
    """W (D,) = (G + γI)⁻¹ c with γ = ``ridge`` x mean diagonal of G (scale-free); Cholesky."""
    gamma = ridge * max(float(np.trace(stats.G)) / stats.dim, 1e-12)
    a = stats.G + gamma * np.eye(stats.dim)
    return scipy.linalg.cho_solve(
        scipy.linalg.cho_factor(a, lower=True, check_finite=False), stats.c, check_finite=False
    )
