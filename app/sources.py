"""The open clip's frames as the window and its controller need them (``evosam.video``)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from app.budget import GUI_FRAME_CACHE_BYTES


class VideoSource(Protocol):
    """What the controller needs from ``evosam.video.VideoSource``."""

    frame_count: int
    fps: float
    size: tuple[int, int]

    def frame(self, index: int) -> np.ndarray: ...

    def fingerprint(self) -> str: ...

    def close(self) -> None: ...


def open_source(path: str | Path, cache_bytes: int = GUI_FRAME_CACHE_BYTES) -> VideoSource:
    """The video or frame folder at ``path``, its decoded frames cached up to ``cache_bytes``."""
    from evosam.video import open_video

    return open_video(path, cache_bytes)
