"""A SAM-free baseline tracker: the start mask carried from frame to frame by optical flow.

It tests the seam (a tracker is one small registered class) and gives a floor for what
SAM adds; no model is called after the start frame, so it is fast and drifts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np

from evosam.flow import warp_mask
from evosam.masks import mask_box
from evosam.propagate import FrameResult, PropagationConfig, frames_with_flow, quality_flags
from evosam.tracking.session import StopCheck, TrackSession, register_tracker


@register_tracker
class FlowOnlyTracker:
    """Each frame's mask is the previous one warped by ``backward_flow``; ``iou`` is NaN (no
    decoder ran) and frames are flagged by the same quality gate as SAM's (empty, jumps)."""

    name: ClassVar[str] = "flow"

    def __init__(self) -> None:
        self.config = PropagationConfig()

    def follow(
        self, session: TrackSession, label: str, frames: range, start_mask: np.ndarray, should_stop: StopCheck
    ) -> Iterator[FrameResult]:
        prev = np.asarray(start_mask, dtype=bool)
        for index, _rgb, flow in frames_with_flow(session.read_frame, frames, use_flow=True):
            if should_stop():
                return
            mask = warp_mask(prev, flow.result())
            flags = quality_flags(mask, float("nan"), prev, self.config)
            yield FrameResult(index, mask, float("nan"), mask_box(mask), flags)
            if mask.any():
                prev = mask
