"""Status-bar widgets: what slow work is running (with progress and Cancel), and the model."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class JobStatus(QWidget):
    """``Propagating [=====    ] 12/40 [Cancel]``; hidden while the worker is idle."""

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
        self.clear()

    def show_job(self, text: str, cancellable: bool, queued: int = 0) -> None:
        """A job started: busy bar until ``set_progress`` says more."""
        self.text.setText(f"{text}…" + (f" (+{queued} queued)" if queued else ""))
        self.bar.setRange(0, 0)
        self.bar.show()
        self.cancel_button.setVisible(cancellable)
        self.show()

    def set_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        self.bar.setFormat(f"{done}/{total}")

    def clear(self) -> None:
        self.text.clear()
        self.bar.hide()
        self.cancel_button.hide()
