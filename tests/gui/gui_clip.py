"""The tiny synthetic clip of the GUI tests: a bright elliptic blob moving right on dark red noise."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FRAMES, HEIGHT, WIDTH = 4, 160, 240
BLOB_CENTER, BLOB_AXES, BLOB_STEP = (90, 80), (34, 22), 3  # (x, y), (ax, ay) pixels; x moves BLOB_STEP per frame


def blob_mask(frame: int) -> np.ndarray:
    """The true blob of ``frame``: bool (HEIGHT, WIDTH)."""
    m = np.zeros((HEIGHT, WIDTH), np.uint8)
    cx, cy = BLOB_CENTER
    cv2.ellipse(m, (cx + BLOB_STEP * frame, cy), BLOB_AXES, 0, 0, 360, 1, -1)
    return m.astype(bool)


def write_clip(folder: Path, frames: int = FRAMES, still_tissue: bool = False, blank: tuple[int, ...] = ()) -> Path:
    """A folder of ``frames`` PNG frames, HEIGHT x WIDTH: dark red tissue with the moving blob.
    The tissue's noise is new in every frame, or with ``still_tissue`` the same in all (then
    optical flow explains each frame from another: keyframe mode carries them). Frames in
    ``blank`` are black (the camera taken out)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 6, (HEIGHT, WIDTH, 3))
    for i in range(frames):
        rgb = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        rgb[:] = (90, 25, 30)
        noise = noise if still_tissue or i == 0 else rng.normal(0, 6, (HEIGHT, WIDTH, 3))
        rgb = np.clip(rgb + noise, 0, 255).astype(np.uint8)
        rgb[blob_mask(i)] = (235, 225, 200)
        if i in blank:
            rgb[:] = 0
        cv2.imwrite(str(folder / f"{i:05d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return folder


def blob_box(frame: int, margin: int = 6) -> tuple[float, float, float, float]:
    """A box prompt (x0, y0, x1, y1) around the blob of ``frame``."""
    cx, cy = BLOB_CENTER
    cx += BLOB_STEP * frame
    ax, ay = BLOB_AXES
    return (cx - ax - margin, cy - ay - margin, cx + ax + margin, cy + ay + margin)


class TickGaps:
    """Records the gaps between the ticks of a 10 ms precise timer on the GUI thread (how
    long the event loop stalls): ``with TickGaps() as gaps: ...`` then ``gaps.worst`` (s)."""

    def __enter__(self) -> TickGaps:
        import time

        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self._clock = time.perf_counter
        self._last = self._clock()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._on_tick)
        self._timer.start()
        return self

    def _on_tick(self) -> None:
        now = self._clock()
        self.gaps.append(now - self._last)
        self._last = now

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()

    @property
    def worst(self) -> float:
        return max(self.gaps[1:] or self.gaps)  # the first gap may include the call that started the work
