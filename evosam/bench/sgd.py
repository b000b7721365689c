"""The SGD-trained baselines of the continual benchmark: the same linear head on the same
features as EvoSAM, trained by mini-batch Adam on the same weighted squared error."""

from __future__ import annotations

import numpy as np
import torch


class ReplayBuffer:
    """Reservoir sample of (z, y, w) training pixels across tasks, at most ``budget`` rows."""

    def __init__(self, budget: int, seed: int = 0) -> None:
        self.budget = budget
        self.rng = np.random.default_rng(seed)
        self.z: np.ndarray | None = None
        self.y = np.zeros(0)
        self.w = np.zeros(0)
        self.seen = 0

    def __len__(self) -> int:
        return 0 if self.z is None else len(self.z)

    def add(self, z: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
        """Offer rows z (N, D), y (N,), w (N,): reservoir sampling (Vitter's algorithm R)."""
        fill = min(self.budget - len(self), len(z))
        if fill > 0:
            self._append(z[:fill], y[:fill], w[:fill])
        self.seen += fill
        rest = np.arange(fill, len(z))
        if not rest.size:
            return
        # row i is the (seen + 1 + i - fill)-th offered: it replaces slot k when k < budget
        slots = self.rng.integers(0, self.seen + 1 + rest - fill)
        self.seen += rest.size
        keep = slots < self.budget
        slots, rows = slots[keep], rest[keep]
        _, last = np.unique(slots[::-1], return_index=True)  # a later row wins its slot
        slots, rows = slots[::-1][last], rows[::-1][last]
        self.z[slots], self.y[slots], self.w[slots] = z[rows], y[rows], w[rows]

    def _append(self, z: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
        self.z = z.copy() if self.z is None else np.concatenate([self.z, z])
        self.y, self.w = np.concatenate([self.y, y]), np.concatenate([self.w, w])

    def batch(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = self.rng.integers(0, len(self), n)
        return self.z[idx], self.y[idx], self.w[idx]


def sgd_epochs(
    weights: np.ndarray,
    z: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    epochs: int,
    seed: int,
    replay: ReplayBuffer | None = None,
    batch: int = 2048,
    lr: float = 1e-3,
) -> np.ndarray:
    """Continue training ``weights`` (D,) on one task's samples; returns the new weights."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    param = torch.nn.Parameter(torch.from_numpy(np.asarray(weights, np.float32).copy()))
    opt = torch.optim.Adam([param], lr=lr)
    for _ in range(epochs):
        order = rng.permutation(len(z))
        for start in range(0, len(z), batch):
            idx = order[start : start + batch]
            bz, by, bw = z[idx], y[idx], w[idx]
            if replay is not None and len(replay):
                rz, ry, rw = replay.batch(len(idx))
                bz, by, bw = np.concatenate([bz, rz]), np.concatenate([by, ry]), np.concatenate([bw, rw])
            pred = torch.from_numpy(bz) @ param
            loss = (
                torch.from_numpy(bw.astype(np.float32)) * (pred - torch.from_numpy(by.astype(np.float32))) ** 2
            ).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return param.detach().numpy().copy()
