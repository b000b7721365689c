"""Dense optical flow (OpenCV Farnebäck) to carry a mask from one frame to the next."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

FLOW_SIDE = 320  # flow is computed on frames scaled so that the longest side is this many pixels


def _gray_small(rgb: np.ndarray, scale: float) -> np.ndarray:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale != 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return gray


def backward_flow(prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> np.ndarray:
    """Flow from ``cur`` to ``prev``: float32 (H, W, 2) of (dx, dy) in full-resolution pixels,
    such that ``cur[y, x]`` corresponds to ``prev[y + dy, x + dx]``."""
    h, w = cur_rgb.shape[:2]
    scale = min(1.0, FLOW_SIDE / max(h, w))
    flow = gray_flow(_gray_small(prev_rgb, scale), _gray_small(cur_rgb, scale))
    if scale != 1.0:
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) / scale
    return flow.astype(np.float32)


def small_gray(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """The frame in grey levels, scaled (never up) so that its longest side is ``side``:
    uint8 (h, w) and the scale (small pixels per frame pixel)."""
    scale = min(1.0, side / max(rgb.shape[:2]))
    return _gray_small(rgb, scale), scale


def gray_flow(prev_gray: np.ndarray, cur_gray: np.ndarray) -> np.ndarray:
    """``backward_flow`` of two grey uint8 (h, w) images at their own size: float32 (h, w, 2)
    in their pixels, ``cur[y, x]`` ~ ``prev[y + dy, x + dx]``."""
    return cv2.calcOpticalFlowFarneback(cur_gray, prev_gray, None, 0.5, 3, 15, 3, 5, 1.2, 0)


@lru_cache(maxsize=4)
def _pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Column and row coordinates float32 (h, w) of every pixel (read-only, shared)."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    gx.flags.writeable = gy.flags.writeable = False
    return gx, gy


def remap_maps(flow: np.ndarray, size: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap``'s maps (float32 (H, W) each) that carry an image of the flow's target
    to its source along a backward ``flow`` (frame pixels): ``flow`` resized to ``size``
    (H, W) first when given and different."""
    if size is not None and flow.shape[:2] != tuple(size):
        flow = cv2.resize(flow, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    gx, gy = _pixel_grid(*flow.shape[:2])
    return gx + flow[..., 0], gy + flow[..., 1]


def warp_masks(masks: tuple[np.ndarray, ...], flow: np.ndarray) -> tuple[np.ndarray, ...]:
    """Carry bool (H, W) masks of the previous frame to the current one with ``backward_flow``
    (one pair of sampling maps for all of them)."""
    gx, gy = _pixel_grid(*flow.shape[:2])
    map_x, map_y = gx + flow[..., 0], gy + flow[..., 1]
    return tuple(
        cv2.remap(m.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        >= 0.5
        for m in masks
    )


def warp_mask(prev_mask: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Carry a bool (H, W) mask of the previous frame to the current one with ``backward_flow``."""
    return warp_masks((prev_mask,), flow)[0]


def warp_error(prev_rgb: np.ndarray, cur_rgb: np.ndarray, flow: np.ndarray) -> float:
    """Median absolute grey-level difference (0-255) between ``cur`` and ``prev`` carried to
    it by ``backward_flow``: below 1 when the flow explains the motion (continuous video),
    several units after a cut, a camera jump or an occluder sweeping in."""
    prev = cv2.cvtColor(prev_rgb, cv2.COLOR_RGB2GRAY)
    return gray_warp_error(prev, cv2.cvtColor(cur_rgb, cv2.COLOR_RGB2GRAY), flow)


def gray_warp_error(prev_gray: np.ndarray, cur_gray: np.ndarray, flow: np.ndarray) -> float:
    """``warp_error`` of two grey (h, w) images and their ``gray_flow`` (or a backward flow
    at their size)."""
    gx, gy = _pixel_grid(*flow.shape[:2])
    prev, cur = prev_gray.astype(np.float32), cur_gray.astype(np.float32)
    carried = cv2.remap(prev, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return float(np.median(np.abs(carried - cur)))
