"""Play / pause / step through a clip at its frame rate; the one owner of the current frame."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal


class Player(QObject):
    """``frame_changed(index)`` whenever the current frame changes; ``playing_changed(bool)``."""

    frame_changed = Signal(int)
    playing_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.frame_count = 1
        self.fps = 25.0
        self.current = 0
        self.is_ready: Callable[[int], bool] = lambda _index: True  # may playback show this frame yet?
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)

    def set_clip(self, frame_count: int, fps: float) -> None:
        self.pause()
        self.frame_count = max(1, int(frame_count))
        self.fps = fps if fps and fps > 0 else 25.0
        self._timer.setInterval(max(1, round(1000.0 / self.fps)))
        self.current = -1
        self.seek(0)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def seek(self, index: int) -> None:
        index = min(self.frame_count - 1, max(0, int(index)))
        if index != self.current:
            self.current = index
            self.frame_changed.emit(index)

    def step(self, delta: int) -> None:
        self.pause()
        self.seek(self.current + delta)

    def play(self) -> None:
        if self.playing or self.frame_count < 2:
            return
        if self.current >= self.frame_count - 1:
            self.seek(0)
        self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if self.playing:
            self._timer.stop()
            self.playing_changed.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def _on_tick(self) -> None:
        if self.current >= self.frame_count - 1:
            self.pause()
        elif self.is_ready(self.current + 1):
            self.seek(self.current + 1)  # else: wait for the decoder (playback slows, nothing freezes)
