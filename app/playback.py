"""Frames decoded ahead for playback: one ``ReadAhead`` thread per clip, and the frames it
decoded that are not shown yet (the window shows them instead of decoding on the spot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from app.budget import WORKER_FRAME_CACHE_BYTES
from app.player import Player
from app.readahead import AHEAD, ReadAhead
from app.sources import open_source


class PlaybackFrames(QObject):
    """Follows ``player``: while it plays, the next ``AHEAD`` frames are decoded ahead; it
    tells the player whether the next frame is ready (``is_ready``)."""

    def __init__(self, player: Player, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.read_ahead: ReadAhead | None = None  # decodes the next frames while playing
        self._ready: dict[int, np.ndarray] = {}  # frames it decoded, not shown yet
        player.is_ready = self.is_ready
        player.playing_changed.connect(self._on_playing_changed)

    def set_video(self, path: Path) -> None:
        """A new clip: a new reader thread on its video."""
        self.stop()
        self.read_ahead = ReadAhead(lambda: open_source(path, WORKER_FRAME_CACHE_BYTES), self)
        self.read_ahead.frame_ready.connect(self._on_frame_ready)
        self._ready = {}

    def take(self, index: int) -> np.ndarray | None:
        """Frame ``index`` (RGB uint8 (H, W, 3)) if decoded ahead, else None; frames before it
        are dropped and, while playing, the next ones are asked for."""
        ready = self._ready.pop(index, None)
        self._ready = {i: f for i, f in self._ready.items() if i > index}
        if self.player.playing and self.read_ahead is not None:
            self.read_ahead.want(index + 1, min(index + 1 + AHEAD, self.player.frame_count))
        return ready

    def is_ready(self, index: int) -> bool:
        ahead = self.read_ahead
        return ahead is None or index in self._ready or ahead.isFinished()  # finished: it could not open the video

    def stop(self) -> None:
        if self.read_ahead is not None:
            self.read_ahead.stop()

    def _on_playing_changed(self, playing: bool) -> None:
        if playing and self.read_ahead is not None:
            start = self.player.current + 1
            self.read_ahead.want(start, min(start + AHEAD, self.player.frame_count))

    def _on_frame_ready(self, index: int, rgb: np.ndarray) -> None:
        if self.player.playing and index > self.player.current:
            self._ready[index] = rgb
