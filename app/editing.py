"""The annotation half of the main window: prompts, brush edits, confirm/reject, undo,
propagation, and keeping the canvas, timeline and status line in step with the state.

A mixin of ``MainWindow`` (which owns the widgets, the worker and the state); kept apart
so that neither file grows past a screenful of concerns.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from app.canvas import Tool
from app.state import Change, FrameMask, PackedMask, Status, paint_stroke
from app.workers import PointJob, PredictJob, PredictResult, PropagateJob, PropagationSummary
from evosam.annotations import provenance
from evosam.errors import EvoSamError
from evosam.propagate import FrameResult, frame_order

if TYPE_CHECKING:
    from app.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object

Box = tuple[float, float, float, float]
_merge_ids = itertools.count(1)
DRAFT_MESSAGE = "SAM's mask; the head is refining it…"  # status while a box's draft is on screen


class EditingMixin(_Base):
    # -- tools and labels --------------------------------------------------------------
    def set_tool(self, tool: Tool) -> None:
        self.canvas.set_tool(tool)
        self.act.all[tool.value].setChecked(True)

    def _on_label_selected(self, name: str) -> None:
        self.label = name
        self.teaching.set_label(name)  # proposals and the learning dock follow the label
        self._refresh_marks()
        self._refresh_overlay()

    def _on_label_added(self, name: str) -> None:
        if self.state is None:
            return
        try:
            self.state.add_label(name)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.labels.set_labels(self.state.labels, name)
        self._on_label_selected(name)

    def proposal_source(self, label: str | None = None) -> str:
        """Provenance of a model proposal for ``label`` (default: the current one) now: e.g.
        ``litemedsam+head:12`` while its head refines SAM's answers (see ``evosam.annotations``)."""
        label = self.label if label is None else label
        refined = self.teaching.refiner_for(label) is not None
        return provenance(self.model_name, self.teaching.report(label).taught_frames if refined else 0)

    def current_mask(self) -> FrameMask | None:
        """The current label's mask on the current frame."""
        return None if self.state is None else self.state.get(self.player.current, self.label)

    # -- prompts and hand edits ---------------------------------------------------------
    def prompt_box(self, box: Box) -> PredictJob | None:
        """Ask the worker for a mask inside ``box`` (x0, y0, x1, y1 frame pixels) on the current frame."""
        if self.state is None:
            return None
        frame = self.player.current
        self.boxes[(frame, self.label)] = box
        self.points.pop((frame, self.label), None)  # a new box starts a new prompt
        self.canvas.show_box(box)
        self.canvas.show_points([])
        job = PredictJob(frame, self.label, box, self.teaching.refiner_for(self.label))
        job.draft.connect(self._on_draft)
        job.result.connect(self._on_prediction)
        job.error.connect(self._on_prediction_failed)
        return self.submit(job, urgent=True)

    def _on_draft(self, res: PredictResult) -> None:
        """SAM's mask for a box, shown while the head refines it (the state is not changed:
        the refined mask, or on failure the old overlay, replaces it)."""
        if self.state is None or not self.is_current(self.sender()):
            return
        if res.frame == self.player.current and res.label == self.label:
            self.canvas.set_mask(res.mask, self.state.label(res.label).color)
            self.statusBar().showMessage(DRAFT_MESSAGE, 2000)
            self.draft_shown.emit(res)

    def prompt_point(self, x: float, y: float, positive: bool) -> PointJob | None:
        """Add a positive (negative) point at (x, y) frame pixels and refine the current mask.
        Models trained with points see all of this frame's points with the box; box-only
        models (LiteMedSAM) apply the new point locally to the current mask."""
        if self.state is None:
            return None
        key = (self.player.current, self.label)
        points = self.points.setdefault(key, [])
        points.append((x, y, positive))
        self.canvas.show_points(points)
        current = self.current_mask()
        mask = None if current is None or current.status == Status.REJECTED else current.mask
        if not positive and mask is None:
            points.pop()
            self.canvas.show_points(points)
            self.statusBar().showMessage("A negative point needs a mask to remove from.", 4000)
            return None
        given = points if self.point_prompts else points[-1:]
        job = PointJob(key[0], self.label, self.boxes.get(key), given, None if self.point_prompts else mask)
        job.result.connect(self._on_prediction)
        return self.submit(job, urgent=True)

    def _on_prediction(self, res: PredictResult) -> None:
        if self.state is None or not self.is_current(self.sender()):
            return  # the clip changed while the job ran
        if self.statusBar().currentMessage() == DRAFT_MESSAGE:
            self.statusBar().clearMessage()  # refined: the draft's note no longer holds
        if not res.mask.any():
            self.statusBar().showMessage("The model found nothing in that box; try a tighter box.", 5000)
        iou = None if np.isnan(res.iou) else res.iou
        text = "Box prompt" if isinstance(self.sender(), PredictJob) else "Point"
        source = "user+" + self.model_name if text == "Point" else self.proposal_source(res.label)
        self._apply(res.frame, res.label, FrameMask(res.mask, Status.PROPOSED, iou, source=source), text)

    def _on_prediction_failed(self, _message: str) -> None:
        """The error itself is shown by the window; forget the box so it does not look pending."""
        job = self.sender()
        if isinstance(job, PredictJob) and self.is_current(job) and self.boxes.get((job.frame, job.label)) == job.box:
            del self.boxes[(job.frame, job.label)]
            if job.frame == self.player.current:
                self.canvas.show_box(None)
                self._refresh_overlay()  # a draft may be showing

    def _on_stroke_drawn(self, points: list[tuple[float, float]], radius: float, paint: bool) -> None:
        if self.state is None:
            return
        old = self.current_mask()
        new = paint_stroke(None if old is None else old.mask, self.state.size, points, radius, paint)
        if old is None and not new.any():
            return
        value = FrameMask(new, edited=True, source="user") if old is None else old.with_mask(new)
        self._apply(self.player.current, self.label, value, "Brush" if paint else "Eraser")

    def confirm(self) -> None:
        self._set_status(Status.CONFIRMED)

    def reject(self) -> None:
        self._set_status(Status.REJECTED)

    def _set_status(self, status: Status) -> None:
        old = self.current_mask()
        if old is None:
            self.statusBar().showMessage("No mask on this frame: draw a box first (B).", 4000)
            return
        if old.status != status:
            self._apply(self.player.current, self.label, old.with_status(status), status.value.capitalize())

    def clear_mask(self) -> None:
        if self.current_mask() is not None:
            self._apply(self.player.current, self.label, None, "Clear mask")

    def undo(self) -> None:
        if self.state is not None:
            undone = self.state.undo()  # the edit's changes as made: reverse them to say what happened now
            self._after_changes([Change(ch.key, ch.after, ch.before) for ch in reversed(undone)])

    def redo(self) -> None:
        if self.state is not None:
            self._after_changes(self.state.redo())

    def _apply(self, frame: int, label: str, value: FrameMask | None, text: str, merge_key: object = None) -> None:
        if self.state is not None:
            self._after_changes([self.state.apply(frame, label, value, text, merge_key)])

    def _after_changes(self, changes: Iterable[Change]) -> None:
        changes = list(changes)
        self.teaching.on_changes(changes)
        frames = sorted({ch.key[0] for ch in changes})
        for f in frames:
            self.timeline.set_mark(f, self._mark_kind(f))
        if self.player.current in frames:
            self._refresh_overlay()
        self.act.undo.setEnabled(self.state is not None and self.state.can_undo)
        self.act.redo.setEnabled(self.state is not None and self.state.can_redo)
        if frames:
            self.annotation_changed.emit(frames)

    # -- propagation --------------------------------------------------------------------
    def propagate(self, backward: bool = False) -> PropagateJob | None:
        """Carry the current mask to the clip's start or end in the background."""
        if self.state is None:
            return None
        if self._propagation is not None:
            self.statusBar().showMessage("A propagation is already running (Esc cancels it).", 4000)
            return None
        old = self.current_mask()
        if old is None or old.status == Status.REJECTED or not old.mask.any():
            self.statusBar().showMessage("Nothing to propagate: draw and check a mask on this frame first.", 4000)
            return None
        frames = self._frames_to_propagate(backward)
        if frames is None:
            return None
        job = PropagateJob(self.label, frames, old.mask, refine=self.teaching.refiner_for(self.label))
        self._propagation_key = ("propagation", next(_merge_ids))
        job.frame_done.connect(self._on_propagated_frame)
        job.result.connect(self._on_propagation_done)
        self._propagation = job
        return self.submit(job)

    def _frames_to_propagate(self, backward: bool) -> range | None:
        """From the current frame up to the clip's end (start), stopping before the next
        confirmed mask of the label: the user's own answers are anchors, not targets."""
        start, count = self.player.current, self.state.frame_count
        confirmed = [f for f, e in self.state.entries(self.label).items() if e.status == Status.CONFIRMED]
        ahead = [f for f in confirmed if (f < start if backward else f > start)]
        end = None
        if ahead:
            end = max(ahead) + 1 if backward else min(ahead) - 1
        try:
            frames = frame_order(start, end, backward, count)
        except EvoSamError as exc:
            self.show_error(str(exc))
            return None
        if not frames:
            where = "a confirmed frame" if ahead else "the clip's " + ("start" if backward else "end")
            self.statusBar().showMessage(f"Nothing to propagate into: {where} is next.", 4000)
            return None
        return frames

    def _on_propagated_frame(self, res: FrameResult) -> None:
        job = self._propagation
        if job is None or self.state is None or self.sender() is not job:
            return  # a run for another clip, cancelled
        existing = self.state.entry(res.index, job.label)
        if existing is not None and (existing.status != Status.PROPOSED or existing.edited):
            return  # never overwrite what the user confirmed, rejected or painted
        value = FrameMask(res.mask, Status.PROPOSED, res.iou, res.flags, source=self.proposal_source(job.label))
        self._apply(res.index, job.label, value, "Propagation", merge_key=self._propagation_key)

    def _on_propagation_done(self, summary: PropagationSummary) -> None:
        verb = "cancelled after" if summary.cancelled else "done:"
        flagged = f", {summary.flagged} flagged for review" if summary.flagged else ""
        self.statusBar().showMessage(f"Propagation {verb} {summary.frames_done} frames{flagged}.", 8000)
        self.propagation_finished.emit(summary)

    # -- display ------------------------------------------------------------------------
    def _mark_kind(self, frame: int) -> str | None:
        return mark_kind(None if self.state is None else self.state.entry(frame, self.label))

    def _refresh_marks(self) -> None:
        if self.state is not None:
            self.timeline.set_marks({f: mark_kind(e) for f, e in self.state.entries(self.label).items()})

    def _refresh_overlay(self) -> None:
        frame = self.player.current
        fm = self.current_mask()
        color = self.state.label(self.label).color if self.state is not None else (0, 200, 255)
        rejected = fm is not None and fm.status == Status.REJECTED
        self.canvas.set_mask(None if fm is None else fm.mask, color, faded=rejected)
        self.canvas.show_box(self.boxes.get((frame, self.label)) if fm is not None and not rejected else None)
        self.canvas.set_other_masks(self._other_masks(frame))
        self.canvas.show_points(self.points.get((frame, self.label), []) if fm is not None else [])
        self.mask_info.setText(describe_mask(fm, self.label))

    def _other_masks(self, frame: int) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
        """The other labels' masks on ``frame`` (not rejected ones), with their colours."""
        out = []
        for lab in [] if self.state is None else self.state.labels:
            entry = self.state.entry(frame, lab.name) if lab.name != self.label else None
            if entry is not None and entry.status != Status.REJECTED:
                out.append((self.state.get(frame, lab.name).mask, lab.color))
        return out


def mark_kind(entry: PackedMask | None) -> str | None:
    """Timeline mark of a stored mask: proposed, flagged (a distrusted proposal), confirmed, rejected."""
    if entry is None:
        return None
    if entry.status == Status.PROPOSED and entry.flagged:
        return "flagged"
    return entry.status.value


def describe_mask(fm: FrameMask | None, label: str) -> str:
    """One status-bar line about a mask, e.g. ``vessel: proposed · IoU 0.91 · 1234 px``."""
    if fm is None:
        return f"{label}: no mask — drag a box (B) or paint (D)"
    parts = [f"{label}: {fm.status.value}"]
    if fm.iou is not None:
        parts.append(f"IoU {fm.iou:.2f}")
    parts.append(f"{int(np.count_nonzero(fm.mask))} px")
    if fm.flags:
        parts.append("flagged: " + ", ".join(fm.flags))
    return " · ".join(parts)

