"""Low-level image filters for the head's pixel features (OpenCV/numpy, float32).

Vessels are dark, thin, elongated structures, best seen in the green channel: the bank
holds smoothed colour, Gaussian-scale intensity, gradient magnitude and the two Hessian
eigenvalues, morphological black top-hats, and multi-length line detectors. Every image
array is ``[row, col]``; crops are RGB uint8 (h, w, 3).
"""

from __future__ import annotations

import threading
from functools import lru_cache

import cv2
import numpy as np

_PER_THREAD = threading.local()  # OpenCV's CLAHE keeps working buffers: one object per thread


def standardise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit std per channel of a channels-first float32 (k, ...) array, in place.

    A function of this array alone, so a frame's features never depend on other frames."""
    flat = x.reshape(x.shape[0], -1)
    mean = flat.mean(1, keepdims=True)
    flat -= mean
    std = np.sqrt(np.einsum("ij,ij->i", flat, flat) / max(flat.shape[1], 1))[:, None]
    flat *= (1.0 / np.maximum(std, 1e-6)).astype(np.float32)
    return x


def green_levels(rgb: np.ndarray, clahe: bool) -> np.ndarray:
    """Green channel uint8 (h, w), contrast-equalised (CLAHE) if asked."""
    green = np.ascontiguousarray(rgb[..., 1])
    return _clahe().apply(green) if clahe else green


def unit(levels: np.ndarray) -> np.ndarray:
    """uint8 levels -> float32 in [0, 1] (monotone: order statistics commute with it)."""
    return levels.astype(np.float32) / 255.0


def _clahe() -> cv2.CLAHE:
    """This thread's CLAHE (clip limit 2, 8 x 8 tiles)."""
    if not hasattr(_PER_THREAD, "clahe"):
        _PER_THREAD.clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    return _PER_THREAD.clahe


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


def black_tophat(levels: np.ndarray, green: np.ndarray, size: int, out: np.ndarray) -> None:
    """Into ``out`` float32 (h, w): closing minus image with a ``size`` disc (dark details
    narrower than the disc), of ``green`` float32 (h, w) = ``unit(levels)``, uint8 (h, w).

    The closing (a min of maxes) runs on the uint8 levels, about 3x faster than on floats,
    and ``unit`` is monotone, so the result is bit-identical to the closing of ``green``."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    np.subtract(unit(cv2.morphologyEx(levels, cv2.MORPH_CLOSE, kernel)), green, out=out)


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
    shifted views serves every length. Strips of rows are done one after another, so the
    running sums stay in the CPU's cache (every pixel gets the same arithmetic)."""
    if not lengths:
        return
    r = max(lengths) // 2
    h, w = img.shape
    pad = cv2.copyMakeBorder(img, r, r, r, r, cv2.BORDER_REFLECT_101)
    plans = [_line_plan(r, float(np.pi * a / n_angles), lengths) for a in range(n_angles)]
    rows = max(8, _STRIP_PIXELS // max(w, 1))
    acc, mean = np.empty((min(rows, h), w), np.float32), np.empty((min(rows, h), w), np.float32)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        strip_acc, strip_mean, best = acc[: y1 - y0], mean[: y1 - y0], out[:, y0:y1]
        started = [False] * len(lengths)
        for plan in plans:
            strip_acc.fill(0.0)
            for dy, dx, ends in plan:
                cv2.add(strip_acc, pad[r + dy + y0 : r + dy + y1, r + dx : r + dx + w], dst=strip_acc)
                for k, scale in ends:  # the line of length ``lengths[k]`` is complete: its mean
                    if started[k]:
                        np.multiply(strip_acc, scale, out=strip_mean)
                        cv2.max(best[k], strip_mean, dst=best[k])
                    else:
                        np.multiply(strip_acc, scale, out=best[k])
                        started[k] = True
    for k, n in enumerate(lengths):
        cv2.subtract(out[k], cv2.blur(img, (n, n), borderType=cv2.BORDER_REFLECT_101), dst=out[k])


_STRIP_PIXELS = 65536  # pixels per strip of ``line_responses`` (256 KB per float32 buffer)


def _line_plan(
    radius: int, angle: float, lengths: tuple[int, ...]
) -> list[tuple[int, int, list[tuple[int, np.float32]]]]:
    """Steps (dy, dx, ends) summing the line at ``angle`` outwards from its centre: after
    adding offset (dy, dx), the lines listed in ``ends`` as (index into ``lengths``, 1 / their
    pixel count) are complete. Rounding may skip some |t|: the line of half-length R holds
    the offsets up to R."""
    offsets = _line_offsets(radius, angle)
    plan = []
    for i, (dy, dx, t) in enumerate(offsets):
        next_t = offsets[i + 1][2] if i + 1 < len(offsets) else radius + 1
        ends = [(k, np.float32(1.0 / (i + 1))) for k, length in enumerate(lengths) if t <= length // 2 < next_t]
        plan.append((dy, dx, ends))
    return plan
