"""The head's filter bank and scores in torch, for prediction on a GPU.

The same channels as ``evosam.head.features.filter_bank`` (OpenCV/numpy on the CPU): after
standardisation they agree to about 1e-5, and to 4e-3 at most, where the CPU bank's float32
sums round (its standardisation, wide second derivatives); the head's masks are the same
(Dice >= 0.999, ``tests/unit/test_head_torch.py``). Channels: Gaussian-scale intensity, gradient magnitude and Hessian
eigenvalues, black top-hats, line detectors and smoothed colour, with the half-resolution
context bank. OpenCV's kernels are reused (``getGaussianKernel``, ``getDerivKernels``, the
ellipse structuring element) with its default border (reflect-101); the convolutions run in
float64, so a GPU's TF32 convolutions cannot round them. What stays on the CPU: CLAHE and the
half-resolution INTER_AREA resize of the uint8 crop (a few ms). On a CPU the OpenCV bank is
faster; this path exists so that a CUDA propagation is not held back by the head.

Arrays are ``[row, col]``; tensors channels-first ``(k, h, w)``.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from evosam.head.features import N_GEOMETRY, FeatureConfig, box_geometry, sam_channels_roi
from evosam.head.filters import _line_plan, green_levels
from evosam.models import Prediction


def _reflect_index(n: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    """Indices of a length-``n`` axis padded by reflect-101 (OpenCV's default border), any pad."""
    idx = np.arange(-before, n + after)
    if n == 1:
        return torch.zeros(idx.size, dtype=torch.long, device=device)
    period = 2 * (n - 1)
    m = np.mod(idx, period)
    return torch.from_numpy(np.where(m >= n, period - m, m)).to(device)


def _pad101(x: torch.Tensor, ry: int, rx: int) -> torch.Tensor:
    """Pad the last two axes of ``x`` by (ry, rx) with reflect-101, whatever the size."""
    h, w = x.shape[-2:]
    x = x.index_select(-2, _reflect_index(h, ry, ry, x.device))
    return x.index_select(-1, _reflect_index(w, rx, rx, x.device))


def _sep_filter(x: torch.Tensor, kx: np.ndarray, ky: np.ndarray) -> torch.Tensor:
    """OpenCV's ``sepFilter2D`` (correlation, reflect-101) of every channel of ``x`` (k, h, w)
    float32, computed in float64; returns float32 (k, h, w)."""
    kx, ky = np.ravel(kx).astype(np.float64), np.ravel(ky).astype(np.float64)
    k = x.shape[0]
    padded = _pad101(x.to(torch.float64), ky.size // 2, kx.size // 2)[:, None]
    wx = torch.from_numpy(kx).to(x.device).view(1, 1, 1, -1)
    wy = torch.from_numpy(ky).to(x.device).view(1, 1, -1, 1)
    out = F.conv2d(F.conv2d(padded.reshape(k, 1, *padded.shape[-2:]), wx), wy)
    return out[:, 0].to(torch.float32)


@lru_cache(maxsize=32)
def _gauss(sigma: float) -> np.ndarray:
    """OpenCV's float Gaussian kernel for ``GaussianBlur(..., (0, 0), sigma)``."""
    size = int(round(sigma * 4 * 2 + 1)) | 1
    return cv2.getGaussianKernel(size, sigma, cv2.CV_32F)


def _gaussian(x: torch.Tensor, sigma: float) -> torch.Tensor:
    g = _gauss(sigma)
    return _sep_filter(x, g, g)


def _sobel(x: torch.Tensor, dx: int, dy: int, scale: float = 1.0) -> torch.Tensor:
    kx, ky = cv2.getDerivKernels(dx, dy, 3, ktype=cv2.CV_32F)
    return _sep_filter(x, kx * scale, ky)


def _hessian(green: torch.Tensor, sigma: float) -> torch.Tensor:
    """Intensity, gradient magnitude and the two Hessian eigenvalues (4, h, w), as
    ``evosam.head.filters.hessian_channels``."""
    g = _gaussian(green[None], sigma)
    grad = torch.hypot(_sobel(g, 1, 0), _sobel(g, 0, 1)) * sigma
    dxx, dyy = _sobel(g, 2, 0), _sobel(g, 0, 2)
    root = torch.hypot(dxx - dyy, _sobel(g, 1, 1, 2.0))
    trace, half_s2 = dxx + dyy, np.float32(0.5 * sigma * sigma)
    return torch.cat([g, grad, (trace + root) * half_s2, (trace - root) * half_s2])


@lru_cache(maxsize=16)
def _disc_rows(size: int) -> tuple[tuple[int, int], ...]:
    """(row offset, half-width) of each row of OpenCV's ``size`` ellipse structuring element."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    rows = []
    for r, row in enumerate(disc):
        cols = np.flatnonzero(row)
        if cols.size:
            rows.append((r - size // 2, int(cols.max()) - size // 2))
    return tuple(rows)


def _dilate(x: torch.Tensor, size: int) -> torch.Tensor:
    """Grey dilation of ``x`` (h, w) by the ``size`` disc; outside the image is ignored."""
    h, w = x.shape
    out = torch.full_like(x, -torch.inf)
    runs: dict[int, torch.Tensor] = {}
    for dy, half in _disc_rows(size):
        if half not in runs:
            runs[half] = F.max_pool2d(x[None, None], (1, 2 * half + 1), 1, (0, half))[0, 0]
        src = runs[half]
        lo, hi = max(0, -dy), min(h, h - dy)  # out[y] takes src[y + dy]
        if lo < hi:
            torch.maximum(out[lo:hi], src[lo + dy : hi + dy], out=out[lo:hi])
    return out


def _black_tophat(green: torch.Tensor, size: int) -> torch.Tensor:
    """Closing minus image with the ``size`` disc (exact: only max and min)."""
    closed = -_dilate(-_dilate(green, size), size)
    return closed - green


def _lines(img: torch.Tensor, lengths: tuple[int, ...], n_angles: int) -> torch.Tensor:
    """``evosam.head.filters.line_responses`` of an (h, w) image: (len(lengths), h, w)."""
    r = max(lengths) // 2
    h, w = img.shape
    pad = _pad101(img, r, r)
    best = torch.empty((len(lengths), h, w), dtype=img.dtype, device=img.device)
    started = [False] * len(lengths)
    acc = torch.empty_like(img)
    for a in range(n_angles):
        acc.zero_()
        for dy, dx, ends in _line_plan(r, float(np.pi * a / n_angles), lengths):
            acc += pad[r + dy : r + dy + h, r + dx : r + dx + w]
            for k, scale in ends:
                if started[k]:
                    torch.maximum(best[k], acc * scale, out=best[k])
                else:
                    torch.mul(acc, scale, out=best[k])
                    started[k] = True
    for k, n in enumerate(lengths):
        window = F.avg_pool2d(_pad101(img[None], n // 2, n // 2)[None].double(), n, 1)[0, 0].float()
        best[k] -= window
    return best


def _standardise(x: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit std per channel of (k, ...) float32, in place (as ``filters.standardise``)."""
    flat = x.reshape(x.shape[0], -1)
    flat -= flat.mean(1, keepdim=True)
    std = torch.sqrt((flat * flat).mean(1, keepdim=True))
    flat *= 1.0 / torch.clamp(std, min=1e-6)
    return x


def _bank(rgb: np.ndarray, config: FeatureConfig, device: torch.device) -> torch.Tensor:
    """One resolution's bank of an RGB uint8 crop (h, w, 3): float32 (n_bank, h, w) on ``device``."""
    levels = torch.from_numpy(green_levels(rgb, config.clahe)).to(device)
    green = levels.to(torch.float32) / 255.0
    colour = torch.tensor(rgb, device=device).permute(2, 0, 1).to(torch.float32) * np.float32(1 / 255)
    parts = [_standardise(torch.cat([_gaussian(colour, 1.0)] + [_hessian(green, s) for s in config.scales]))]
    if config.tophat_sizes:
        parts.append(_standardise(torch.stack([_black_tophat(green, s) for s in config.tophat_sizes])))
    if config.line_lengths:
        parts.append(_standardise(_lines(1.0 - green, config.line_lengths, config.line_angles)))
    return torch.cat(parts)


def filter_bank_torch(rgb: np.ndarray, config: FeatureConfig, device: torch.device | str) -> torch.Tensor:
    """``filter_bank`` of an RGB uint8 crop (h, w, 3) on ``device``: float32 (k, h, w), with the
    half-resolution bank (upsampled bilinearly, as OpenCV's INTER_LINEAR) when ``config.context``."""
    device = torch.device(device)
    h, w = rgb.shape[:2]
    fine = _bank(rgb, config, device)
    if not config.context:
        return fine
    if min(h, w) < 16:
        return torch.cat([fine, fine])
    half = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    coarse = F.interpolate(_bank(half, config, device)[None], size=(h, w), mode="bilinear", align_corners=False)
    return torch.cat([fine, coarse[0]])


def roi_channels_torch(
    rgb: np.ndarray,
    pred: Prediction,
    roi: tuple[int, int, int, int],
    config: FeatureConfig,
    device: torch.device,
    box: tuple[float, float, float, float] | None = None,
) -> torch.Tensor:
    """``FeatureExtractor.roi_features(...).channels`` on ``device``: float32 (n_base, h*w) of the
    ROI (x0, y0, x1, y1) inclusive of an RGB uint8 (H, W, 3) frame; SAM's channels first, then
    the bank, then the geometry of ``box`` (default: the ROI) when configured."""
    x0, y0, x1, y1 = roi
    h, w = y1 - y0 + 1, x1 - x0 + 1
    if config.use_sam_features:
        sam = sam_channels_roi(pred, roi).reshape(config.n_sam, h * w)
    else:
        sam = pred.logits[y0 : y1 + 1, x0 : x1 + 1].reshape(1, h * w)
    sam = _standardise(torch.from_numpy(np.ascontiguousarray(sam, np.float32)).to(device))
    bank = filter_bank_torch(np.ascontiguousarray(rgb[y0 : y1 + 1, x0 : x1 + 1]), config, device)
    parts = [sam, bank.reshape(bank.shape[0], h * w)]
    if config.geometry:
        geometry = box_geometry(roi, box if box is not None else roi).reshape(N_GEOMETRY, h * w)
        parts.append(_standardise(torch.from_numpy(geometry).to(device)))
    return torch.cat(parts)


def gated_scores_torch(
    channels: torch.Tensor,
    projection: torch.Tensor,
    bias: torch.Tensor,
    w: torch.Tensor,
    w_linear: torch.Tensor,
    gate: float | None,
    chunk: int = 32768,
) -> torch.Tensor:
    """``EvoHead.roi_scores`` on the channels' device: float32 (N,) for (n_base, N); the
    expansion (``projection`` (n_base, E), ``bias`` (E,)) only where the linear stage
    (``w_linear`` (n_base + 1,)) reaches ``gate``; ``w`` (n_base + E + 1,)."""
    nb, e = projection.shape
    out = w_linear[:nb] @ channels + w_linear[nb]
    keep = torch.nonzero(out >= gate).flatten() if gate is not None else None
    x = channels[:, keep] if keep is not None else channels
    scores = torch.empty(x.shape[1], dtype=torch.float32, device=x.device)
    for i in range(0, x.shape[1], chunk):
        part = x[:, i : i + chunk].T
        hidden = torch.relu_(torch.addmm(bias, part, projection))
        scores[i : i + chunk] = part @ w[:nb] + hidden @ w[nb : nb + e] + w[nb + e]
    if keep is None:
        return scores
    out[keep] = scores
    return out
