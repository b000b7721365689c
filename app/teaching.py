"""Keeps the learner (one head per label) in step with the user's confirmations, off the GUI thread.

Every change of the annotation state is looked at here: a mask that becomes confirmed (or
a confirmed mask that is edited) is taught to its label's head, one that stops being
confirmed (reject, clear, undo) is un-taught exactly. SAM's part of the teaching runs on
the model worker, the head's on its own worker; results come back as new values (per-label
refiners, reports, a learner copy for saving) that proposals, the dock and saves then use.
A project's learner is taken over when it opens; an older project's head is re-taught from
its confirmed masks. No widgets here: ``app.learning_controls`` shows it in the dock.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QCoreApplication, QObject, Signal

from app.display import plural
from app.jobs import Job, Worker
from app.state import AnnotationState, Change, Status
from app.teaching_jobs import (
    OLDER_PROJECT,
    AdoptHeadJob,
    HeadContext,
    HeadJob,
    HeadUpdate,
    LoadHeadJob,
    NewLearnerJob,
    PreviewHeadJob,
    ProfileJob,
    ResetHeadJob,
    SaveHeadJob,
    TeachInput,
    TeachInputJob,
    TeachJob,
    UnteachJob,
    head_worker,
)
from evosam.head.evidence import Choice
from evosam.learning import SAM_ONLY, HeadRefiner, LabelReport, Refiner


class TeachingHost(Protocol):
    """What teaching needs from the controller: the open clip's state and job submission."""

    @property
    def state(self) -> AnnotationState | None: ...

    def submit(self, job: Job, worker: Worker | None = None, urgent: bool = False) -> Job: ...


def confirmed(entry: object) -> bool:
    return entry is not None and entry.status == Status.CONFIRMED


class Teaching(QObject):
    """``taught(TeachRecord)`` after each teaching (a burst's, all at its end);
    ``head_updated(HeadUpdate)`` after every change; ``adopted(str)`` once a project's head
    state is taken over (or refused and being re-taught from its masks), with the status
    message (empty when there is none); ``shown()`` when what the dock shows changed;
    ``message(text, ms)`` for the status bar."""

    taught = Signal(object)
    head_updated = Signal(object)
    adopted = Signal(str)
    shown = Signal()
    message = Signal(str, int)

    def __init__(self, host: TeachingHost, label: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.worker: Worker[HeadContext] = head_worker(self)  # the one owner of the learner
        self.model_name = ""  # the loaded model's: a learner exists on the head worker once set
        self.label = label  # the label proposals and the dock speak of
        self.video: str = ""  # the open video's key part: 16 hex characters of its fingerprint
        self.latest: HeadUpdate | None = None  # the latest values from the head worker
        self._pending_head: object = None  # a project's head state (HeadFile, Learner) not taken over yet
        self._adopting: int | None = None  # the ticket of the adoption under way
        self._tickets = itertools.count(1)
        self._generation = itertools.count(1)
        self._wanted: dict[Hashable, int] = {}  # key -> generation of its latest teach request
        self._teach_ms: dict[str, float] = {}  # label -> its last teaching's time
        self._preview: dict[str, LabelReport] = {}  # a project's saved reports, until its head is adopted

    # -- what proposals, the dock and saving read ---------------------------------------
    def refiner_for(self, label: str) -> Refiner | None:
        """``label``'s refiner of SAM's answers on frames of the open video now, called as
        ``refine(rgb, prediction, box, frame index)``; None while it proposes SAM's own mask
        everywhere. Next to the label's taught frames of this video it follows the head's
        evidence there (frames left out one by one), elsewhere the evidence at a distance."""
        refine = None if self.latest is None else self.latest.refiners.get(label)
        if isinstance(refine, HeadRefiner):
            refine = refine.on_video(self.video)
        return refine

    def report(self, label: str) -> LabelReport:
        """``label``'s head as last reported (an empty report while it is untaught)."""
        report = None if self.latest is None else self.latest.reports.get(label)
        if self._pending_head is not None and self._preview:
            report = self._preview.get(label, report)  # the project's head, not adopted yet
        if report is None:
            sam_only = self.latest is not None and self.latest.predict_with == SAM_ONLY
            choice = Choice(reason="'Propose with: SAM only' is set") if sam_only else Choice()
            report = LabelReport(label, {}, choice, [])
        return report

    def teach_ms(self, label: str) -> float | None:
        """``label``'s last teaching's time (ms), None before one."""
        return self._teach_ms.get(label)

    @property
    def taught_keys(self) -> frozenset[Hashable]:
        return frozenset() if self.latest is None else self.latest.taught

    def head_for_saving(self) -> object:
        """What a project save stores: the learner (a copy), or the project's head state not
        taken over yet; None when nothing is taught."""
        if self._pending_head is not None:
            return self._pending_head
        return self.latest.learner if self.latest is not None and self.latest.learner.heads else None

    # -- the model, the clip and the label -------------------------------------------------
    def set_model(self, model_name: str) -> None:
        """A model was loaded: start a fresh learner for it (a head is tied to its model)."""
        self.model_name = model_name
        self.worker.submit(NewLearnerJob(model_name, self.label))  # before every head job: the same queue
        self.latest, self._teach_ms = None, {}
        self._show()
        if self._pending_head is not None:
            self._adopt()

    def set_video(self, fingerprint: str) -> None:
        """A clip is shown: its confirmations teach keys ``(fingerprint[:16], frame, label)``,
        the same in every session (a saved learner's keys match its project's masks)."""
        self.video = fingerprint[:16]
        self._wanted.clear()  # the previous clip's teachings not under way yet are dropped
        self._pending_head, self._adopting = None, None  # its project's head state (saved before) is no more ours
        self._preview = {}

    def set_label(self, label: str) -> None:
        """The window's current label changed: the dock shows its head (the reports of every
        label are here already; the next head job tells the learner)."""
        self.label = label
        self._show()

    def adopt(self, head: object) -> None:
        """Continue learning from a project's head state (None: keep the current learner).
        Until the model is loaded and the state read, saving keeps the project's as it was."""
        if head is None:
            return
        self._pending_head = head
        if self.model_name:
            self._adopt()
        else:  # the model is still loading: meanwhile the dock shows what the saved head learned
            job = PreviewHeadJob(head)
            job.result.connect(self._on_preview)
            self.host.submit(job, self.worker)

    def _on_preview(self, reports: dict[str, LabelReport]) -> None:
        if self._pending_head is None or self._adopting is not None or self.latest is not None:
            return  # adopted (or another clip opened) meanwhile
        self._preview = reports
        self._show()

    def _adopt(self) -> None:
        self._adopting = next(self._tickets)
        self._submit(AdoptHeadJob(self.label, self._pending_head, self._adopting), self._on_adopted)

    def _on_adopted(self, update: HeadUpdate) -> None:
        if update.ticket != self._adopting:
            return  # another project was opened since
        self._adopting, self._preview = None, {}
        if update.refused is None:
            self._pending_head = None
        message = self._sync(update)
        if update.refused is not None and not self._wanted:
            self._pending_head = None  # nothing to re-teach it from: the state is the empty learner
        self.adopted.emit(message)

    def _sync(self, update: HeadUpdate) -> str:
        """Bring the learner in step with the clip's confirmed masks: teach those it lacks (all
        of them when the project's head was refused), un-teach its frames of this video that
        are no longer confirmed (changes recovered from the journal). Returns the status line."""
        state = self.host.state
        if state is None:
            return ""
        confirmed_keys = {(self.video, f, lab): f for (f, lab), e in state.items() if confirmed(e)}
        stale = [
            k
            for k in update.taught
            if isinstance(k, tuple) and len(k) == 3 and k[0] == self.video and k not in confirmed_keys
        ]
        for key in stale:
            self._submit(UnteachJob(self.label, key))
        missing = [k for k in confirmed_keys if k not in update.taught]
        for key in missing:
            self._request_teach(key, key[1], state.get(key[1], key[2]).mask, urgent=False)
        if update.refused is not None:
            why = update.refused if update.refused == OLDER_PROJECT else f"its saved head was refused: {update.refused}"
            if missing:
                message = f"Re-teaching the head from {plural(len(missing), 'confirmed mask')} ({why})"
            else:
                message = f"The project's head was not used ({why}); it has no confirmed mask to re-teach it from"
        elif missing or stale:
            message = (
                f"Teaching the head {plural(len(missing), 'confirmed mask')} it had not seen"
                f" and un-teaching {plural(len(stale), 'frame')} no longer confirmed"
            )
        else:
            return ""
        self.message.emit(message, 10000)
        return message

    # -- confirmations -------------------------------------------------------------------
    def on_changes(self, changes: Iterable[Change]) -> None:
        """Teach what became confirmed, un-teach what stopped being so (keys: (video, frame, label))."""
        state = self.host.state
        if not self.model_name or state is None:
            return
        for ch in changes:
            key = (self.video, *ch.key)
            before, after = ch.before, ch.after
            if confirmed(after) and (not confirmed(before) or before.data != after.data):
                self._request_teach(key, ch.key[0], state.get(*ch.key).mask)
            elif confirmed(before) and not confirmed(after):
                self._wanted.pop(key, None)
                self._submit(UnteachJob(self.label, key))

    def _request_teach(self, key: Hashable, frame: int, mask, urgent: bool = True) -> None:
        if not mask.any():
            return
        generation = next(self._generation)
        self._wanted[key] = generation
        job = TeachInputJob(key, generation, frame, mask)
        job.result.connect(self._on_teach_input)
        self.host.submit(job, urgent=urgent)  # short: the frame's embedding is usually cached

    def _on_teach_input(self, item: TeachInput) -> None:
        if self._wanted.get(item.key) != item.generation or not self.model_name:
            return  # un-confirmed or edited again meanwhile: a newer request (or none) stands
        del self._wanted[item.key]
        self._submit(TeachJob(self.label, item))

    def _submit(self, job: HeadJob, *then: Callable[[HeadUpdate], None]) -> None:
        job.video = self.video or None
        job.result.connect(self._on_head_update)
        for slot in then:  # after the update is installed; all connected before the job can finish
            job.result.connect(slot)
        self.host.submit(job, self.worker)

    def _on_head_update(self, update: HeadUpdate | None) -> None:
        if update is None:
            return  # a teaching within a burst: the burst's last job reports it
        self.latest = update
        if update.record is not None:
            self._teach_ms[update.record.label] = update.record.teach_ms
            if self._pending_head is not None and self._adopting is None:
                self._pending_head = None  # re-teaching a refused head: the learner is what to save now
        self._show()
        for record in update.records:
            self.taught.emit(record)
        if update.message:
            self.message.emit(update.message, 6000)
        self.head_updated.emit(update)

    def _show(self) -> None:
        """What the dock shows changed (the current label's report, the profiles)."""
        self.shown.emit()

    # -- the dock's requests -------------------------------------------------------------
    def _change(self, job_type: type[HeadJob], *args: object, **kwargs: object) -> HeadJob | None:
        if not self.model_name:
            self.message.emit("The model is not loaded yet.", 4000)
            return None
        job = job_type(self.label, *args, **kwargs)
        self._submit(job)
        return job

    def set_profiles(self, teach_into: str | None = None, predict_with: str | None = None) -> HeadJob | None:
        """Where new confirmations go, and what proposals use (``all``, ``auto``, ``sam`` or a profile)."""
        return self._change(ProfileJob, teach_into=teach_into, predict_with=predict_with)

    def unteach_last(self) -> HeadJob | None:
        """Remove the current label's most recently taught confirmation (its mask stays confirmed)."""
        return self._change(UnteachJob)

    def reset(self, everything: bool = False) -> HeadJob | None:
        """Forget what the current label (``everything``: every label) was taught."""
        self._teach_ms = {} if everything else {k: v for k, v in self._teach_ms.items() if k != self.label}
        return self._change(ResetHeadJob, everything=everything)

    def save(self, path: str | Path) -> HeadJob | None:
        return self._change(SaveHeadJob, path)

    def load(self, path: str | Path) -> HeadJob | None:
        self._teach_ms = {}
        return self._change(LoadHeadJob, path)

    def stop_after_pending(self, timeout_ms: int = 5000) -> bool:
        """Let the head worker finish the teachings it was given (at most ``timeout_ms``) and
        take in their results (closing: the last save then holds them); returns whether it did."""
        done = self.worker.finish_pending(timeout_ms)
        QCoreApplication.sendPostedEvents(self)  # the results queued for this object's slots
        return done

    def stop(self) -> None:
        self.worker.stop()
