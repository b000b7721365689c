"""What the engine needs from a promptable segmentation model (SAM and its relatives).

Callers type against ``PromptableModel``, never a concrete backend: a model with another
encoder (SAM 2's several feature maps ride in ``Embedding.extra``) plugs in by implementing
these four members. ``evosam.models.SamBackend`` is the implementation for SAM 1's family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from evosam.models.types import Embedding, Points, Prediction


@runtime_checkable
class PromptableModel(Protocol):
    """Encode a frame once, then decode masks for any number of prompts on it."""

    @property
    def name(self) -> str:
        """The model's registry name; embeddings carry it and ``predict`` checks it."""
        ...

    @property
    def device(self) -> torch.device: ...

    def embed(self, frame: np.ndarray) -> Embedding:
        """Encode one RGB uint8 frame (H, W, 3)."""
        ...

    def embed_batch(self, frames: Sequence[np.ndarray]) -> list[Embedding]:
        """Encode several frames in one call; the same results as ``embed`` on each."""
        ...

    def predict(
        self,
        embedding: Embedding,
        box: tuple[float, float, float, float] | np.ndarray | None = None,
        points: Points | None = None,
        mask_prompt: np.ndarray | None = None,
    ) -> Prediction:
        """One mask for a box ``(x0, y0, x1, y1)`` and/or points (frame pixels)."""
        ...
