"""Frame read-ahead for playback: decodes the next frames on its own thread and reader.

Decoding an HD frame can take 50 ms (PNG folders), longer than a frame period, so during
playback the GUI thread never decodes: the player only advances to a frame that is ready,
and playback slows to the decoder's pace instead of freezing the window. Stepping and
seeking while paused still decode on the spot (one frame, once).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from app.jobs import lower_thread_priority
from app.workers import FrameReader

AHEAD = 8  # frames decoded ahead of the one on screen


class ReadAhead(QThread):
    """``frame_ready(index, rgb)`` for each frame of the window asked for with :meth:`want`."""

    frame_ready = Signal(int, object)

    def __init__(self, open_reader: Callable[[], FrameReader], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReadAhead")
        self._open = open_reader
        self._cond = threading.Condition()
        self._window: tuple[int, int] = (0, 0)  # [start, stop) frames wanted
        self._sent: set[int] = set()
        self._stopping = False

    def want(self, start: int, stop: int) -> None:
        """Decode frames ``start`` .. ``stop - 1`` (GUI thread); replaces the previous wish."""
        with self._cond:
            self._window = (start, stop)
            self._sent = {i for i in self._sent if start <= i < stop}
            self._cond.notify()
        if not self.isRunning():
            self.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self.wait()  # at most one frame decode

    def _next_index(self) -> int | None:
        start, stop = self._window
        return next((i for i in range(start, stop) if i not in self._sent), None)

    def run(self) -> None:  # read-ahead thread
        lower_thread_priority(2)
        try:
            reader = self._open()
        except Exception:  # noqa: BLE001 - the GUI's own reader reports unreadable videos
            return
        try:
            while True:
                with self._cond:
                    while not self._stopping and (index := self._next_index()) is None:
                        self._cond.wait()
                    if self._stopping:
                        return
                    self._sent.add(index)
                try:
                    frame: np.ndarray = reader.frame(index)
                except Exception:  # noqa: BLE001 - the GUI decodes it itself and shows the error
                    continue
                self.frame_ready.emit(index, frame)
        finally:
            reader.close()
