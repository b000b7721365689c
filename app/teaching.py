"""Keeps the learner (one head per label) in step with the user's confirmations, off the GUI thread.

Every change of the annotation state is looked at here: a mask that becomes confirmed (or
a confirmed mask that is edited) is taught to its label's head, one that stops being
confirmed (reject, clear, undo) is un-taught exactly. SAM's part of the teaching runs on
the model worker, the head's on its own worker; results come back as new values (per-label
refiners, reports, a learner copy for saving) that proposals, the dock and saves then use.
A project's learner is taken over when it opens; an older project's head is re-taught from
its confirmed masks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from app.learning import LearningPanel
from app.state import Change, Status
from app.teaching_jobs import (
    OLDER_PROJECT,
    AdoptHeadJob,
    HeadJob,
    HeadUpdate,
    LoadHeadJob,
    ProfileJob,
    ResetHeadJob,
    SaveHeadJob,
    TeachInput,
    TeachInputJob,
    TeachJob,
    UnteachJob,
    plural,
)
from app.workers import ModelWorker
from evosam.head.evidence import Choice
from evosam.head.head import ALL_PROFILES, DEFAULT_PROFILE
from evosam.learning import SAM_ONLY, HeadRefiner, LabelReport, Learner, Refiner

if TYPE_CHECKING:
    from app.main_window import MainWindow

HEAD_FILTER = "EvoSAM head (*.npz)"


def confirmed(entry: object) -> bool:
    return entry is not None and entry.status == Status.CONFIRMED


class Teaching(QObject):
    """``taught(TeachRecord)`` after each teaching; ``head_updated(HeadUpdate)`` after every
    change; ``adopted(str)`` once a project's head state is taken over (or refused and being
    re-taught from its masks), with the status message (empty when there is none)."""

    taught = Signal(object)
    head_updated = Signal(object)
    adopted = Signal(str)

    def __init__(self, window: MainWindow, panel: LearningPanel) -> None:
        super().__init__(window)
        self.window, self.panel = window, panel
        self.worker = ModelWorker(parent=window, name="HeadWorker")  # the one owner of the learner
        self.worker.job_started.connect(window._on_job_started)  # the status bar shows its jobs too
        self.worker.job_finished.connect(window._on_job_finished)
        self.learner: Learner | None = None  # touched by head jobs only, on the head worker
        self.label = window.label  # the label proposals and the dock speak of
        self.video: str = ""  # the open video's key part: 16 hex characters of its fingerprint
        self.latest: HeadUpdate | None = None  # the latest values from the head worker
        self._pending_head: object = None  # a project's head state (HeadFile, Learner) not taken over yet
        self._adopting: AdoptHeadJob | None = None
        self._generation = itertools.count(1)
        self._wanted: dict[Hashable, int] = {}  # key -> generation of its latest teach request
        self._teach_ms: dict[str, float] = {}  # label -> its last teaching's time
        self._connect_panel()

    # -- what proposals, the dock and saving read ---------------------------------------
    def refiner_for(self, label: str) -> Refiner | None:
        """``label``'s refiner of SAM's answers on frames of the open video now, called as
        ``refine(rgb, prediction, box, frame index)``; None while it proposes SAM's own mask
        everywhere. Next to the label's taught frames of this video it follows the head's
        evidence there (frames left out one by one), elsewhere the evidence at a distance."""
        refine = None if self.latest is None else self.latest.refiners.get(label)
        if isinstance(refine, HeadRefiner) and refine.video != self.video:
            refine = replace(refine, video=self.video)
        return refine

    def report(self, label: str) -> LabelReport:
        """``label``'s head as last reported (an empty report while it is untaught)."""
        report = None if self.latest is None else self.latest.reports.get(label)
        if report is None:
            sam_only = self.latest is not None and self.latest.predict_with == SAM_ONLY
            choice = Choice(reason="'Propose with: SAM only' is set") if sam_only else Choice()
            report = LabelReport(label, {}, choice, [])
        return report

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
        self.learner = Learner(model_name)
        self.learner.set_label(self.label)  # not shared with the head worker yet
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
        if self.learner is not None:
            self._adopt()

    def _adopt(self) -> None:
        self._adopting = AdoptHeadJob(self.learner, self.label, self._pending_head)
        self._submit(self._adopting, self._on_adopted)

    def _on_adopted(self, update: HeadUpdate) -> None:
        job = self.sender()
        if job is not self._adopting:
            return  # another project was opened since
        self._adopting = None
        if update.refused is None:
            self._pending_head = None
        message = self._sync(update) if self.window.is_current(job) else ""
        if update.refused is not None and not self._wanted:
            self._pending_head = None  # nothing to re-teach it from: the state is the empty learner
        self.adopted.emit(message)

    def _sync(self, update: HeadUpdate) -> str:
        """Bring the learner in step with the clip's confirmed masks: teach those it lacks (all
        of them when the project's head was refused), un-teach its frames of this video that
        are no longer confirmed (changes recovered from the journal). Returns the status line."""
        state = self.window.state
        if state is None:
            return ""
        confirmed_keys = {(self.video, f, lab): f for (f, lab), e in state.items() if confirmed(e)}
        stale = [k for k in update.taught
                 if isinstance(k, tuple) and len(k) == 3 and k[0] == self.video and k not in confirmed_keys]
        for key in stale:
            self._submit(UnteachJob(self.learner, self.label, key))
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
            message = (f"Teaching the head {plural(len(missing), 'confirmed mask')} it had not seen"
                       f" and un-teaching {plural(len(stale), 'frame')} no longer confirmed")
        else:
            return ""
        self.window.statusBar().showMessage(message, 10000)
        return message

    # -- confirmations -------------------------------------------------------------------
    def on_changes(self, changes: Iterable[Change]) -> None:
        """Teach what became confirmed, un-teach what stopped being so (keys: (video, frame, label))."""
        if self.learner is None or self.window.state is None:
            return
        for ch in changes:
            key = (self.video, *ch.key)
            before, after = ch.before, ch.after
            if confirmed(after) and (not confirmed(before) or before.data != after.data):
                self._request_teach(key, ch.key[0], self.window.state.get(*ch.key).mask)
            elif confirmed(before) and not confirmed(after):
                self._wanted.pop(key, None)
                self._submit(UnteachJob(self.learner, self.label, key))

    def _request_teach(self, key: Hashable, frame: int, mask, urgent: bool = True) -> None:
        if not mask.any():
            return
        generation = next(self._generation)
        self._wanted[key] = generation
        job = TeachInputJob(key, generation, frame, mask)
        job.result.connect(self._on_teach_input)
        self.window.submit(job, urgent=urgent)  # short: the frame's embedding is usually cached

    def _on_teach_input(self, item: TeachInput) -> None:
        if self._wanted.get(item.key) != item.generation or self.learner is None:
            return  # un-confirmed or edited again meanwhile: a newer request (or none) stands
        del self._wanted[item.key]
        self._submit(TeachJob(self.learner, self.label, item))

    def _submit(self, job: HeadJob, *then: Callable[[HeadUpdate], None]) -> None:
        job.result.connect(self._on_head_update)
        for slot in then:  # after the update is installed; all connected before the job can finish
            job.result.connect(slot)
        self.window.submit(job, self.worker)

    def _on_head_update(self, update: HeadUpdate) -> None:
        self.latest = update
        if update.record is not None:
            self._teach_ms[update.record.label] = update.record.teach_ms
            if self._pending_head is not None and self._adopting is None:
                self._pending_head = None  # re-teaching a refused head: the learner is what to save now
        self._show()
        if update.record is not None:
            self.taught.emit(update.record)
        if update.message:
            self.window.statusBar().showMessage(update.message, 6000)
        self.head_updated.emit(update)

    def _show(self) -> None:
        """The dock: the current label's report, the profiles, the selections."""
        u = self.latest
        if u is None:
            self.panel.set_state([], DEFAULT_PROFILE, ALL_PROFILES, 0)
        else:
            self.panel.set_state(u.profile_names, u.profile, u.predict_with, u.taught_frames)
        self.panel.show_report(self.report(self.label), self._teach_ms.get(self.label))

    # -- the panel's buttons -----------------------------------------------------------------
    def _connect_panel(self) -> None:
        p = self.panel
        p.teach_into_selected.connect(lambda name: self.set_profiles(teach_into=name))
        p.predict_with_selected.connect(lambda name: self.set_profiles(predict_with=name))
        p.new_profile_requested.connect(self._on_new_profile)
        p.unteach_last_requested.connect(self.unteach_last)
        p.reset_requested.connect(self._on_reset)
        p.save_requested.connect(self._on_save)
        p.load_requested.connect(self._on_load)

    def _change(self, job_type: type[HeadJob], *args: object, **kwargs: object) -> HeadJob | None:
        if self.learner is None:
            self.window.statusBar().showMessage("The model is not loaded yet.", 4000)
            return None
        job = job_type(self.learner, self.label, *args, **kwargs)
        self._submit(job)
        return job

    def set_profiles(self, teach_into: str | None = None, predict_with: str | None = None) -> HeadJob | None:
        """Where new confirmations go, and what proposals use (``all``, ``auto``, ``sam`` or a profile)."""
        return self._change(ProfileJob, teach_into=teach_into, predict_with=predict_with)

    def _on_new_profile(self) -> None:
        name, ok = QInputDialog.getText(self.window, "New task profile",
                                        "Profile name (e.g. 'cholecystectomy vessels'):")
        if ok and name.strip():
            self.set_profiles(teach_into=name.strip())

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

    def _on_reset(self) -> None:
        answer = QMessageBox.question(
            self.window, "Reset the head",
            f"Forget what the head learned for {self.label!r}? Other labels keep theirs.")
        if answer == QMessageBox.StandardButton.Yes:
            self.reset()

    def _on_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save the head (every label)", "head.npz", HEAD_FILTER)
        if path:
            self.save(path)

    def _on_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load a head (replaces every label's)", "", HEAD_FILTER)
        if path:
            self.load(path)

    def stop_after_pending(self, timeout_ms: int = 5000) -> None:
        """Let the head worker finish the teachings it was given and take in their results
        (closing the window: the last save then holds them)."""
        self.worker.finish_pending(timeout_ms)
        QCoreApplication.sendPostedEvents(self)  # the results queued for this object's slots

    def stop(self) -> None:
        self.worker.stop()
