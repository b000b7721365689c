"""The learning dock: how much better the head makes the proposals, and its controls.

The plot (pyqtgraph) shows, for every confirmation in order, the Dice against the confirmed
mask of the proposal SAM alone would have made and of SAM + head's, both measured before
that frame was taught (prequential), with their running means.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGridLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from evosam.head.head import ALL_PROFILES, AUTO_PROFILE
from evosam.learning import TeachRecord

SAM_PEN = pg.mkPen((150, 150, 150), width=1)
HEAD_PEN = pg.mkPen((0, 170, 255), width=2)
RUNNING = 10  # running mean over this many confirmations


def running_mean(values: list[float], window: int = RUNNING) -> np.ndarray:
    """Mean of each value and up to ``window - 1`` before it."""
    v = np.asarray(values, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(v)])
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def add_dock(window: QMainWindow, title: str, name: str, widget: QWidget) -> QDockWidget:
    """Put ``widget`` in a fixed dock on the window's right side."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
    dock.setWidget(widget)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return dock


class LearningPanel(QWidget):
    """Signals carry the user's requests; the window turns them into head jobs."""

    teach_into_selected = Signal(str)
    predict_with_selected = Signal(str)
    new_profile_requested = Signal()
    unteach_last_requested = Signal()
    reset_requested = Signal()
    save_requested = Signal()
    load_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[TeachRecord] = []
        self.taught = 0
        self._profiles_text = "none yet"
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("learning_plot")
        self.plot.setMinimumHeight(160)
        self.plot.setYRange(0, 1.25)  # room above 1.0 for the legend
        self.plot.getAxis("left").setTicks([[(v / 5, f"{v / 5:.1f}") for v in range(6)]])
        self.plot.setLabel("left", "Dice of the proposal")
        self.plot.setLabel("bottom", "confirmation")
        self.plot.showGrid(y=True, alpha=0.3)
        self.plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.sam_curve = self.plot.plot([], [], pen=SAM_PEN, symbol="o", symbolSize=4, symbolBrush=(150, 150, 150),
                                        name="SAM alone")
        self.head_curve = self.plot.plot([], [], pen=HEAD_PEN, symbol="o", symbolSize=5, symbolBrush=(0, 170, 255),
                                         name="SAM + head")
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.teach_into = QComboBox(self)
        self.teach_into.setToolTip("The task profile that new confirmations teach")
        self.predict_with = QComboBox(self)
        self.predict_with.setToolTip("What proposals use: all profiles (joint), the nearest profile per frame, or one")
        self.buttons = {name: QPushButton(text, self) for name, text in (
            ("new", "New profile…"), ("unteach", "Un-teach last"), ("reset", "Reset"),
            ("save", "Save head…"), ("load", "Load head…"))}
        self._layout()
        self._connect()
        self._redraw()
        self.set_state({}, "default", ALL_PROFILES, 0)

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Teach into", self.teach_into)
        form.addRow("Propose with", self.predict_with)
        grid = QGridLayout()
        for i, name in enumerate(("new", "unteach", "reset", "save", "load")):
            grid.addWidget(self.buttons[name], i // 2, i % 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addLayout(grid)

    def _connect(self) -> None:
        self.teach_into.activated.connect(lambda i: self.teach_into_selected.emit(self.teach_into.itemText(i)))
        self.predict_with.activated.connect(lambda i: self.predict_with_selected.emit(self.predict_with.itemData(i)))
        for name, signal in (("new", self.new_profile_requested), ("unteach", self.unteach_last_requested),
                             ("reset", self.reset_requested), ("save", self.save_requested),
                             ("load", self.load_requested)):
            self.buttons[name].clicked.connect(signal)

    def set_state(self, profiles: dict[str, int], teach_into: str, predict_with: str, taught: int) -> None:
        """Show the head's profiles (name -> frames), the selections and the taught count."""
        names = list(profiles) + ([teach_into] if teach_into not in profiles else [])
        with QSignalBlocker(self.teach_into):
            self.teach_into.clear()
            for name in names:
                self.teach_into.addItem(name)
            self.teach_into.setCurrentText(teach_into)
        with QSignalBlocker(self.predict_with):
            self.predict_with.clear()
            self.predict_with.addItem("all profiles", ALL_PROFILES)
            self.predict_with.addItem("auto (nearest profile)", AUTO_PROFILE)
            for name in profiles:
                self.predict_with.addItem(name, name)
            self.predict_with.setCurrentIndex(max(0, self.predict_with.findData(predict_with)))
        self.taught = taught
        self.buttons["unteach"].setEnabled(taught > 0)
        self.buttons["reset"].setEnabled(taught > 0)
        self.buttons["save"].setEnabled(taught > 0)
        self._show_summary(profiles)

    def add_record(self, record: TeachRecord) -> None:
        self.records.append(record)
        self._redraw()

    def clear_records(self) -> None:
        self.records = []
        self._redraw()

    def _redraw(self) -> None:
        x = np.arange(1, len(self.records) + 1)
        self.sam_curve.setData(x, [r.dice_sam for r in self.records])
        self.head_curve.setData(x, [r.dice_head for r in self.records])
        self.plot.setXRange(0.5, max(10, len(self.records)) + 0.5)  # whole confirmations, never 0.2 of one
        self._show_summary(None)

    def _show_summary(self, profiles: dict[str, int] | None) -> None:
        if profiles is not None:
            self._profiles_text = ", ".join(f"{n} {c}" for n, c in profiles.items()) or "none yet"
        lines = [f"<b>{self.taught}</b> frames taught (profiles: {self._profiles_text})"]
        if self.records:
            sam = running_mean([r.dice_sam for r in self.records])[-1]
            head = running_mean([r.dice_head for r in self.records])[-1]
            last = self.records[-1]
            n = min(RUNNING, len(self.records))
            lines.append(f"Last {n} proposals: SAM {sam:.2f} → with head <b>{head:.2f}</b>")
            lines.append(f"Last teach: {last.teach_ms:.0f} ms")
        else:
            lines.append("Confirm masks (Enter) to teach the head.")
        self.summary.setText("<br>".join(lines))
