"""Per-pixel features for the EvoSAM head.

For a frame, a SAM prediction and a region of interest (ROI), every ROI pixel gets:
- SAM's mask logit (the head refines SAM) and its 32-channel upscaled decoder embedding
  (what SAM knows of the prompted object: on cystic arteries the channels that separate
  artery from surroundings at a distance; ``use_sam_features``);
- the filter bank of ``evosam.head.filters`` on the ROI crop (green channel: Gaussian
  intensity, gradient, Hessian eigenvalues, black top-hats, line detectors; smoothed
  colour), and the same bank at half resolution for wider context;
- where the pixel lies in the prompt box (``box_geometry``: SAM's prompt is a tight box,
  so an object's parts sit at typical places in it);
each channel standardised over the ROI of this frame (a function of the frame alone, so a
frame's statistics never depend on other frames and teaching stays exactly additive).
A fixed, seeded random projection with ReLU then expands them (as in ACIL/GACL).

Coordinates: ``roi`` is ``(x0, y0, x1, y1)`` inclusive frame pixels; pixel arrays are
``[row, col]``; pixels are flattened row-major over the ROI.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np
import torch

from evosam.head.filters import black_tophat, green_levels, hessian_channels, line_responses, standardise, unit
from evosam.models import Prediction

FEATURE_VERSION = 3  # bump whenever the meaning of a channel changes (saved heads then refuse)


@dataclass(frozen=True)
class FeatureConfig:
    """Everything that shapes the feature vector; its ``digest`` guards saved head states."""

    scales: tuple[float, ...] = (0.7, 1.0, 2.0, 4.0)  # Gaussian scales of the Hessian channels
    tophat_sizes: tuple[int, ...] = (5, 9, 15, 21)
    line_lengths: tuple[int, ...] = (5, 9, 15, 21)  # line detectors, ``line_angles`` orientations
    line_angles: int = 12
    expansion: int = 1024  # width of the random ReLU expansion
    seed: int = 0
    use_sam_features: bool = True  # SAM's 32 decoder channels (its logit is always in)
    clahe: bool = True  # contrast-limited equalisation of the green channel before filtering
    context: bool = True  # add the whole bank computed at half resolution
    geometry: bool = True  # where each pixel lies in the prompt box (``box_geometry``)

    @property
    def n_bank(self) -> int:
        """Channels of the filter bank at one resolution."""
        return 3 + 4 * len(self.scales) + len(self.tophat_sizes) + len(self.line_lengths)

    @property
    def n_sam(self) -> int:
        """SAM's channels: its logit, after its 32 decoder channels when those are used."""
        return 33 if self.use_sam_features else 1

    @property
    def n_base(self) -> int:
        """Channels before expansion: SAM's, the bank (twice with context), the geometry."""
        return self.n_sam + self.n_bank * (2 if self.context else 1) + (N_GEOMETRY if self.geometry else 0)

    @property
    def dim(self) -> int:
        """Length of the final vector: base channels, expansion, and a constant 1."""
        return self.n_base + self.expansion + 1

    def lite(self) -> FeatureConfig:
        """This configuration without the filter bank: SAM's channels, the smoothed colour
        and the box's geometry (the head's second view, chosen per label by its evidence)."""
        return replace(self, scales=(), tophat_sizes=(), line_lengths=(), context=False)

    def lite_columns(self) -> np.ndarray:
        """Indices int64 (lite().n_base,) of ``lite()``'s base channels among this
        configuration's: SAM's, the bank's first three (colour), the geometry. Each channel is
        standardised on its own, so the two views' values are equal there."""
        colour = np.arange(self.n_sam, self.n_sam + 3)
        geometry = np.arange(self.n_base - N_GEOMETRY, self.n_base) if self.geometry else np.arange(0)
        return np.concatenate([np.arange(self.n_sam), colour, geometry])

    def digest(self) -> str:
        payload = json.dumps({"version": FEATURE_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @staticmethod
    def from_dict(raw: dict) -> FeatureConfig:
        """Inverse of ``dataclasses.asdict`` (JSON turns tuples into lists)."""
        return FeatureConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def _bank(
    rgb: np.ndarray,
    config: FeatureConfig,
    out: np.ndarray,
    levels: np.ndarray | None = None,
    lines_elsewhere: bool = False,
) -> np.ndarray:
    """The bank of one RGB uint8 crop (h, w, 3) into ``out``, channels-first float32
    (n_bank, h, w), standardised; returns ``out``. ``levels``: the crop's ``green_levels``
    if already computed; ``lines_elsewhere``: its line channels (the last
    ``len(line_lengths)``) are left to the caller (``_bank_lines`` in another thread)."""
    if levels is None:
        levels = green_levels(rgb, config.clahe)
    green = unit(levels)
    if not lines_elsewhere and config.line_lengths:
        _bank_lines(green, config, out)
    colour = cv2.GaussianBlur(rgb.astype(np.float32) * np.float32(1 / 255), (0, 0), 1.0)
    for c in range(3):
        out[c] = colour[..., c]
    k = 3
    for sigma in config.scales:
        hessian_channels(green, sigma, out[k : k + 4])
        k += 4
    for size in config.tophat_sizes:
        black_tophat(levels, green, size, out[k])
        k += 1
    standardise(out[:k])
    return out


def _bank_lines(green: np.ndarray, config: FeatureConfig, out: np.ndarray) -> None:
    """The bank's line channels (its last ``len(line_lengths)``) of a green (h, w) image
    (``unit(green_levels(...))``) into ``out`` (n_bank, h, w), standardised."""
    lines = out[config.n_bank - len(config.line_lengths) :]
    line_responses(1.0 - green, config.line_lengths, config.line_angles, lines)
    standardise(lines)


_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="evosam-filters")


def filter_bank(rgb: np.ndarray, config: FeatureConfig, out: np.ndarray | None = None) -> np.ndarray:
    """Low-level channels of an RGB uint8 crop (h, w, 3): channels-first float32 (k, h, w),
    standardised, written into ``out`` when given; with ``config.context`` the same bank at
    half resolution follows, upsampled (k = n_bank, or 2 n_bank with context).

    The costliest parts run in two pool threads beside the caller (OpenCV and numpy release
    the GIL): the line detectors at full resolution and the half-resolution bank. Every
    channel is computed and standardised on its own, so the result does not depend on the
    threads."""
    h, w = rgb.shape[:2]
    n = config.n_bank
    if out is None:
        out = np.empty((n * (2 if config.context else 1), h, w), np.float32)
    levels = green_levels(rgb, config.clahe)
    lines = _POOL.submit(_bank_lines, unit(levels), config, out[:n]) if config.line_lengths else None
    coarse = _POOL.submit(_context_bank, rgb, config, out[n:]) if config.context else None
    try:
        _bank(rgb, config, out[:n], levels, lines_elsewhere=lines is not None)
    finally:  # never leave a pool thread writing into ``out`` after returning (or raising)
        for part in (lines, coarse):
            if part is not None:
                part.result()
    return out


def _context_bank(rgb: np.ndarray, config: FeatureConfig, out: np.ndarray) -> None:
    """The bank of an RGB uint8 crop (h, w, 3) at half resolution, upsampled into ``out``
    float32 (n_bank, h, w); a crop too small to halve repeats the full-resolution bank."""
    h, w = rgb.shape[:2]
    if min(h, w) < 16:
        _bank(rgb, config, out)
        return
    half = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    coarse = _bank(half, config, np.empty((config.n_bank, h // 2, w // 2), np.float32))
    for k in range(config.n_bank):
        cv2.resize(coarse[k], (w, h), dst=out[k], interpolation=cv2.INTER_LINEAR)


N_GEOMETRY = 5


def box_geometry(roi: tuple[int, int, int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    """Where each ROI pixel lies in the prompt box: float32 (5, h, w), channels u and v (0 to 1
    from the box's left/top edge to its right/bottom one; outside the box beyond), |u - 1/2|,
    |v - 1/2|, and the distance to the nearest box edge in box units (negative outside). ``roi``
    (x0, y0, x1, y1) inclusive and ``box`` (x0, y0, x1, y1) in frame pixels."""
    x0, y0, x1, y1 = roi
    bx0, by0, bx1, by1 = (float(v) for v in box)
    u = ((np.arange(x0, x1 + 1, dtype=np.float32) - bx0) / max(bx1 - bx0, 1.0))[None, :]
    v = ((np.arange(y0, y1 + 1, dtype=np.float32) - by0) / max(by1 - by0, 1.0))[:, None]
    h, w = y1 - y0 + 1, x1 - x0 + 1
    out = np.empty((N_GEOMETRY, h, w), np.float32)
    out[0], out[1] = u, v
    out[2], out[3] = np.abs(u - 0.5), np.abs(v - 0.5)
    np.minimum(np.minimum(u, 1 - u), np.minimum(v, 1 - v), out=out[4])
    return out


def _bilinear_rows(pixels: np.ndarray, frame_len: int, input_len: int, scale: float, m: int) -> tuple[np.ndarray, int]:
    """Bilinear weights (n, span) taking a decoder-map axis of length ``m`` to frame pixels
    ``pixels`` (n,) along one axis, and the map index where the span starts: pixel centre
    -> model-input pixel -> map coordinate, clamped at the map's edges."""
    u = ((pixels + 0.5) * input_len / frame_len) * scale - 0.5
    u0 = np.clip(np.floor(u).astype(np.int64), 0, m - 1)
    u1 = np.minimum(u0 + 1, m - 1)
    fu = np.clip(u - u0, 0, 1).astype(np.float32)
    start = int(u0.min())
    weights = np.zeros((pixels.size, int(u1.max()) - start + 1), np.float32)
    rows = np.arange(pixels.size)
    np.add.at(weights, (rows, u0 - start), 1 - fu)
    np.add.at(weights, (rows, u1 - start), fu)
    return weights, start


def sam_channels_roi(pred: Prediction, roi: tuple[int, int, int, int]) -> np.ndarray:
    """SAM's decoder embedding (32) and logit (1) at every pixel of ``roi`` (x0, y0, x1, y1)
    inclusive: float32 (33, h, w), the embedding bilinear from its padded model-input map
    (separable: two small products per channel over the part of the map the ROI covers)."""
    x0, y0, x1, y1 = roi
    h, w = pred.logits.shape
    feats = pred.decoder_features  # (32, m, m) over the padded model input
    m = feats.shape[-1]
    scale = m / pred.input_side
    ry, r0 = _bilinear_rows(np.arange(y0, y1 + 1, dtype=np.float64), h, pred.input_size[0], scale, m)
    rx, c0 = _bilinear_rows(np.arange(x0, x1 + 1, dtype=np.float64), w, pred.input_size[1], scale, m)
    part = torch.from_numpy(np.ascontiguousarray(feats[:, r0 : r0 + ry.shape[1], c0 : c0 + rx.shape[1]], np.float32))
    with torch.inference_mode():
        emb = torch.from_numpy(ry) @ part @ torch.from_numpy(rx).T
    logit = pred.logits[y0 : y1 + 1, x0 : x1 + 1][None]
    return np.concatenate([emb.numpy(), logit], axis=0).astype(np.float32, copy=False)


@dataclass(frozen=True)
class RoiFeatures:
    """Base features of one (frame, prediction, ROI), channels-first: ``channels`` float32
    (n_base, h*w), pixels row-major over the ROI; ``roi`` (x0, y0, x1, y1) inclusive;
    ``shape`` (h, w). Computing them is most of the cost of teaching or predicting a frame:
    a caller may reuse them for the same frame, prediction and box."""

    channels: np.ndarray
    roi: tuple[int, int, int, int]
    shape: tuple[int, int]

    def columns(self, idx: np.ndarray) -> RoiFeatures:
        """These features restricted to base channels ``idx`` (another view's, ``lite_columns``)."""
        return RoiFeatures(np.ascontiguousarray(self.channels[idx]), self.roi, self.shape)


class FeatureExtractor:
    """Turns (frame, prediction, ROI) into per-pixel feature vectors float32 (N, config.dim)."""

    def __init__(self, config: FeatureConfig = FeatureConfig()) -> None:
        self.config = config
        rng = np.random.default_rng(config.seed)
        scale = 1.0 / np.sqrt(config.n_base)
        self.projection = (rng.standard_normal((config.n_base, config.expansion)) * scale).astype(np.float32)
        self.bias = rng.uniform(-1.0, 1.0, config.expansion).astype(np.float32)

    def roi_features(
        self,
        rgb: np.ndarray,
        pred: Prediction,
        roi: tuple[int, int, int, int],
        box: tuple[float, float, float, float] | None = None,
    ) -> RoiFeatures:
        """Standardised base channels of every ROI pixel of an RGB uint8 (H, W, 3) frame;
        ``box`` (x0, y0, x1, y1) the prompt the ROI was grown from (default: the ROI)."""
        x0, y0, x1, y1 = roi
        h, w = y1 - y0 + 1, x1 - x0 + 1
        channels = np.empty((self.config.n_base, h, w), np.float32)
        n_sam = self.config.n_sam
        n_bank = self.config.n_bank * (2 if self.config.context else 1)
        if self.config.geometry:
            geometry = channels[n_sam + n_bank :]
            geometry[:] = box_geometry(roi, box if box is not None else roi)
            standardise(geometry)
        if self.config.use_sam_features:
            channels[:n_sam] = sam_channels_roi(pred, roi)
        else:
            channels[0] = pred.logits[y0 : y1 + 1, x0 : x1 + 1]
        standardise(channels[:n_sam])
        filter_bank(rgb[y0 : y1 + 1, x0 : x1 + 1], self.config, channels[n_sam : n_sam + n_bank])
        return RoiFeatures(channels.reshape(self.config.n_base, h * w), (x0, y0, x1, y1), (h, w))

    def expand(self, base: np.ndarray) -> np.ndarray:
        """(N, n_base) -> (N, dim) float32: base, ReLU random expansion, constant 1."""
        hidden = np.maximum(base @ self.projection + self.bias, 0.0)
        return np.concatenate([base, hidden, np.ones((base.shape[0], 1), np.float32)], axis=1)

    def scores(self, channels: np.ndarray, weights: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """``expand(channels.T) @ weights`` without materialising the expansion: channels
        float32 (n_base, N), weights float32 (dim, k) -> float32 (N, k). Memory O(chunk x expansion).

        The expansion's product runs in torch: 1.6x numpy's on a 2-vCPU Xeon (oneDNN against
        OpenBLAS; the same float32 arithmetic in another order: whole-frame scores of magnitude
        up to 16 within 3e-6 of a float64 reference)."""
        nb, e, n = self.config.n_base, self.config.expansion, channels.shape[1]
        w_base, w_hidden, w_one = weights[:nb], weights[nb : nb + e], weights[nb + e]
        out = channels.T @ w_base + w_one
        x = torch.from_numpy(np.ascontiguousarray(channels, np.float32))
        proj, bias = torch.from_numpy(self.projection), torch.from_numpy(self.bias)
        w_h = torch.from_numpy(np.ascontiguousarray(w_hidden, np.float32))
        buf = torch.empty((min(chunk, n), e))
        with torch.inference_mode():
            for i in range(0, n, chunk):
                hidden = buf[: min(chunk, n - i)]
                torch.addmm(bias, x[:, i : i + chunk].T, proj, out=hidden)
                hidden.relu_()
                out[i : i + chunk] += (hidden @ w_h).numpy()
        return out
