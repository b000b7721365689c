"""Status-bar widgets: what slow work is running (with progress and Cancel), and the model."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class JobStatus(QWidget):
    """``Propagating… 12 s [=====    ] 12/40 [Cancel]``; hidden while the worker is idle. The
    seconds a job has run tick from the first one on (a first start's model conversion takes
    minutes on a loaded machine: the counter shows it is working, without a promise)."""

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
        self._job, self._queued, self._since = "", 0, 0.0
        self._ticks = QTimer(self, interval=1000)
        self._ticks.timeout.connect(self._show_text)
        self.clear()

    def show_job(self, text: str, cancellable: bool, queued: int = 0) -> None:
        """A job started (or the queue behind it changed): busy bar until ``set_progress`` says more."""
        if text != self._job or not self._ticks.isActive():
            self._job, self._since = text, time.monotonic()
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
        self.text.setText(f"{self._job}…{elapsed}" + (f" (+{self._queued} queued)" if self._queued else ""))

    def set_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        self.bar.setFormat(f"{done}/{total}")

    def clear(self) -> None:
        self._ticks.stop()
        self._job = ""
        self.text.clear()
        self.bar.hide()
        self.cancel_button.hide()
