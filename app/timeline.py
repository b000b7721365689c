"""A strip under the frame: one mark per annotated frame, the current frame, click to seek."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

# Mark colours by kind: confirmed and rejected masks, and a proposal's review level
# (``evosam.review``: confident, unsure, lost: not found, flagged or very unsure).
MARK_COLORS: dict[str, QColor] = {
    "confirmed": QColor(60, 200, 90),
    "confident": QColor(90, 160, 235),
    "unsure": QColor(240, 180, 40),
    "lost": QColor(230, 60, 60),
    "rejected": QColor(120, 120, 120),
}
MARK_TIP = (
    "Frames: green confirmed; proposals blue confident, amber unsure, red lost or flagged (look there first: "
    "N jumps to the least sure); grey rejected. Click to seek."
)


def format_time(seconds: float) -> str:
    """``m:ss.cc``."""
    minutes, sec = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{sec:05.2f}"


class TimelineBar(QWidget):
    """The painted strip. ``seek_requested(frame)`` on click or drag."""

    seek_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame_count = 1
        self.current = 0
        self.marks: dict[int, str] = {}
        self.setMinimumHeight(28)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(MARK_TIP)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(400, 28)

    def frame_at(self, x: float) -> int:
        width = max(1, self.width())
        return min(self.frame_count - 1, max(0, int(x / width * self.frame_count)))

    def _frame_rect(self, frame: int) -> QRectF:
        w = self.width() / self.frame_count
        return QRectF(frame * w, 0, max(w, 2.0), self.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(45, 45, 48))
        for frame, kind in self.marks.items():
            r = self._frame_rect(frame)
            p.fillRect(r.adjusted(0, 6, 0, -6), MARK_COLORS[kind])
        cur = self._frame_rect(self.current)
        p.setPen(QPen(QColor(255, 255, 255), 2))
        x = cur.center().x()
        p.drawLine(int(x), 0, int(x), self.height())
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.seek_requested.emit(self.frame_at(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.seek_requested.emit(self.frame_at(event.position().x()))


class Timeline(QWidget):
    """The bar plus a readout ``frame 12 (0–299) · 0:00.48``: frames numbered from 0, as in
    exported file names (``000012.png``) and on the command line (``--start 12``)."""

    seek_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = TimelineBar(self)
        self.readout = QLabel(self)
        self.readout.setMinimumWidth(190)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.readout)
        self.fps = 25.0
        self.bar.seek_requested.connect(self.seek_requested)

    def set_clip(self, frame_count: int, fps: float) -> None:
        self.bar.frame_count = max(1, int(frame_count))
        self.fps = fps if fps > 0 else 25.0
        self.bar.marks = {}
        self.set_current(0)

    def set_current(self, frame: int) -> None:
        self.bar.current = frame
        n = self.bar.frame_count
        self.readout.setText(f"frame {frame} (0–{n - 1}) · {format_time(frame / self.fps)}")
        self.bar.update()

    def set_mark(self, frame: int, kind: str | None) -> None:
        """Mark one frame with a ``MARK_COLORS`` kind, or clear it (None)."""
        if kind is None:
            self.bar.marks.pop(frame, None)
        else:
            self.bar.marks[frame] = kind
        self.bar.update()

    def set_marks(self, marks: dict[int, str]) -> None:
        self.bar.marks = dict(marks)
        self.bar.update()
