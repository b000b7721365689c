"""Low-level image filters for the head's pixel features (OpenCV/numpy, float32).

Vessels are dark, thin, elongated structures, best seen in the green channel: the bank
holds smoothed colour, Gaussian-scale intensity, gradient magnitude and the two Hessian
eigenvalues, morphological black top-hats, and multi-length line detectors. Every image
array is ``[row, col]``; crops are RGB uint8 (h, w, 3).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


def standardise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit std per channel of a channels-first float32 (k, ...) array, in place.

    A function of this array alone, so a frame's features never depend on other frames."""
    flat = x.reshape(x.shape[0], -1)
    mean = flat.mean(1, keepdims=True)
    flat -= mean
    std = np.sqrt(np.einsum("ij,ij->i", flat, flat) / max(flat.shape[1], 1))[:, None]
    flat *= (1.0 / np.maximum(std, 1e-6)).astype(np.float32)
    return x


def green_channel(rgb: np.ndarray, clahe: bool) -> np.ndarray:
    """Green channel float32 (h, w) in [0, 1], contrast-equalised (CLAHE) if asked."""
    green = np.ascontiguousarray(rgb[..., 1])
    return (_CLAHE.apply(green) if clahe else green).astype(np.float32) / 255.0


def _hypot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sqrt(a² + b²) float32, bit-reproducible (in place in ``a``)."""
    a *= a
    a += b * b
    return np.sqrt(a, out=a)


def hessian_channels(green: np.ndarray, sigma: float, out: np.ndarray) -> None:
    """Into ``out`` float32 (4, h, w), at Gaussian scale ``sigma``: intensity, gradient
    magnitude and the two Hessian eigenvalues (larger first), scale-normalised."""
    g = cv2.GaussianBlur(green, (0, 0), sigma, dst=out[0])
    # plain numpy arithmetic where OpenCV would fuse multiply-adds: its SIMD and scalar paths
    # round differently, so results would depend on the arrays' memory alignment
    np.multiply(_hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)), sigma, out=out[1])
    dxx, dyy = cv2.Sobel(g, cv2.CV_32F, 2, 0), cv2.Sobel(g, cv2.CV_32F, 0, 2)
    root = _hypot(cv2.subtract(dxx, dyy), cv2.Sobel(g, cv2.CV_32F, 1, 1, scale=2.0))
    trace = cv2.add(dxx, dyy)
    half_s2 = np.float32(0.5 * sigma * sigma)
    np.multiply(cv2.add(trace, root), half_s2, out=out[2])
    np.multiply(cv2.subtract(trace, root), half_s2, out=out[3])


def black_tophat(green: np.ndarray, size: int, out: np.ndarray) -> None:
    """Into ``out`` float32 (h, w): closing minus image with a ``size`` disc (dark details
    narrower than the disc)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    cv2.morphologyEx(green, cv2.MORPH_BLACKHAT, kernel, dst=out)


@lru_cache(maxsize=64)
def _line_offsets(radius: int, angle: float) -> tuple[tuple[int, int, int], ...]:
    """Distinct pixel offsets (dy, dx, |t|) of a centred line of half-length ``radius`` at
    ``angle`` (radians from the x axis), ordered by distance |t| from the centre."""
    seen: set[tuple[int, int]] = set()
    out = []
    for t in sorted(range(-radius, radius + 1), key=lambda t: (abs(t), t)):
        off = (int(round(t * np.sin(angle))), int(round(t * np.cos(angle))))
        if off not in seen:
            seen.add(off)
            out.append((off[0], off[1], abs(t)))
    return tuple(out)


def line_responses(img: np.ndarray, lengths: tuple[int, ...], n_angles: int, out: np.ndarray) -> None:
    """Line detectors (Ricci & Perfetti 2007) of several odd lengths at once, into ``out``
    float32 (len(lengths), h, w), on a float32 (h, w) image where lines are bright: for each
    length L, the best mean along a centred L-pixel line over ``n_angles`` orientations
    minus the L x L window mean. The lines of one angle are nested, so one running sum of
    shifted views serves every length."""
    if not lengths:
        return
    r = max(lengths) // 2
    h, w = img.shape
    pad = cv2.copyMakeBorder(img, r, r, r, r, cv2.BORDER_REFLECT_101)
    by_radius = {length // 2: length for length in lengths}
    best: dict[int, np.ndarray] = {}
    acc = np.empty_like(img)
    for k in range(n_angles):
        offsets = _line_offsets(r, float(np.pi * k / n_angles))
        acc.fill(0.0)
        for i, (dy, dx, t) in enumerate(offsets):
            cv2.add(acc, pad[r + dy : r + dy + h, r + dx : r + dx + w], dst=acc)
            next_t = offsets[i + 1][2] if i + 1 < len(offsets) else r + 1
            # the line of half-length R holds the offsets up to R; rounding may skip some |t|
            for radius, length in by_radius.items():
                if t <= radius < next_t:
                    mean = acc * np.float32(1.0 / (i + 1))
                    best[length] = mean if length not in best else cv2.max(best[length], mean, dst=best[length])
    for k, n in enumerate(lengths):
        cv2.subtract(best[n], cv2.blur(img, (n, n), borderType=cv2.BORDER_REFLECT_101), dst=out[k])
