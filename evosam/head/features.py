"""Per-pixel features for the EvoSAM head.

For a frame, a SAM prediction and a region of interest (ROI), every pixel gets:
- SAM's 32-channel upscaled decoder embedding and its mask logit (the head refines SAM);
- a bank of low-level filters of the image: Gaussian smoothing, gradient magnitude, the two
  Hessian eigenvalues and a morphological black top-hat at several scales on the green
  channel (vessels are dark, thin, elongated), plus smoothed colour;
each channel standardised over the ROI of this frame (a function of the frame alone, so a
frame's statistics never depend on other frames and teaching stays exactly additive).
A fixed, seeded random projection with ReLU then expands them (as in ACIL/GACL).

Coordinates: ``roi`` is ``(x0, y0, x1, y1)`` inclusive frame pixels; pixel arrays are
``rows`` (y) and ``cols`` (x).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from evosam.models import Prediction

FEATURE_VERSION = 1
_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


@dataclass(frozen=True)
class FeatureConfig:
    """Everything that shapes the feature vector; its ``digest`` guards saved head states."""

    scales: tuple[float, ...] = (1.0, 2.0, 4.0)
    tophat_sizes: tuple[int, ...] = (7, 15)
    expansion: int = 1024  # width of the random ReLU expansion
    seed: int = 0
    use_sam_features: bool = False  # SAM's 32 decoder channels (its logit is always in)
    clahe: bool = True  # contrast-limited equalisation of the green channel before filtering
    line_lengths: tuple[int, ...] = (5, 9, 15, 21)  # multi-scale line detectors (12 orientations each)
    context: bool = True  # add the whole bank computed at half resolution (wider context)

    @property
    def n_base(self) -> int:
        """Channels before expansion."""
        bank = 3 + 4 * len(self.scales) + len(self.tophat_sizes) + len(self.line_lengths)
        return (33 if self.use_sam_features else 1) + bank * (2 if self.context else 1)

    @property
    def dim(self) -> int:
        """Length of the final vector: base channels, expansion, and a constant 1."""
        return self.n_base + self.expansion + 1

    def digest(self) -> str:
        payload = json.dumps({"version": FEATURE_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _standardise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit std per channel over the first two axes; float32 (h, w, k)."""
    flat = x.reshape(-1, x.shape[-1])
    mean, std = flat.mean(0), flat.std(0)
    return ((x - mean) / np.maximum(std, 1e-6)).astype(np.float32)


def filter_bank(rgb: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Low-level channels of an RGB uint8 crop (h, w, 3): float32 (h, w, k), standardised;
    with ``config.context`` the same bank at half resolution follows, upsampled."""
    bank = _bank(rgb, config)
    if not config.context or min(rgb.shape[:2]) < 8:
        return bank if not config.context else np.concatenate([bank, bank], axis=-1)
    h, w = rgb.shape[:2]
    half = cv2.resize(rgb, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(_bank(half, config), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.concatenate([bank, coarse.reshape(h, w, -1)], axis=-1)


def _bank(rgb: np.ndarray, config: FeatureConfig) -> np.ndarray:
    img = rgb.astype(np.float32) / 255.0
    if config.clahe:
        green = _CLAHE.apply(np.ascontiguousarray(rgb[..., 1])).astype(np.float32) / 255.0
    else:
        green = img[..., 1]
    chans = [cv2.GaussianBlur(img, (0, 0), 1.0)[..., c] for c in range(3)]
    for s in config.scales:
        g = cv2.GaussianBlur(green, (0, 0), s)
        gx, gy = cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)
        dxx, dyy = cv2.Sobel(g, cv2.CV_32F, 2, 0), cv2.Sobel(g, cv2.CV_32F, 0, 2)
        dxy = cv2.Sobel(g, cv2.CV_32F, 1, 1)
        root = np.sqrt((dxx - dyy) ** 2 + 4 * dxy**2)
        scale2 = s * s  # scale-normalised second derivatives
        chans += [g, np.hypot(gx, gy) * s, 0.5 * (dxx + dyy + root) * scale2, 0.5 * (dxx + dyy - root) * scale2]
    for size in config.tophat_sizes:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        chans.append(cv2.morphologyEx(green, cv2.MORPH_BLACKHAT, kernel))
    inverted = 1.0 - green
    for length in config.line_lengths:
        chans.append(line_response(inverted, length))
    return _standardise(np.stack(chans, axis=-1))


def _line_kernels(length: int, n_angles: int = 12) -> list[np.ndarray]:
    """Averaging kernels along a centred line of ``length`` pixels at ``n_angles`` orientations."""
    kernels = []
    for k in range(n_angles):
        kern = np.zeros((length, length), np.float32)
        c = (length - 1) / 2
        dx, dy = np.cos(np.pi * k / n_angles), np.sin(np.pi * k / n_angles)
        start = (int(round(c - c * dx)), int(round(c - c * dy)))
        cv2.line(kern, start, (int(round(c + c * dx)), int(round(c + c * dy))), 1.0, 1)
        kernels.append(kern / kern.sum())
    return kernels


def line_response(img: np.ndarray, length: int) -> np.ndarray:
    """Line detector (Ricci & Perfetti): best mean along a line minus the window mean; float32 (h, w)."""
    window = cv2.blur(img, (length, length))
    best = np.max([cv2.filter2D(img, -1, k) for k in _line_kernels(length)], axis=0)
    return best - window


def sam_channels_at(pred: Prediction, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """SAM's decoder embedding (32) and logit (1) at frame pixels: float32 (N, 33), bilinear."""
    h, w = pred.logits.shape
    feats = pred.decoder_features  # (32, m, m) over the padded model input
    m = feats.shape[-1]
    scale = m / pred.input_side
    # frame pixel centre -> model-input pixel -> decoder-map coordinate
    u = ((cols + 0.5) * pred.input_size[1] / w) * scale - 0.5
    v = ((rows + 0.5) * pred.input_size[0] / h) * scale - 0.5
    u0 = np.clip(np.floor(u).astype(np.int64), 0, m - 1)
    v0 = np.clip(np.floor(v).astype(np.int64), 0, m - 1)
    u1, v1 = np.minimum(u0 + 1, m - 1), np.minimum(v0 + 1, m - 1)
    fu, fv = np.clip(u - u0, 0, 1).astype(np.float32), np.clip(v - v0, 0, 1).astype(np.float32)
    out = (
        feats[:, v0, u0] * (1 - fu) * (1 - fv)
        + feats[:, v0, u1] * fu * (1 - fv)
        + feats[:, v1, u0] * (1 - fu) * fv
        + feats[:, v1, u1] * fu * fv
    )
    logit = pred.logits[rows, cols][None]
    return np.concatenate([out, logit], axis=0).T.astype(np.float32)


class FeatureExtractor:
    """Turns (frame, prediction, ROI) into per-pixel feature vectors float32 (N, config.dim)."""

    def __init__(self, config: FeatureConfig = FeatureConfig()) -> None:
        self.config = config
        rng = np.random.default_rng(config.seed)
        self.projection = (rng.standard_normal((config.n_base, config.expansion)) / np.sqrt(config.n_base)).astype(
            np.float32
        )
        self.bias = rng.uniform(-1.0, 1.0, config.expansion).astype(np.float32)

    def base(self, rgb: np.ndarray, pred: Prediction, roi: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Standardised base channels for every ROI pixel: float32 (h*w, n_base) and the ROI shape."""
        x0, y0, x1, y1 = roi
        crop = rgb[y0 : y1 + 1, x0 : x1 + 1]
        bank = filter_bank(crop, self.config)
        h, w = bank.shape[:2]
        rows, cols = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
        if self.config.use_sam_features:
            sam = sam_channels_at(pred, rows.ravel(), cols.ravel()).reshape(h, w, -1)
        else:
            sam = pred.logits[y0 : y1 + 1, x0 : x1 + 1, None]
        sam = _standardise(sam)
        return np.concatenate([sam, bank], axis=-1).reshape(h * w, -1), np.array([h, w])

    def expand(self, base: np.ndarray) -> np.ndarray:
        """(N, n_base) -> (N, dim): base, ReLU random expansion, constant 1."""
        hidden = np.maximum(base @ self.projection + self.bias, 0.0)
        return np.concatenate([base, hidden, np.ones((base.shape[0], 1), np.float32)], axis=1)
