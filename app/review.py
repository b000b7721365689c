"""Review at the speed of the eye: jump to the least sure proposal, accept a run of proposals.

Both act on the current label's unconfirmed proposals and their review confidence
(``evosam.review``: SAM's predicted IoU, halved when flagged, 0 when lost). Accepting a run
confirms many frames as one undo step; like single confirmations they teach the head.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from app.display import plural
from app.state import AnnotationState, Status
from evosam.review import CONFIDENT, next_to_review, review_confidence, review_order


def proposal_confidences(state: AnnotationState | None, label: str) -> dict[int, float]:
    """Frame -> review confidence of ``label``'s proposals (not confirmed, not rejected)."""
    if state is None:
        return {}
    return {
        frame: review_confidence(entry.iou, entry.flags)
        for frame, entry in state.entries(label).items()
        if entry.status == Status.PROPOSED
    }


def next_review_frame(state: AnnotationState | None, label: str, current: int | None) -> tuple[int | None, str]:
    """(frame to show next, status-bar line): the least sure proposal, or the next in the
    queue after ``current`` when it is one of them (None: start at the least sure)."""
    conf = proposal_confidences(state, label)
    frame = next_to_review(conf, current)
    if frame is None:
        return None, f"No proposals of '{label}' left to review."
    rank = review_order(conf).index(frame) + 1
    unsure = sum(c < CONFIDENT for c in conf.values())
    return frame, (
        f"Review {rank} of {len(conf)} (least sure first): frame {frame}, confidence {conf[frame]:.2f}; "
        f"{plural(unsure, 'proposal')} below {CONFIDENT:.1f}. N: next, Enter: confirm."
    )


@dataclass(frozen=True)
class RunChoice:
    """Which proposals to accept: frames ``first..last`` (inclusive) with review confidence
    at least ``min_confidence``."""

    first: int
    last: int
    min_confidence: float


def run_frames(state: AnnotationState | None, label: str, choice: RunChoice) -> list[int]:
    """The frames a ``RunChoice`` accepts, in order."""
    conf = proposal_confidences(state, label)
    return [f for f in sorted(conf) if choice.first <= f <= choice.last and conf[f] >= choice.min_confidence]


def default_run(state: AnnotationState | None, label: str, current: int) -> RunChoice:
    """The contiguous stretch of proposals around ``current`` (else all of them), any confidence."""
    conf = proposal_confidences(state, label)
    if current not in conf:
        return RunChoice(min(conf, default=0), max(conf, default=0), 0.0)
    first = last = current
    while first - 1 in conf:
        first -= 1
    while last + 1 in conf:
        last += 1
    return RunChoice(first, last, 0.0)


class AcceptRunDialog(QDialog):
    """Frames from/to and the lowest confidence to accept; ``choice()`` after ``exec()``."""

    def __init__(self, parent: QWidget | None, frame_count: int, default: RunChoice, label: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Accept proposals of '{label}'")
        self.first, self.last = QSpinBox(self), QSpinBox(self)
        for box, value in ((self.first, default.first), (self.last, default.last)):
            box.setRange(0, max(0, frame_count - 1))
            box.setValue(value)
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(default.min_confidence)
        form = QFormLayout(self)
        form.addRow("From frame", self.first)
        form.addRow("To frame", self.last)
        form.addRow("Confidence at least", self.threshold)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def choice(self) -> RunChoice:
        first, last = sorted((self.first.value(), self.last.value()))
        return RunChoice(first, last, self.threshold.value())
