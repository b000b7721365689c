"""Values that flow between a SAM backend and its callers.

Coordinate conventions: boxes are ``(x0, y0, x1, y1)`` in frame pixels (x = column,
y = row, x1/y1 inclusive-ish pixel edges as SAM uses them); points are ``(x, y)``;
arrays are ``[row, col]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from evosam.errors import InputError


@dataclass(frozen=True)
class Embedding:
    """Image embedding of one frame; a value, safe to cache and share.

    ``features``: float tensor (1, 256, h, w) on the model's device, what the decoder reads.
    ``frame_size``: (H, W) of the original frame.
    ``input_size``: (h, w) of the frame after resizing its longest side to the
    model's input size, before padding.
    ``extra``: further feature maps of models whose decoders take several (SAM 2's
    high-resolution features); SAM 1's family has none.
    """

    features: torch.Tensor
    frame_size: tuple[int, int]
    input_size: tuple[int, int]
    model_name: str
    extra: tuple[torch.Tensor, ...] = ()

    @property
    def nbytes(self) -> int:
        return sum(t.element_size() * t.nelement() for t in (self.features, *self.extra))


@dataclass(frozen=True)
class Prediction:
    """One mask proposal for one prompt on one frame.

    ``logits``: float32 (H, W) at frame size; mask = logits > 0.
    ``iou``: the decoder's predicted IoU of the mask.
    ``low_res_logits``: float32 (m, m) in padded model-input space (m = 4 x embedding
    side), usable as the next ``mask_prompt``.
    ``decoder_features``: float32 (C, m, m), the decoder's upscaled per-pixel
    embedding in the same padded model-input space; see ``features_at_frame``.
    """

    logits: np.ndarray
    iou: float
    low_res_logits: np.ndarray
    decoder_features: np.ndarray
    input_size: tuple[int, int]
    input_side: int

    @property
    def mask(self) -> np.ndarray:
        """bool (H, W)."""
        return self.logits > 0

    def features_at_frame(self) -> np.ndarray:
        """Decoder features resampled to frame size: float32 (C, H, W)."""
        feats = torch.from_numpy(self.decoder_features)[None]
        return crop_and_resize(feats, self.input_size, self.input_side, self.logits.shape)[0].numpy()


@dataclass(frozen=True)
class Points:
    """Point prompts: ``coords`` float (N, 2) as (x, y) frame pixels; ``labels`` int (N,), 1 positive, 0 negative."""

    coords: np.ndarray
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        coords = np.asarray(self.coords, dtype=np.float64).reshape(-1, 2)
        labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if labels.size != coords.shape[0]:
            raise InputError(f"points: {coords.shape[0]} points but {labels.size} labels")
        if not np.all(np.isfinite(coords)):
            raise InputError("points: coordinates must be finite numbers")
        if not np.all(np.isin(labels, (0, 1))):
            raise InputError("points: labels must be 1 (positive) or 0 (negative)")
        object.__setattr__(self, "coords", coords)
        object.__setattr__(self, "labels", labels)


def validate_box(box: tuple[float, float, float, float] | np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """Check a box ``(x0, y0, x1, y1)`` against a frame (H, W); return it clipped, float64 (4,).

    Raises InputError for NaN, inverted, zero-area or fully outside boxes.
    """
    b = np.asarray(box, dtype=np.float64).reshape(-1)
    if b.size != 4 or not np.all(np.isfinite(b)):
        raise InputError(f"box {tuple(np.asarray(box).ravel())}: needs four finite numbers x0 y0 x1 y1")
    x0, y0, x1, y1 = b
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}): x1 must exceed x0 and y1 must exceed y0")
    h, w = frame_size
    if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h:
        raise InputError(f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) lies outside the {w}x{h} frame")
    clipped = np.array([max(x0, 0.0), max(y0, 0.0), min(x1, w - 1.0), min(y1, h - 1.0)])
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        raise InputError(
            f"box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) covers no area inside the {w}x{h} frame "
            "(a box needs at least 2x2 pixels of the frame)"
        )
    return clipped


def resized_shape(frame_size: tuple[int, int], side: int) -> tuple[int, int]:
    """(h, w) of a frame whose longest side is scaled to ``side`` (SAM's ResizeLongestSide)."""
    h, w = frame_size
    scale = side / max(h, w)
    return max(1, int(math.floor(h * scale + 0.5))), max(1, int(math.floor(w * scale + 0.5)))


def crop_and_resize(
    x: torch.Tensor, input_size: tuple[int, int], input_side: int, out_size: tuple[int, int]
) -> torch.Tensor:
    """Map (B, C, m, m) maps in padded model-input space to frame space.

    The model input is a square of side ``input_side`` whose top-left ``input_size``
    (h, w) holds the resized frame; the maps cover it at m / input_side scale. Crops the
    valid region and resizes bilinearly to ``out_size`` (H, W). Returns float (B, C, H, W).
    """
    m = x.shape[-1]
    h = max(1, int(round(input_size[0] * m / input_side)))
    w = max(1, int(round(input_size[1] * m / input_side)))
    return torch.nn.functional.interpolate(
        x[..., :h, :w].float(), size=tuple(int(v) for v in out_size), mode="bilinear", align_corners=False
    )
