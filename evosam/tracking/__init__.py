"""Following masks through a clip: one seam for the window, the CLI, the benchmarks and batch jobs.

A ``Tracker`` follows one label's mask from frame to frame; a ``TrackSession`` holds one
clip's state (its model, frames, embeddings, the masks given per label, the label's
refiner) and asks its tracker; ``propagate_video`` opens a session over a video for one
prompt and yields a ``FrameResult`` per frame. Trackers register by name
(``register_tracker``); ``sam-flow`` is the default, ``flow`` a SAM-free baseline.
"""

from evosam.tracking import flow_only, redetect, sam_flow  # noqa: F401  (register the bundled trackers)
from evosam.tracking.session import (
    DEFAULT_TRACKER,
    TRACKERS,
    Tracker,
    TrackSession,
    make_tracker,
    register_tracker,
)
from evosam.tracking.video import FrameSource, Prompt, propagate_video

__all__ = [
    "DEFAULT_TRACKER",
    "TRACKERS",
    "FrameSource",
    "Prompt",
    "TrackSession",
    "Tracker",
    "make_tracker",
    "propagate_video",
    "register_tracker",
]
