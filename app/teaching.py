"""Keeps the head in step with the user's confirmations, off the GUI thread.

Every change of the annotation state is looked at here: a mask that becomes confirmed (or
a confirmed mask that is edited) is taught, one that stops being confirmed (reject, clear,
undo) is un-taught exactly. SAM's part of the teaching runs on the model worker, the head's
on its own worker; results come back as new head snapshots that proposals then use.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from app.learning import LearningPanel
from app.state import Change, Status
from app.teaching_jobs import (
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
)
from app.workers import ModelWorker
from evosam.head import EvoHead
from evosam.learning import Learner, Refiner

if TYPE_CHECKING:
    from app.main_window import MainWindow

HEAD_FILTER = "EvoSAM head (*.npz)"


def confirmed(entry: object) -> bool:
    return entry is not None and entry.status == Status.CONFIRMED


class Teaching(QObject):
    """``taught(TeachRecord)`` after each teaching; ``head_updated(HeadUpdate)`` after every change."""

    taught = Signal(object)
    head_updated = Signal(object)

    def __init__(self, window: MainWindow, panel: LearningPanel) -> None:
        super().__init__(window)
        self.window, self.panel = window, panel
        self.worker = ModelWorker(parent=window, name="HeadWorker")  # the one owner of the learner
        self.worker.job_started.connect(window._on_job_started)  # the status bar shows its jobs too
        self.worker.job_finished.connect(window._on_job_finished)
        self.learner: Learner | None = None
        self.refine: Refiner | None = None  # the latest head snapshot, for proposals
        self.head: EvoHead | None = None  # the latest head snapshot, for saving
        self._pending_head: object = None  # a project's head (EvoHead or HeadFile) not adopted yet
        self._generation = itertools.count(1)
        self._wanted: dict[Hashable, int] = {}  # key -> generation of its latest teach request
        self._connect_panel()

    def set_model(self, model_name: str) -> None:
        """A model was loaded: start a fresh head for it (a head is tied to its model)."""
        self.learner = Learner(model_name)
        self.refine, self.head = None, None
        self.panel.clear_records()
        if self._pending_head is not None:
            self._submit(AdoptHeadJob(self.learner, self._pending_head))

    def adopt(self, head: object) -> None:
        """Continue learning from a project's head (None: keep the current head). Until the
        model is loaded and the head read, saving keeps the project's head as it was."""
        if head is None:
            return
        self._pending_head = head
        if self.learner is not None:
            self._submit(AdoptHeadJob(self.learner, head))

    def head_for_saving(self) -> object:
        """What a project save stores: the head, or the project's head not adopted yet; None when untaught."""
        if self._pending_head is not None:
            return self._pending_head
        return self.head if self.head is not None and self.head.taught_frames else None

    # -- confirmations -------------------------------------------------------------------
    def on_changes(self, clip: int, changes: Iterable[Change]) -> None:
        """Teach what became confirmed, un-teach what stopped being so (keys: (clip, frame, label))."""
        if self.learner is None or self.window.state is None:
            return
        for ch in changes:
            key = (clip, *ch.key)
            before, after = ch.before, ch.after
            if confirmed(after) and (not confirmed(before) or before.data != after.data):
                self._request_teach(key, ch.key[0], self.window.state.get(*ch.key).mask)
            elif confirmed(before) and not confirmed(after):
                self._wanted.pop(key, None)
                self._submit(UnteachJob(self.learner, key))

    def _request_teach(self, key: Hashable, frame: int, mask) -> None:
        if not mask.any():
            return
        generation = next(self._generation)
        self._wanted[key] = generation
        job = TeachInputJob(key, generation, frame, mask)
        job.result.connect(self._on_teach_input)
        self.window.submit(job, urgent=True)  # short: the frame's embedding is usually cached

    def _on_teach_input(self, item: TeachInput) -> None:
        if self._wanted.get(item.key) != item.generation or self.learner is None:
            return  # un-confirmed or edited again meanwhile: a newer request (or none) stands
        del self._wanted[item.key]
        self._submit(TeachJob(self.learner, item))

    def _submit(self, job: HeadJob) -> None:
        job.result.connect(self._on_head_update)
        self.window.submit(job, self.worker)

    def _on_head_update(self, update: HeadUpdate) -> None:
        if isinstance(self.sender(), AdoptHeadJob):
            self._pending_head = None
        self.refine, self.head = update.refine, update.head
        if update.record is not None:
            self.panel.add_record(update.record)
            self.taught.emit(update.record)
        self.panel.set_state(update.profiles, update.profile, update.predict_with, update.taught_frames)
        if update.message:
            self.window.statusBar().showMessage(update.message, 6000)
        self.head_updated.emit(update)

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
        job = job_type(self.learner, *args, **kwargs)
        self._submit(job)
        return job

    def set_profiles(self, teach_into: str | None = None, predict_with: str | None = None) -> HeadJob | None:
        """Where new confirmations go, and what proposals use (``all``, ``auto`` or a profile)."""
        return self._change(ProfileJob, teach_into=teach_into, predict_with=predict_with)

    def _on_new_profile(self) -> None:
        name, ok = QInputDialog.getText(self.window, "New task profile",
                                        "Profile name (e.g. 'cholecystectomy vessels'):")
        if ok and name.strip():
            self.set_profiles(teach_into=name.strip())

    def unteach_last(self) -> HeadJob | None:
        """Remove the most recently taught confirmation's statistics (its mask stays confirmed)."""
        return self._change(UnteachJob)

    def reset(self) -> HeadJob | None:
        self.panel.clear_records()
        return self._change(ResetHeadJob)

    def save(self, path: str | Path) -> HeadJob | None:
        return self._change(SaveHeadJob, path)

    def load(self, path: str | Path) -> HeadJob | None:
        job = self._change(LoadHeadJob, path)
        if job is not None:
            job.result.connect(lambda _update: self.panel.clear_records())
        return job

    def _on_reset(self) -> None:
        answer = QMessageBox.question(self.window, "Reset the head", "Forget everything the head has learned?")
        if answer == QMessageBox.StandardButton.Yes:
            self.reset()

    def _on_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save the head", "head.npz", HEAD_FILTER)
        if path:
            self.save(path)

    def _on_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load a head", "", HEAD_FILTER)
        if path:
            self.load(path)

    def stop_after_pending(self, timeout_ms: int = 5000) -> None:
        """Let the head worker finish the teachings it was given (closing the window)."""
        self.worker.finish_pending(timeout_ms)

    def stop(self) -> None:
        self.worker.stop()
