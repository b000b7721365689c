"""The learning dock: the current label's head, how it does on frames it did not see, its controls.

The plot (pyqtgraph) shows, for every confirmation of the current label in teaching order,
its leave-out Dice: the Dice against the confirmed mask of SAM alone and of SAM + head,
where the head is the label's head taught without that frame and its neighbours in time
(``LabelReport.curve``). A confirmation not scored as unseen (nothing else taught apart
from it in time) has SAM's point only; one not scored at all (older than the scored
window) has none. Below: which proposer the label uses and why (away from its taught
frames, and next to them where that differs), and the controls.
"""

from __future__ import annotations

from html import escape

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

from app.display import plural
from evosam.head.evidence import BLEND, HEAD, Choice
from evosam.head.head import ALL_PROFILES, AUTO_PROFILE
from evosam.learning import SAM_ONLY, LabelReport

SAM_PEN = pg.mkPen((150, 150, 150), width=1)
HEAD_PEN = pg.mkPen((0, 170, 255), width=2)
PROPOSERS = {HEAD: "SAM + head", BLEND: "a blend of SAM and head"}  # anything else: SAM alone


def add_dock(window: QMainWindow, title: str, name: str, widget: QWidget) -> QDockWidget:
    """Put ``widget`` in a fixed dock on the window's right side."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
    dock.setWidget(widget)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return dock


def curve_points(report: LabelReport) -> tuple[list[int], list[float], list[int], list[float]]:
    """(x, SAM's leave-out Dice) and (x, SAM + head's) of the report's confirmations, x
    counting them from 1 in teaching order; unscored points are left out."""
    sx, sy, hx, hy = [], [], [], []
    for i, (_key, score) in enumerate(report.curve, 1):
        if score is None:
            continue
        sx.append(i)
        sy.append(score.sam)
        if score.head is not None:
            hx.append(i)
            hy.append(score.head)
    return sx, sy, hx, hy


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
        self.report: LabelReport | None = None  # the label shown
        self.taught = 0  # frames in every label's head
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("learning_plot")
        self.plot.setMinimumHeight(160)
        self.plot.setYRange(0, 1.25)  # room above 1.0 for the legend
        self.plot.getAxis("left").setTicks([[(v / 5, f"{v / 5:.1f}") for v in range(6)]])
        self.plot.setLabel("left", "Dice on unseen frames")
        self.plot.setLabel("bottom", "confirmation")
        self.plot.showGrid(y=True, alpha=0.3)
        self.plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.sam_curve = self.plot.plot(
            [], [], pen=SAM_PEN, symbol="o", symbolSize=4, symbolBrush=(150, 150, 150), name="SAM alone"
        )
        self.head_curve = self.plot.plot(
            [], [], pen=HEAD_PEN, symbol="o", symbolSize=5, symbolBrush=(0, 170, 255), name="SAM + head"
        )
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.teach_into = QComboBox(self)
        self.teach_into.setToolTip("The task profile that new confirmations teach (within their label)")
        self.predict_with = QComboBox(self)
        self.predict_with.setToolTip(
            "What proposals use: all profiles (joint), the nearest profile per frame, "
            "one profile, or SAM only (the head still learns)"
        )
        self.buttons = {
            name: QPushButton(text, self)
            for name, text in (
                ("new", "New profile…"),
                ("unteach", "Un-teach last"),
                ("reset", "Reset label"),
                ("save", "Save head…"),
                ("load", "Load head…"),
            )
        }
        self._layout()
        self._connect()
        self.set_state([], "default", ALL_PROFILES, 0)
        self.show_report(LabelReport("", {}, Choice(), []))

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
        for name, signal in (
            ("new", self.new_profile_requested),
            ("unteach", self.unteach_last_requested),
            ("reset", self.reset_requested),
            ("save", self.save_requested),
            ("load", self.load_requested),
        ):
            self.buttons[name].clicked.connect(signal)

    def set_state(self, profiles: list[str], teach_into: str, predict_with: str, taught: int) -> None:
        """Show the profile names (of every label), the selections, and the frames taught over all labels."""
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
            self.predict_with.addItem("SAM only", SAM_ONLY)
            for name in profiles:
                self.predict_with.addItem(name, name)
            self.predict_with.setCurrentIndex(max(0, self.predict_with.findData(predict_with)))
        self.taught = taught
        self.buttons["save"].setEnabled(taught > 0)

    def show_report(self, report: LabelReport, teach_ms: float | None = None) -> None:
        """Show one label's head: its curve, what it proposes with and why, its frames."""
        self.report = report
        sx, sy, hx, hy = curve_points(report)
        self.sam_curve.setData(np.asarray(sx, float), np.asarray(sy, float))
        self.head_curve.setData(np.asarray(hx, float), np.asarray(hy, float))
        self.plot.setXRange(0.5, max(10, len(report.curve)) + 0.5)  # whole confirmations, never 0.2 of one
        self.plot.setLabel("bottom", f"confirmation of {report.label}" if report.label else "confirmation")
        taught = report.taught_frames
        self.buttons["unteach"].setEnabled(bool(report.curve))
        self.buttons["reset"].setEnabled(taught > 0)
        self.summary.setText("<br>".join(summary_lines(report, teach_ms)))


def proposer(choice: Choice) -> str:
    """The proposer's name in the dock."""
    return PROPOSERS.get(choice.proposer, "SAM alone")


def summary_lines(report: LabelReport, teach_ms: float | None) -> list[str]:
    """The dock's text for one label's report (rich text)."""
    taught, choice = report.taught_frames, report.choice
    label = f"<b>{escape(report.label)}</b>"
    if not taught:
        return [f"{label}: no frame taught yet.", "Confirm masks (Enter) to teach its head."]
    profiles = ", ".join(f"{escape(n)} {c}" for n, c in report.profiles.items())
    lines = [f"{label}: {plural(taught, 'frame')} taught (profiles: {profiles})"]
    near = report.near
    if near.proposer == choice.proposer and near.reason == choice.reason:
        lines.append(f"Proposes with <b>{proposer(choice)}</b>: {escape(choice.reason)}")
    else:
        lines.append(f"Away from its taught frames: <b>{proposer(choice)}</b>: {escape(choice.reason)}")
        lines.append(f"Next to them: <b>{proposer(near)}</b>: {escape(near.reason)}")
    other = report.other
    if other.uses_head:  # on a video it was not taught on (SAM's mask otherwise: not worth a line)
        lines.append(f"On other videos: <b>{proposer(other)}</b>: {escape(other.reason)}")
    _, sy, hx, hy = curve_points(report)
    if hy:
        sam = np.mean([s.sam for _, s in report.curve if s is not None and s.head is not None])
        lines.append(f"On {plural(len(hx), 'unseen frame')}: SAM {sam:.2f} → with head <b>{np.mean(hy):.2f}</b>")
    elif sy:
        lines.append(f"SAM alone on {plural(len(sy), 'frame')}: {np.mean(sy):.2f} (the head is not scored yet)")
    if teach_ms is not None:
        lines.append(f"Last teach: {teach_ms:.0f} ms")
    return lines
