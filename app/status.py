"""Status-bar widgets: what slow work is running (with progress and Cancel), and the model."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class JobStatus(QWidget):
    """``Propagating… 12 s · 1.4 frames/s · 20 s left [=====    ] 12/40 [Cancel]``; hidden
    while the worker is idle. The seconds a job has run tick from the first one on (a first
    start's model conversion takes minutes on a loaded machine: the counter shows it is
    working, without a promise); a job whose progress counts a ``unit`` also shows its rate
    since its first progress report and the time left at that rate."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the running job (Esc)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self._job, self._queued, self._since, self._unit, self._rate = "", 0, 0.0, "", ""
        self._first: tuple[float, int] | None = None
        self._ticks = QTimer(self, interval=1000)
        self._ticks.timeout.connect(self._show_text)
        self.clear()

    def show_job(self, text: str, cancellable: bool, queued: int = 0, unit: str = "") -> None:
        """A job started (or the queue behind it changed): busy bar until ``set_progress`` says more."""
        if text != self._job or not self._ticks.isActive():
            self._job, self._since, self._unit = text, time.monotonic(), unit
            self._first = None  # (time, done) of the first progress report
            self._rate = ""
            self._ticks.start()
            self.bar.setRange(0, 0)
        self._queued = queued
        self._show_text()
        self.bar.show()
        self.cancel_button.setVisible(cancellable)
        self.show()

    def _show_text(self) -> None:
        seconds = int(time.monotonic() - self._since)
        elapsed = f" {seconds} s" if seconds >= 1 else ""
        queued = f" (+{self._queued} queued)" if self._queued else ""
        self.text.setText(f"{self._job}…{elapsed}{self._rate}{queued}")

    def set_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        self.bar.setFormat(f"{done}/{total}")
        if self._unit:
            self._rate = self._rate_text(done, total)
            self._show_text()

    def _rate_text(self, done: int, total: int) -> str:
        """`` · 1.4 frames/s · 20 s left`` from the reports since the first one."""
        now = time.monotonic()
        if self._first is None or done < self._first[1]:
            self._first = (now, done)
            return ""
        seconds, count = now - self._first[0], done - self._first[1]
        if count <= 0 or seconds <= 0:
            return ""
        rate = count / seconds
        left = (total - done) / rate
        left_text = f"{left:.0f} s" if left < 90 else f"{left / 60:.0f} min"
        return f" · {rate:.1f} {self._unit}/s · {left_text} left"

    def clear(self) -> None:
        self._ticks.stop()
        self._job = ""
        self.text.clear()
        self.bar.hide()
        self.cancel_button.hide()
