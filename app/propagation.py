"""Propagation runs of the current mask through the clip (owned by the controller): which
frames, the job, and its frames turned into proposed masks, one undo step per run."""

from __future__ import annotations

import itertools
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from app.display import plural
from app.jobs import Job
from app.state import AnnotationState, FrameMask, Status
from app.workers import PropagatedFrame, PropagateJob, PropagationSummary
from evosam.errors import EvoSamError
from evosam.learning import Refiner
from evosam.propagate import frame_order
from evosam.tracking import DEFAULT_TRACKER
from evosam.tracking.keyframes import KeyframeConfig
from evosam.tracking.video import KEYFRAMES


class PropagationHost(Protocol):
    """What propagation needs from the controller."""

    state: AnnotationState | None
    label: str

    @property
    def frame(self) -> int: ...

    def current_mask(self) -> FrameMask | None: ...

    def refiner_for(self, label: str) -> Refiner | None: ...

    def proposal_source(self, label: str | None = None) -> str: ...

    def submit(self, job: Job, worker: object = None, urgent: bool = False) -> Job: ...

    def apply(self, frame: int, label: str, value: FrameMask | None, text: str, merge_key: object = None) -> None: ...


class Propagation(QObject):
    """``finished(PropagationSummary)`` after a run; ``message(text, ms)``; ``failed(exception)``;
    ``reached(frame)`` as each frame's proposal is stored (the view may follow)."""

    finished = Signal(object)
    reached = Signal(int)
    message = Signal(str, int)
    failed = Signal(object)

    def __init__(self, host: PropagationHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.job: PropagateJob | None = None  # the run under way, if any
        self.keyframes: KeyframeConfig | None = KEYFRAMES  # the next runs' mode (None: every frame); see set_fast
        self.tracker = DEFAULT_TRACKER  # the next runs' tracker; see set_redetect
        self._runs = itertools.count(1)

    def set_fast(self, on: bool) -> None:
        """Later runs encode keyframes only (``KEYFRAMES``, as ``--keyframes on``) or every frame."""
        self.keyframes = KEYFRAMES if on else None

    def set_redetect(self, on: bool) -> None:
        """Later runs track with ``sam-redetect`` (an appearance memory finds the object again
        after a jump, and says where it is lost) or with the default ``sam-flow``."""
        self.tracker = "sam-redetect" if on else DEFAULT_TRACKER

    @property
    def running(self) -> bool:
        return self.job is not None

    def drop(self) -> None:
        """A new clip (its jobs are cancelled) or the run's job finished: no run is under way."""
        self.job = None

    def start(self, backward: bool = False) -> PropagateJob | None:
        """Carry the current mask to the clip's start or end in the background."""
        h = self.host
        if h.state is None:
            return None
        if self.job is not None:
            self.message.emit("A propagation is already running (Esc cancels it).", 4000)
            return None
        old = h.current_mask()
        if old is None or old.status == Status.REJECTED or not old.mask.any():
            self.message.emit("Nothing to propagate: draw and check a mask on this frame first.", 4000)
            return None
        frames = self._frames(backward)
        if frames is None:
            return None
        job = PropagateJob(
            h.label,
            frames,
            old.mask,
            refine=h.refiner_for(h.label),
            run=next(self._runs),
            keyframes=self.keyframes,
            tracker=self.tracker,
        )
        job.frame_done.connect(self._on_frame)
        job.result.connect(self._on_done)
        self.job = job
        return h.submit(job)

    def _frames(self, backward: bool) -> range | None:
        """From the current frame up to the clip's end (start), stopping before the next
        confirmed mask of the label: the user's own answers are anchors, not targets."""
        h = self.host
        start, count = h.frame, h.state.frame_count
        confirmed = [f for f, e in h.state.entries(h.label).items() if e.status == Status.CONFIRMED]
        ahead = [f for f in confirmed if (f < start if backward else f > start)]
        end = None
        if ahead:
            end = max(ahead) + 1 if backward else min(ahead) - 1
        try:
            frames = frame_order(start, end, backward, count)
        except EvoSamError as exc:
            self.failed.emit(exc)
            return None
        if not frames:
            where = "a confirmed frame" if ahead else "the clip's " + ("start" if backward else "end")
            self.message.emit(f"Nothing to propagate into: {where} is next.", 4000)
            return None
        return frames

    def _on_frame(self, res: PropagatedFrame) -> None:
        h, job = self.host, self.job
        if job is None or h.state is None or res.run != job.run_id:
            return  # a run for another clip, cancelled
        existing = h.state.entry(res.index, res.label)
        if existing is not None and (existing.status != Status.PROPOSED or existing.edited):
            return  # never overwrite what the user confirmed, rejected or painted
        value = FrameMask(res.mask, Status.PROPOSED, res.iou, res.flags, source=h.proposal_source(res.label))
        h.apply(res.index, res.label, value, "Propagation", merge_key=("propagation", res.run))
        self.reached.emit(res.index)

    def _on_done(self, summary: PropagationSummary) -> None:
        if self.job is not None and self.job.run_id == summary.run:
            self.job = None  # over before anyone hears it is: a P right after ``finished`` starts a new run
        verb = "cancelled after" if summary.cancelled else "done:"
        flagged = f", {summary.flagged} flagged for review" if summary.flagged else ""
        self.message.emit(f"Propagation {verb} {plural(summary.frames_done, 'frame')}{flagged}.", 8000)
        self.finished.emit(summary)
