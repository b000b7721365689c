"""Box and point prompts: the last prompt per (frame, label), the jobs that answer them, and
their answers turned into proposed masks (owned by the controller)."""

from __future__ import annotations

import itertools
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.jobs import Job
from app.state import AnnotationState, FrameMask, Status
from app.workers import PointJob, PredictJob, PredictResult
from evosam.learning import Refiner

Box = tuple[float, float, float, float]
Point = tuple[float, float, bool]  # x, y frame pixels; positive
DRAFT_MESSAGE = "SAM's mask; the head is refining it…"  # status while a box's draft is on screen


class PromptHost(Protocol):
    """What prompts need from the controller."""

    state: AnnotationState | None
    label: str
    point_prompts: bool
    model_name: str

    @property
    def frame(self) -> int: ...

    def current_mask(self) -> FrameMask | None: ...

    def refiner_for(self, label: str) -> Refiner | None: ...

    def proposal_source(self, label: str | None = None) -> str: ...

    def is_current(self, clip: int) -> bool: ...

    def submit(self, job: Job, worker: object = None, urgent: bool = False) -> Job: ...

    def apply(self, frame: int, label: str, value: FrameMask | None, text: str, merge_key: object = None) -> None: ...


class Prompts(QObject):
    """``box_shown(box)``, ``points_shown(points)``: the current frame's prompt as drawn now;
    ``stale()``: the current frame's overlay must be drawn again (a failed box is forgotten);
    ``draft(PredictResult)``: SAM's mask for a box, on screen while the head refines it;
    ``draft_ended()``: the answer came; ``message(text, ms)`` for the status bar."""

    box_shown = Signal(object)
    points_shown = Signal(list)
    stale = Signal()
    draft = Signal(object)
    draft_ended = Signal()
    message = Signal(str, int)

    def __init__(self, host: PromptHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.boxes: dict[tuple[int, str], Box] = {}  # last box prompt per (frame, label), shown with its mask
        self.points: dict[tuple[int, str], list[Point]] = {}  # clicked points per (frame, label)
        self._tickets = itertools.count(1)  # every prompt's number, carried by its answer
        self._dropped: dict[tuple[int, str], int] = {}  # answers up to this ticket are dropped (Clear)

    def clear(self) -> None:
        """A new clip: no prompts yet."""
        self.boxes, self.points = {}, {}

    def box(self, box: Box) -> PredictJob | None:
        """Ask the model worker for a mask inside ``box`` (x0, y0, x1, y1 frame pixels) on the current frame."""
        h = self.host
        if h.state is None:
            return None
        key = (h.frame, h.label)
        self.boxes[key] = box
        self.points.pop(key, None)  # a new box starts a new prompt
        self.box_shown.emit(box)
        self.points_shown.emit([])
        self.message.emit(f"box → label '{h.label}'", 4000)
        job = PredictJob(key[0], h.label, box, h.refiner_for(h.label))
        job.ticket = next(self._tickets)
        job.draft.connect(self._on_draft)
        job.result.connect(self._on_prediction)
        return h.submit(job, urgent=True)

    def point(self, x: float, y: float, positive: bool) -> PointJob | None:
        """Add a positive (negative) point at (x, y) frame pixels and refine the current mask.
        Models trained with points see all of this frame's points with the box; box-only
        models (LiteMedSAM) apply the new point locally to the current mask."""
        h = self.host
        if h.state is None:
            return None
        key = (h.frame, h.label)
        points = self.points.setdefault(key, [])
        points.append((x, y, positive))
        current = h.current_mask()
        mask = None if current is None or current.status == Status.REJECTED else current.mask
        why_not = point_does_nothing(mask, x, y, positive, h.point_prompts)
        if why_not:
            points.pop()
            self.points_shown.emit(list(points))
            self.message.emit(why_not, 5000)
            return None
        self.points_shown.emit(list(points))
        given = points if h.point_prompts else points[-1:]
        job = PointJob(key[0], h.label, self.boxes.get(key), given, None if h.point_prompts else mask)
        job.ticket = next(self._tickets)
        job.result.connect(self._on_prediction)
        return h.submit(job, urgent=True)

    def forget(self, frame: int, label: str) -> bool:
        """Clear: forget the box and points of ``label`` on ``frame`` and drop the answers still
        to come for them; returns whether there was a prompt."""
        key = (frame, label)
        had = self.boxes.pop(key, None) is not None
        had = self.points.pop(key, None) is not None or had
        self._dropped[key] = next(self._tickets)
        if frame == self.host.frame:
            self.box_shown.emit(None)
            self.points_shown.emit([])
            self.stale.emit()  # a draft may be showing
        return had

    def _wanted(self, res: PredictResult) -> bool:
        """Whether an answer still counts: for the clip shown, not cleared since it was asked."""
        h = self.host
        dropped = self._dropped.get((res.frame, res.label), 0)
        return h.state is not None and h.is_current(res.clip) and res.ticket > dropped

    def _on_draft(self, res: PredictResult) -> None:
        """SAM's mask for a box, shown while the head refines it (the state is not changed:
        the refined mask, or on failure the old overlay, replaces it)."""
        h = self.host
        if self._wanted(res) and res.frame == h.frame and res.label == h.label:
            self.draft.emit(res)

    def _on_prediction(self, res: PredictResult) -> None:
        h = self.host
        if not self._wanted(res):
            return  # the clip changed, or the prompt was cleared, while the job ran
        self.draft_ended.emit()  # refined: the draft's note no longer holds
        if not res.mask.any():
            self.message.emit("The model found nothing in that box; try a tighter box.", 5000)
        iou = None if np.isnan(res.iou) else res.iou
        if res.prompt == "point":
            before = h.state.get(res.frame, res.label)
            if before is not None and np.array_equal(before.mask, res.mask):
                self.message.emit(
                    "The point did not change the mask: the model found nothing to add or remove there.", 5000
                )
                return
            text, source = "Point", "user+" + h.model_name
        else:
            text, source = "Box prompt", h.proposal_source(res.label)
        h.apply(res.frame, res.label, FrameMask(res.mask, Status.PROPOSED, iou, source=source), text)

    def forget_failed(self, job: PredictJob) -> None:
        """A box's job failed (the error itself is shown elsewhere): forget the box so it does
        not look pending."""
        key = (job.frame, job.label)
        if self.host.is_current(job.clip) and self.boxes.get(key) == job.box:
            del self.boxes[key]
            if job.frame == self.host.frame:
                self.stale.emit()  # a draft may be showing


def point_does_nothing(mask: np.ndarray | None, x: float, y: float, positive: bool, prompted: bool) -> str:
    """Why a click at (x, y) frame pixels on the bool (H, W) ``mask`` (None: no mask) cannot
    change it, for the status bar; "" when it can. A box-only model (``prompted`` False) acts
    locally (``evosam.points``): a negative point removes the piece of the mask under it, a
    positive one adds a piece where there is none; the pixel is found as it finds it."""
    if mask is None:
        return "" if positive else "A negative point needs a mask to remove from: draw a box (B) first."
    if prompted:
        return ""  # the model sees every point with the box: any point may change its answer
    h, w = mask.shape
    inside = bool(mask[min(h - 1, max(0, int(round(y)))), min(w - 1, max(0, int(round(x))))])
    if not positive and not inside:
        return "The point is already outside the mask: Shift-click on the mask to remove a part of it."
    if positive and inside:
        return "The point is already inside the mask: click outside it to add a part, Shift-click to remove one."
    return ""
