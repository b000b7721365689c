"""Embeddings computed ahead while the user is idle: the frame they stopped on first, then
the next few, one job at a time and only while no other job waits, so a box drawn on any of
them answers in a decoder's time. The embedding cache is bounded in bytes, so looking ahead
never grows memory without bound."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from app.workers import EmbedJob

if TYPE_CHECKING:
    from app.main_window import MainWindow

AHEAD_FRAMES = 3  # frames embedded beyond the current one


class Prefetcher(QObject):
    """Started ``delay_ms`` after the playhead stops; ``delay_ms`` <= 0 disables it."""

    def __init__(self, window: MainWindow, delay_ms: int, ahead: int = AHEAD_FRAMES) -> None:
        super().__init__(window)
        self.window, self.ahead = window, ahead
        self.enabled = delay_ms > 0
        self._timer = QTimer(self, singleShot=True, interval=max(1, delay_ms))
        self._timer.timeout.connect(self._next)
        self._job: EmbedJob | None = None
        self._next_frame = 0

    def on_frame_changed(self, frame: int, playing: bool) -> None:
        """The playhead moved: drop the plan and start again from ``frame`` after the delay."""
        if self._job is not None:
            self._job.cancel()
            self._job = None
        self._timer.stop()
        self._next_frame = frame
        if self.enabled and not playing:
            self._timer.start()

    def _next(self) -> None:
        w = self.window
        last = min(w.player.current + self.ahead, w.player.frame_count - 1)
        if w.source is None or w.player.playing or self._next_frame > last:
            return  # done
        if w._jobs:
            self._timer.start()  # the user's jobs come first: look again after the delay
            return
        self._job = EmbedJob(self._next_frame)
        self._job.finished.connect(self._on_done)  # before it is queued: a cached frame finishes at once
        self._next_frame += 1
        w.submit(self._job)

    def _on_done(self) -> None:
        if self.sender() is self._job and not self._job.cancelled:
            self._job = None
            QTimer.singleShot(0, self._next)
