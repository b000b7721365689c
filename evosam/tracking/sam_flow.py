"""The default tracker: flow-carried masks and a memory prompt SAM with boxes (``evosam.propagate``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from evosam.propagate import FrameResult, PropagationConfig, propagate
from evosam.tracking.session import StopCheck, TrackSession, register_tracker


@register_tracker
@dataclass
class SamFlowTracker:
    """Each frame: the previous mask and the memory carried by optical flow, their boxes
    prompt SAM, the best predicted IoU wins, the label's refiner makes the proposal."""

    name: ClassVar[str] = "sam-flow"
    config: PropagationConfig = field(default_factory=PropagationConfig)

    def follow(
        self, session: TrackSession, label: str, frames: range, start_mask: np.ndarray, should_stop: StopCheck
    ) -> Iterator[FrameResult]:
        return propagate(
            session.model,
            session.read_frame,
            session.embed,
            frames,
            start_mask,
            self.config,
            should_stop=should_stop,
            refine=session.refiners.get(label),
            recheck=session.recheck,
        )
