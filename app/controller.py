"""The annotation controller: owns the open clip's state (masks, undo, the current label, the
last prompts), the player, the workers and the jobs it submitted, and turns gestures into
state changes and jobs. It holds no widgets: the window forwards gestures here and shows
what the signals say (the main window).

Collaborators it owns, each given what it needs (a narrow protocol): ``Prompts`` (box and
point prompts), ``Propagation`` (runs through the clip), ``Teaching`` (the learner) and
``ProjectIO`` (autosave, save, open).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.budget import EMBEDDING_CACHE_BYTES, WORKER_FRAME_CACHE_BYTES
from app.display import plural
from app.export import STATUSES, ExportJob, which_masks
from app.jobs import Job, Worker
from app.player import Player
from app.prefetch import Prefetcher
from app.project_jobs import OpenedProject
from app.projects import ProjectIO, is_project, remember_recent, saved_projects
from app.prompts import Prompts
from app.propagation import Propagation
from app.review import RunChoice, next_review_frame, run_frames
from app.sources import VideoSource, open_source
from app.state import AnnotationState, Change, FrameMask, Status, paint_stroke
from app.teaching import Teaching
from app.tracker import JobTracker
from app.workers import (
    EmbedJob,
    LoadModelJob,
    ModelLoaded,
    OpenedVideo,
    OpenVideoJob,
    PointJob,
    PredictJob,
    PropagateJob,
    SetVideoJob,
    file_worker,
    model_worker,
)
from evosam.annotations import provenance
from evosam.errors import InputError
from evosam.learning import Refiner
from evosam.models import SamBackend
from evosam.models.cache import EmbeddingCache
from evosam.project import Project, VideoRef


class AnnotationController(QObject):
    """Signals (all on the GUI thread):

    - ``state_changed(frames)`` after every change of the state or of what undo can do
      (frames touched, possibly none); ``clip_changed(name)`` once a clip is shown (before
      the player moves to its first frame); ``labels_changed()`` when the label list
      changed, ``label_changed(name)`` when the current label did;
    - ``box_shown(box)``, ``points_shown(points)``: the current frame's prompt as drawn;
      ``overlay_stale()`` when the current frame's overlay must be drawn again;
      ``draft_shown(PredictResult)`` SAM's mask for a box while the head refines it,
      ``draft_ended()`` when the refined mask (or a point's answer) came;
    - ``message(text, ms)`` for the status bar, ``failed(exception)`` for an error box;
    - ``model_loaded(ModelLoaded)``, ``model_failed(exception)``,
      ``propagation_finished(PropagationSummary)``, ``exported(ExportSummary)``;
    - ``saved_project_found(SavedProject)``: a video opened blank has a newer saved project."""

    state_changed = Signal(list)
    clip_changed = Signal(str)
    labels_changed = Signal()
    label_changed = Signal(str)
    box_shown = Signal(object)
    points_shown = Signal(list)
    overlay_stale = Signal()
    draft_shown = Signal(object)
    draft_ended = Signal()
    message = Signal(str, int)
    failed = Signal(object)
    model_loaded = Signal(object)
    model_failed = Signal(object)
    propagation_finished = Signal(object)
    exported = Signal(object)
    saved_project_found = Signal(object)

    def __init__(
        self, cache: EmbeddingCache | None = None, prefetch_ms: int = 400, parent: QObject | None = None
    ) -> None:
        """``cache``: embeddings by (model, video fingerprint, frame); one is made when not given."""
        super().__init__(parent)
        self.state: AnnotationState | None = None
        self.label = "vessel"
        self.player = Player(self)  # the one owner of the current frame
        self.source: VideoSource | None = None
        self.video_path: Path | None = None  # the open clip's video (file or frame folder)
        self.point_prompts = False  # the loaded model takes point prompts (else points act locally)
        self.model_name = ""  # the loaded model's registry name (provenance of proposals)
        self._closed = False
        self._resuming = ""  # the video whose untitled autosave is being resumed
        self._reviewed: tuple[str, int] | None = None  # (label, frame) the last N showed
        self.cache = cache if cache is not None else EmbeddingCache(EMBEDDING_CACHE_BYTES)
        self.jobs = JobTracker(self)
        self.worker = model_worker(self.cache, self)  # the one thread for every model call
        self.io_worker = file_worker(self)  # exports and video opening never wait behind the model
        self.teaching = Teaching(self, self.label, self)
        self.projects = ProjectIO(self, self)
        for worker in (self.worker, self.io_worker, self.teaching.worker, self.projects.worker):
            self.jobs.watch(worker)
        self.jobs.finished.connect(self._on_job_finished)
        self.jobs.failed.connect(self.failed)
        self.teaching.message.connect(self.message)
        self.projects.message.connect(self.message)
        self.projects.failed.connect(self.failed)
        self.prompts = Prompts(self, self)
        self.propagation = Propagation(self, self)
        for signal, mine in (
            (self.prompts.box_shown, self.box_shown),
            (self.prompts.points_shown, self.points_shown),
            (self.prompts.stale, self.overlay_stale),
            (self.prompts.draft, self.draft_shown),
            (self.prompts.draft_ended, self.draft_ended),
            (self.prompts.message, self.message),
            (self.propagation.message, self.message),
            (self.propagation.failed, self.failed),
            (self.propagation.finished, self.propagation_finished),
        ):
            signal.connect(mine)
        self.prefetch = Prefetcher(self, prefetch_ms, parent=self)
        self.player.frame_changed.connect(lambda index: self.prefetch.on_frame_changed(index, self.player.playing))

    # -- what the view and collaborators read ---------------------------------------------
    @property
    def clip(self) -> int:
        """The number of the clip shown (one more with every clip opened)."""
        return self.jobs.clip

    @property
    def frame(self) -> int:
        return self.player.current

    @property
    def has_video(self) -> bool:
        return self.source is not None

    @property
    def busy(self) -> bool:
        """Whether a job submitted here has not finished yet."""
        return self.jobs.busy

    def idle(self) -> bool:
        return self.jobs.idle()

    def is_current(self, clip: int) -> bool:
        """Whether a result asked for clip ``clip`` belongs to the clip now shown."""
        return clip == self.jobs.clip

    def current_mask(self) -> FrameMask | None:
        """The current label's mask on the current frame."""
        return None if self.state is None else self.state.get(self.player.current, self.label)

    def refiner_for(self, label: str) -> Refiner | None:
        """``label``'s head refiner on the open video now (None: SAM's own mask)."""
        return self.teaching.refiner_for(label)

    def proposal_source(self, label: str | None = None) -> str:
        """Provenance of a model proposal for ``label`` (default: the current one) now: e.g.
        ``litemedsam+head:12`` while its head refines SAM's answers (see ``evosam.annotations``)."""
        label = self.label if label is None else label
        refined = self.teaching.refiner_for(label) is not None
        return provenance(self.model_name, self.teaching.report(label).taught_frames if refined else 0)

    def project_parts(self) -> tuple[AnnotationState, object, dict] | None:
        """(state, head state for saving, settings) of the open clip, for project saves."""
        if self.state is None:
            return None
        return self.state, self.teaching.head_for_saving(), {"label": self.label, "frame": self.player.current}

    # -- jobs -------------------------------------------------------------------------
    def submit(self, job: Job, worker: Worker | None = None, urgent: bool = False) -> Job:
        """Queue a job on the model worker (or ``worker``), marked with the clip shown;
        ``urgent`` jobs (prompts) go before queued ones and between the frames of a propagation."""
        return self.jobs.submit(job, worker or self.worker, urgent)

    def _on_job_finished(self, job: Job) -> None:
        if job is self.propagation.job:
            self.propagation.drop()
        if isinstance(job, PredictJob) and job.failure is not None:
            self.prompts.forget_failed(job)

    def cancel(self) -> list[Job]:
        """Stop the running propagation and export (other jobs are short); returns the jobs told."""
        told = [job for job in self.jobs.jobs if isinstance(job, (PropagateJob, ExportJob)) and not job.cancelled]
        for job in told:
            job.cancel()
            self.message.emit(f"Cancelling: {job.text.lower()}…", 3000)
        return told

    # -- the model --------------------------------------------------------------------
    def load_model(self, factory: Callable[[], SamBackend], text: str = LoadModelJob.text) -> LoadModelJob:
        """Build the model on its worker (``text``: the status meanwhile)."""
        job = LoadModelJob(factory, text)  # connected before it is queued: a fast load must not be missed
        job.result.connect(self._on_model_loaded)
        job.error.connect(self.model_failed)
        self.submit(job)
        return job

    def _on_model_loaded(self, loaded: ModelLoaded) -> None:
        self.model_name, self.point_prompts = loaded.name, loaded.point_prompts
        self.teaching.set_model(loaded.name)
        self.model_loaded.emit(loaded)

    # -- clips ------------------------------------------------------------------------
    def set_video(
        self,
        source: VideoSource,
        path: str | Path,
        project: Project | None = None,
        project_path: Path | None = None,
        resume: bool = True,
    ) -> None:
        """Show a newly opened clip, empty or with a ``project``'s masks and head; the worker
        opens its own reader. The clip autosaves (into ``project_path``, else untitled). A video
        opened without a project (``resume``) resumes its untitled autosave when that is its
        newest saved work, and says so when a named project is (``saved_project_found``)."""
        found = saved_projects(VideoRef.of(source)) if project is None and resume else []
        if found and found[0].untitled:
            source.close()
            self._resuming = str(path)
            self.projects.open(found[0].path, failed=self._on_resume_failed)
            return
        if self.state is not None:
            self.projects.flush_quietly()  # the previous clip's work goes to disk before it goes
        self.jobs.clip += 1  # results of jobs for the previous clip are ignored from now on
        for job in self.jobs.jobs:
            if isinstance(job, (EmbedJob, PredictJob, PropagateJob)):
                job.cancel()
        self.propagation.drop()
        self.prompts.clear()
        if self.source is not None:
            self.source.close()
        self.source, self.video_path = source, Path(path)
        self.state = AnnotationState(source.frame_count, source.size) if project is None else project.to_state()
        settings = {} if project is None else project.settings
        names = [lab.name for lab in self.state.labels]
        self.label = settings.get("label") if settings.get("label") in names else names[0]
        fingerprint = source.fingerprint()
        self.teaching.set_video(fingerprint)
        self.teaching.set_label(self.label)
        self.projects.start(source, project_path, last=project)
        if project is not None:
            self.teaching.adopt(project.head)
        else:
            remember_recent(path)
        self.submit(SetVideoJob(lambda: open_source(path, WORKER_FRAME_CACHE_BYTES), fingerprint))
        self.clip_changed.emit(Path(project_path or path).name)
        self.player.set_clip(source.frame_count, source.fps)
        self._after_changes([])
        frame = settings.get("frame")
        if isinstance(frame, int) and 0 < frame < source.frame_count:
            self.player.seek(frame)
        if found:
            self.saved_project_found.emit(found[0])

    def open_path(self, path: str, resume: bool = True) -> OpenVideoJob:
        """Open a video or frame folder in the background (this clip's work is autosaved);
        ``resume``: its untitled autosave, if it holds newer work (see ``set_video``)."""
        job = OpenVideoJob(lambda: open_source(path), path, resume)  # a big folder takes seconds to index
        job.result.connect(self._on_video_opened)
        self.submit(job, self.io_worker)
        return job

    def _on_video_opened(self, opened: OpenedVideo) -> None:
        self.set_video(opened.source, opened.path, resume=opened.resume)

    def _on_resume_failed(self, _exc: BaseException) -> None:
        """The autosave could not be read (the error box says why): the video opens blank."""
        self.open_path(self._resuming, resume=False)

    def show_project(self, opened: OpenedProject) -> None:
        """Show a project read by the save worker."""
        self.set_video(opened.source, opened.video_path, project=opened.project, project_path=opened.path)

    def open_recent(self, path: str) -> None:
        """A recent item: a project folder, else a video or frame folder."""
        if is_project(path):
            self.projects.open(path)
        else:
            self.open_path(path)

    # -- labels -----------------------------------------------------------------------
    def select_label(self, name: str) -> None:
        """Make ``name`` the current label: prompts, edits, proposals and the dock follow it."""
        self.label = name
        self.teaching.set_label(name)
        self.label_changed.emit(name)

    def add_label(self, name: str) -> None:
        """Add a label to the clip and make it the current one (a taken name is an error)."""
        if self.state is None:
            return
        try:
            self.state.add_label(name)
        except ValueError as exc:
            self.failed.emit(InputError(str(exc)))  # shown as its message alone
            return
        self.label = name
        self.labels_changed.emit()
        self.select_label(name)

    # -- gestures -----------------------------------------------------------------------
    def prompt_box(self, box: tuple[float, float, float, float]) -> PredictJob | None:
        """Ask for a mask inside ``box`` (x0, y0, x1, y1 frame pixels) on the current frame."""
        return self.prompts.box(box)

    def prompt_point(self, x: float, y: float, positive: bool) -> PointJob | None:
        """A positive (negative) point at (x, y) frame pixels refines the current mask."""
        return self.prompts.point(x, y, positive)

    def propagate(self, backward: bool = False) -> PropagateJob | None:
        """Carry the current mask to the clip's end (start) in the background."""
        return self.propagation.start(backward)

    def paint(self, points: list[tuple[float, float]], radius: float, paint: bool) -> None:
        """A brush (``paint``) or eraser stroke through ``points`` ((x, y) frame pixels)."""
        if self.state is None:
            return
        old = self.current_mask()
        new = paint_stroke(None if old is None else old.mask, self.state.size, points, radius, paint)
        if old is None and not new.any():
            return
        value = FrameMask(new, edited=True, source="user") if old is None else old.with_mask(new)
        self.apply(self.player.current, self.label, value, "Brush" if paint else "Eraser")

    def confirm(self) -> None:
        self._set_status(Status.CONFIRMED)

    def reject(self) -> None:
        self._set_status(Status.REJECTED)

    def _set_status(self, status: Status) -> None:
        old = self.current_mask()
        if old is None:
            self.message.emit("No mask on this frame: draw a box first (B).", 4000)
            return
        if old.status != status:
            self.apply(self.player.current, self.label, old.with_status(status), status.value.capitalize())

    def clear_mask(self) -> None:
        """Remove the current label's mask on this frame, its prompt and answers still to come."""
        prompted = self.state is not None and self.prompts.forget(self.player.current, self.label)
        if self.current_mask() is not None:
            self.apply(self.player.current, self.label, None, "Clear mask")
        elif prompted:
            self.message.emit("Cleared the box: its answer will not be used.", 3000)

    def undo(self) -> None:
        if self.state is not None:
            undone = self.state.undo()  # the edit's changes as made: reverse them to say what happened now
            self._after_changes([Change(ch.key, ch.after, ch.before) for ch in reversed(undone)])

    def redo(self) -> None:
        if self.state is not None:
            self._after_changes(self.state.redo())

    def apply(self, frame: int, label: str, value: FrameMask | None, text: str, merge_key: object = None) -> None:
        """Set ``label``'s mask on ``frame`` (None removes it) as one undo step named ``text``
        (edits with the same ``merge_key`` make one step)."""
        if self.state is not None:
            self._after_changes([self.state.apply(frame, label, value, text, merge_key)])

    # -- review -----------------------------------------------------------------------
    def next_to_review(self) -> int | None:
        """Show the current label's least sure proposal; the next in the queue when N showed
        the current frame (a proposal reached otherwise, e.g. where a propagation ended, does
        not continue the queue from its rank)."""
        current = self.player.current
        walking = self._reviewed == (self.label, current)
        frame, text = next_review_frame(self.state, self.label, current if walking else None)
        self._reviewed = None if frame is None else (self.label, frame)
        if frame is not None:
            self.player.seek(frame)
        self.message.emit(text, 8000)
        return frame

    def accept_run(self, choice: RunChoice) -> int:
        """Confirm the current label's proposals that ``choice`` names, as one undo step (they
        teach the head as single confirmations do); returns how many."""
        frames = run_frames(self.state, self.label, choice)
        if not frames:
            self.message.emit(f"No proposals of '{self.label}' on frames {choice.first}–{choice.last} "
                              f"with confidence ≥ {choice.min_confidence:.2f}.", 6000)  # fmt: skip
            return 0
        text, token = f"Accept {plural(len(frames), 'proposal')}", object()
        changes = [
            self.state.apply(f, self.label, self.state.get(f, self.label).with_status(Status.CONFIRMED), text, token)
            for f in frames
        ]
        self._after_changes(changes)
        self.message.emit(f"Confirmed {plural(len(frames), 'proposal')} of '{self.label}' (Ctrl+Z undoes all).", 6000)
        return len(frames)

    def _after_changes(self, changes: Iterable[Change]) -> None:
        changes = list(changes)
        self.teaching.on_changes(changes)
        self.state_changed.emit(sorted({ch.key[0] for ch in changes}))

    # -- export -----------------------------------------------------------------------
    def export(self, kind: str, out: str | Path) -> ExportJob | None:
        """Export the masks of ``STATUSES[kind]`` (png, coco: confirmed; video: confirmed and
        proposed) to ``out`` in the background."""
        project = self.projects.capture()
        if project is None or not any(e.status in STATUSES[kind] for _, e in self.state.items()):
            self.message.emit(f"No {which_masks(kind)} masks to export: confirm masks with Enter first.", 5000)
            return None
        job = ExportJob(kind, project, out, self.projects.video_path)
        job.result.connect(self.exported)
        self.submit(job, self.io_worker)
        return job

    # -- closing ----------------------------------------------------------------------
    def close(self, save_timeout_ms: int = 30000) -> None:
        """Stop every worker: teachings handed to the head finish first (the last save holds
        them), then the last save runs (waited for at most ``save_timeout_ms``). Once only."""
        if self._closed:
            return
        self._closed = True
        self.player.pause()
        self.prefetch.stop()
        self.teaching.stop_after_pending()
        self.worker.stop()
        self.io_worker.stop()
        self.teaching.stop()
        self.projects.close(save_timeout_ms)
        if self.source is not None:
            self.source.close()
