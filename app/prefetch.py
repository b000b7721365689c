"""Embeddings computed ahead while the user is idle: the frame they stopped on first, then
the next few, one job at a time and only while no other job waits, so a box drawn on any of
them answers in a decoder's time. The embedding cache is bounded in bytes, so looking ahead
never grows memory without bound."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, QTimer

from app.jobs import Job
from app.player import Player
from app.workers import EmbedJob

AHEAD_FRAMES = 3  # frames embedded beyond the current one


class PrefetchHost(Protocol):
    """What the prefetcher needs from the controller."""

    player: Player

    @property
    def has_video(self) -> bool: ...

    @property
    def busy(self) -> bool: ...

    def submit(self, job: Job) -> Job: ...


class Prefetcher(QObject):
    """Started ``delay_ms`` after the playhead stops; ``delay_ms`` <= 0 disables it."""

    def __init__(
        self, host: PrefetchHost, delay_ms: int, ahead: int = AHEAD_FRAMES, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.host, self.ahead = host, ahead
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

    def stop(self) -> None:
        """Closing: look ahead no more."""
        self.enabled = False
        self.on_frame_changed(self.host.player.current, False)

    def _next(self) -> None:
        if not self.enabled:
            return  # stopped (closing)
        player = self.host.player
        last = min(player.current + self.ahead, player.frame_count - 1)
        if not self.host.has_video or player.playing or self._next_frame > last:
            return  # done
        if self.host.busy:
            self._timer.start()  # the user's jobs come first: look again after the delay
            return
        self._job = EmbedJob(self._next_frame)
        self._job.result.connect(self._on_done)  # before it is queued: a cached frame finishes at once
        self._next_frame += 1
        self.host.submit(self._job)

    def _on_done(self, frame: int) -> None:
        job = self._job
        if job is not None and job.frame == frame and not job.cancelled:
            self._job = None
            QTimer.singleShot(0, self._next)
