"""The main window: composes the widgets, turns gestures into jobs, swaps in their results.

All model work goes to the one ``ModelWorker``; its results come back as signals and are
applied to the ``AnnotationState`` here, on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.actions import Actions, add_toolbar_and_menus, build_actions, shortcut_html
from app.budget import GUI_FRAME_CACHE_BYTES, WORKER_FRAME_CACHE_BYTES
from app.canvas import Canvas, Tool
from app.editing import EditingMixin
from app.export import KINDS, ExportJob, ExportSummary
from app.labels import LabelPanel
from app.learning import LearningPanel, add_dock
from app.player import Player
from app.prefetch import Prefetcher
from app.projects import ProjectIO, remember_recent
from app.readahead import AHEAD, ReadAhead
from app.state import AnnotationState, Status
from app.status import JobStatus
from app.teaching import Teaching
from app.timeline import Timeline
from app.workers import (
    EmbedJob,
    Job,
    LoadModelJob,
    ModelWorker,
    OpenVideoJob,
    PredictJob,
    PropagateJob,
    SetVideoJob,
)
from evosam.errors import EvoSamError
from evosam.models import SamBackend
from evosam.models.cache import EmbeddingCache
from evosam.project import Project

Box = tuple[float, float, float, float]


class VideoSource(Protocol):
    """What the window needs from ``evosam.video.VideoSource``."""

    frame_count: int
    fps: float
    size: tuple[int, int]

    def frame(self, index: int) -> np.ndarray: ...

    def fingerprint(self) -> str: ...

    def close(self) -> None: ...


def open_source(path: str | Path, cache_bytes: int = GUI_FRAME_CACHE_BYTES) -> VideoSource:
    """The video or frame folder at ``path``, its decoded frames cached up to ``cache_bytes``."""
    from evosam.video import open_video

    return open_video(path, cache_bytes)


class MainWindow(EditingMixin, QMainWindow):
    """``annotation_changed(frames)`` after every change of the state (frames touched);
    ``draft_shown(PredictResult)`` when SAM's mask for a box is on screen while the head refines it."""

    annotation_changed = Signal(list)
    draft_shown = Signal(object)  # PredictResult
    propagation_finished = Signal(object)  # PropagationSummary
    exported = Signal(object)  # ExportSummary

    def __init__(
        self,
        model_factory: Callable[[], SamBackend],
        prefetch_ms: int = 400,
        cache: EmbeddingCache | None = None,
        load_text: str = LoadModelJob.text,
    ) -> None:
        """``cache``: embeddings by (model, video fingerprint, frame); one is made when not given.
        ``load_text``: the status while the model loads (e.g. what a first start prepares)."""
        super().__init__()
        self.setWindowTitle("EvoSAM Annotator")
        self.resize(1280, 820)
        self.source: VideoSource | None = None
        self.state: AnnotationState | None = None
        self.label = "vessel"
        self.boxes: dict[tuple[int, str], Box] = {}  # last box prompt per (frame, label), shown with its mask
        self.points: dict[tuple[int, str], list[tuple[float, float, bool]]] = {}  # clicked (x, y, positive)
        self.point_prompts = False  # the loaded model takes point prompts (else points act locally)
        self.model_name = ""  # the loaded model's registry name (provenance of proposals)
        self.worker = ModelWorker(cache, parent=self)  # the one thread for every model call
        self.io_worker = ModelWorker(parent=self, name="FileWorker")  # exports never wait behind the model
        self.player = Player(self)
        self._jobs: list[Job] = []  # submitted, not finished
        self._running: list[Job] = []  # started, not finished (nested when a prompt runs inside a propagation)
        self._propagation: PropagateJob | None = None
        self._clip_id = 0
        self._propagation_key: object = None
        self._read_ahead: ReadAhead | None = None  # decodes the next frames while playing
        self._ready: dict[int, np.ndarray] = {}  # frames it decoded, not shown yet
        self.prefetch = Prefetcher(self, prefetch_ms)
        self._build_ui()
        self._connect()
        self.player.is_ready = self._is_frame_ready
        self._after_changes([])
        load = LoadModelJob(model_factory, load_text)  # connected before it is queued: a fast load must not be missed
        load.result.connect(self._on_model_loaded)
        load.error.connect(self._on_model_failed)
        self.submit(load)

    # -- construction ------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.act: Actions = build_actions(self)  # not "actions": QWidget.actions() exists
        self.canvas = Canvas(self)
        self.timeline = Timeline(self)
        self.labels = LabelPanel(self)
        self.mask_info = QLabel("no mask", self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)
        dock = add_dock(self, "Labels", "labels_dock", self.labels)
        self.learning_panel = LearningPanel(self)
        learning = add_dock(self, "Learning", "learning_dock", self.learning_panel)
        self.resizeDocks([dock], [280], Qt.Orientation.Horizontal)
        self.resizeDocks([dock, learning], [140, 600], Qt.Orientation.Vertical)
        self.teaching = Teaching(self, self.learning_panel)
        self.projects = ProjectIO(self)
        self.brush_size = QSpinBox(self, minimum=1, maximum=200, value=int(self.canvas.brush_radius))
        self.brush_size.setPrefix("brush ")
        self.brush_size.setSuffix(" px")
        self.brush_size.setToolTip("Brush / eraser radius in frame pixels ([ and ])")
        self.brush_size.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # letters stay shortcuts, never typed into it
        self.recent_menu = add_toolbar_and_menus(self, self.act, self.brush_size)
        self.job_status = JobStatus(self)
        self.model_info = QLabel("Loading model…", self)
        self.statusBar().addWidget(self.mask_info)
        self.statusBar().addPermanentWidget(self.job_status)
        self.statusBar().addPermanentWidget(self.model_info)
        self.statusBar().setMinimumHeight(self.job_status.sizeHint().height() + 4)

    def _connect(self) -> None:
        a = self.act
        handlers = {
            "open": self._on_open, "open_folder": self._on_open_folder, "quit": self.close,
            "export": lambda: self._on_export("png"), "export_coco": lambda: self._on_export("coco"),
            "export_video": lambda: self._on_export("video"),
            "open_project": self.projects.open_dialog, "save": self.projects.save,
            "save_as": self.projects.save_as_dialog,
            "play": self.player.toggle, "next": lambda: self.player.step(1), "prev": lambda: self.player.step(-1),
            "first": lambda: self.player.seek(0), "last": lambda: self.player.seek(self.player.frame_count - 1),
            "jump": self._on_jump, "fit": self.canvas.fit,
            "bigger": lambda: self.brush_size.setValue(round(self.brush_size.value() * 1.25) + 1),
            "smaller": lambda: self.brush_size.setValue(round(self.brush_size.value() / 1.25)),
            "undo": self.undo, "redo": self.redo, "clear": self.clear_mask, "confirm": self.confirm,
            "reject": self.reject, "propagate_forward": lambda: self.propagate(backward=False),
            "propagate_backward": lambda: self.propagate(backward=True), "cancel": self._on_cancel,
            "shortcuts": self._on_shortcuts,
        }
        for name, handler in handlers.items():
            a.all[name].triggered.connect(handler)
        a.show_masks.toggled.connect(self.canvas.set_overlay_visible)
        a.box.triggered.connect(lambda: self.set_tool(Tool.BOX))
        a.point.triggered.connect(lambda: self.set_tool(Tool.POINT))
        a.brush.triggered.connect(lambda: self.set_tool(Tool.BRUSH))
        a.eraser.triggered.connect(lambda: self.set_tool(Tool.ERASER))
        self.brush_size.valueChanged.connect(self.canvas.set_brush_radius)
        self.recent_menu.aboutToShow.connect(lambda: self.projects.fill_recent_menu(self.recent_menu))
        self.canvas.box_drawn.connect(self.prompt_box)
        self.canvas.point_clicked.connect(self.prompt_point)
        self.canvas.stroke_drawn.connect(self._on_stroke_drawn)
        self.canvas.space_tapped.connect(self.player.toggle)
        self.timeline.seek_requested.connect(self.player.seek)
        self.player.frame_changed.connect(self._on_frame_changed)
        self.player.playing_changed.connect(self._on_playing_changed)
        self.labels.label_selected.connect(self._on_label_selected)
        self.labels.add_requested.connect(self._on_label_added)
        self.job_status.cancel_requested.connect(self._on_cancel)
        self.statusBar().messageChanged.connect(self._on_status_message)
        for worker in (self.worker, self.io_worker):
            worker.job_started.connect(self._on_job_started)
            worker.job_finished.connect(self._on_job_finished)

    # -- video ------------------------------------------------------------------------
    def set_video(
        self, source: VideoSource, path: str | Path, project: Project | None = None, project_path: Path | None = None
    ) -> None:
        """Show a newly opened clip, empty or with a ``project``'s masks and head; the worker
        opens its own reader. The clip autosaves (into ``project_path``, else untitled)."""
        if self.state is not None:
            self.projects.flush_quietly()  # the previous clip's work is on disk before it goes
        self._clip_id += 1  # results of jobs for the previous clip are ignored from now on
        for job in self._jobs:
            if isinstance(job, (EmbedJob, PredictJob, PropagateJob)):
                job.cancel()
        self._propagation = None
        if self.source is not None:
            self.source.close()
        if self._read_ahead is not None:
            self._read_ahead.stop()
        self._read_ahead = ReadAhead(lambda: open_source(path, WORKER_FRAME_CACHE_BYTES), self)
        self._read_ahead.frame_ready.connect(self._on_frame_ready)
        self._ready = {}
        self.source, self.boxes, self.points = source, {}, {}
        self.state = AnnotationState(source.frame_count, source.size) if project is None else project.to_state()
        settings = {} if project is None else project.settings
        names = [lab.name for lab in self.state.labels]
        self.label = settings.get("label") if settings.get("label") in names else names[0]
        self.labels.set_labels(self.state.labels, self.label)
        fingerprint = source.fingerprint()
        self.teaching.set_video(fingerprint)
        self.teaching.set_label(self.label)
        self.projects.start(source, project_path, last=project)
        if project is not None:
            self.teaching.adopt(project.head)
        else:
            remember_recent(path)
        self.setWindowTitle(f"{Path(project_path or path).name} — EvoSAM Annotator")
        self.submit(SetVideoJob(lambda: open_source(path, WORKER_FRAME_CACHE_BYTES), fingerprint))
        self.timeline.set_clip(source.frame_count, source.fps)
        self.player.set_clip(source.frame_count, source.fps)
        self._refresh_marks()
        self._after_changes([])
        frame = settings.get("frame")
        if isinstance(frame, int) and 0 < frame < source.frame_count:
            self.player.seek(frame)
        self.canvas.setFocus()

    def open_path(self, path: str) -> None:
        """Open a video or frame folder in the background (this clip's work is autosaved)."""
        job = OpenVideoJob(lambda: open_source(path), path)  # a big folder takes seconds to index
        job.result.connect(self._on_video_opened)
        self.submit(job, self.io_worker)

    def _on_video_opened(self, opened: tuple[VideoSource, str]) -> None:
        self.set_video(*opened)

    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", "Videos (*.mp4 *.avi *.mov *.mkv);;All files (*)")
        if path:
            self.open_path(path)

    def _on_open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of frames")
        if path:
            self.open_path(path)

    def _on_jump(self) -> None:
        n = self.player.frame_count
        value, ok = QInputDialog.getInt(self, "Go to frame", f"Frame (1–{n}):", self.player.current + 1, 1, n)
        if ok:
            self.player.seek(value - 1)

    def _on_shortcuts(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", shortcut_html(),
                          QMessageBox.StandardButton.Close, self)
        box.setObjectName("shortcuts_dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _on_frame_changed(self, index: int) -> None:
        if self.source is None:
            return
        ready = self._ready.pop(index, None)
        self._ready = {i: f for i, f in self._ready.items() if i > index}
        if self.player.playing and self._read_ahead is not None:
            self._read_ahead.want(index + 1, min(index + 1 + AHEAD, self.player.frame_count))
        try:
            self.canvas.set_frame(ready if ready is not None else self.source.frame(index))
        except EvoSamError as exc:
            self.statusBar().showMessage(str(exc), 5000)
        self.timeline.set_current(index)
        self._refresh_overlay()
        self.prefetch.on_frame_changed(index, self.player.playing)

    def _on_playing_changed(self, playing: bool) -> None:
        with QSignalBlocker(self.act.play):
            self.act.play.setChecked(playing)
        if playing and self._read_ahead is not None:
            start = self.player.current + 1
            self._read_ahead.want(start, min(start + AHEAD, self.player.frame_count))

    def _is_frame_ready(self, index: int) -> bool:
        ahead = self._read_ahead
        return ahead is None or index in self._ready or ahead.isFinished()  # finished: it could not open the video

    def _on_frame_ready(self, index: int, rgb: np.ndarray) -> None:
        if self.player.playing and index > self.player.current:
            self._ready[index] = rgb

    # -- jobs -------------------------------------------------------------------------
    def submit(self, job: Job, worker: ModelWorker | None = None, urgent: bool = False) -> Job:
        """Queue a job on the model worker (or ``worker``) and show it in the status bar while it runs;
        ``urgent`` jobs (prompts) go before queued ones and between the frames of a propagation."""
        self._jobs.append(job)
        job.tag = self._clip_id
        job.progress.connect(self.job_status.set_progress)
        job.error.connect(self.show_error)
        return (worker or self.worker).submit(job, urgent)

    def is_current(self, job: object) -> bool:
        """Whether a result's sender job belongs to the clip now shown (call from a slot with ``self.sender()``)."""
        return isinstance(job, Job) and job.tag == self._clip_id

    def _on_job_started(self, job: Job) -> None:
        self._running.append(job)
        self._show_running()

    def _on_job_finished(self, job: Job) -> None:
        for jobs in (self._jobs, self._running):
            if job in jobs:
                jobs.remove(job)
        if job is self._propagation:
            self._propagation = None
        self._show_running()

    def _show_running(self) -> None:
        """The status bar names the innermost running job (a prompt answered inside a propagation)."""
        if not self._running:
            self.job_status.clear()
            return
        job = self._running[-1]
        self.job_status.show_job(job.text, isinstance(job, (PropagateJob, ExportJob)),
                                 len(self._jobs) - len(self._running))

    def _on_model_loaded(self, description: str) -> None:
        self.model_info.setText(description)
        self.teaching.set_model(self.sender().model_name)
        self.point_prompts = self.sender().point_prompts
        self.model_name = self.sender().model_name

    def _on_model_failed(self, message: str) -> None:
        self.model_info.setText("No model loaded")
        self.model_info.setToolTip(message)

    def _on_status_message(self, message: str) -> None:
        self.mask_info.setVisible(not message)  # a temporary message would otherwise be drawn over it

    def _on_cancel(self) -> None:
        """Stop the running propagation and export (other jobs are short)."""
        for job in self._jobs:
            if isinstance(job, (PropagateJob, ExportJob)) and not job.cancelled:
                job.cancel()
                self.statusBar().showMessage(f"Cancelling: {job.text.lower()}…", 3000)

    def export(self, kind: str, out: str | Path) -> ExportJob | None:
        """Export the confirmed masks (``kind``: png, coco or video) to ``out`` in the background."""
        if self.state is None or not any(e.status == Status.CONFIRMED for _, e in self.state.items()):
            self.statusBar().showMessage("No confirmed masks to export: confirm masks with Enter first.", 5000)
            return None
        job = ExportJob(kind, self.projects.capture(), out, self.projects.video_path)
        job.result.connect(self._on_exported)
        return self.submit(job, self.io_worker)

    def _on_export(self, kind: str) -> None:
        ask = {"png": ("Export mask dataset to a new folder", ""), "coco": ("Export COCO JSON", "COCO (*.json)"),
               "video": ("Export overlay video", "Video (*.mp4)")}[kind]
        out, _ = QFileDialog.getSaveFileName(self, *ask)
        if out:
            self.export(kind, out)

    def _on_exported(self, summary: ExportSummary) -> None:
        what = f"{summary.masks} masks" + (f" and {summary.frames} frames" if summary.frames else "")
        text = "Export cancelled" if summary.cancelled else f"Exported {what} ({KINDS[summary.kind]}) to {summary.out}"
        self.statusBar().showMessage(text, 8000)
        self.exported.emit(summary)

    def show_error(self, message: str) -> None:
        """Show a failure without blocking: status bar plus a window-modal message box."""
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "EvoSAM Annotator", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.player.pause()
        self.hide()  # the wait below (the model call in progress) should not look like a hang
        self.teaching.stop_after_pending()  # confirmations already handed to the head are taught
        self.worker.stop()
        self.io_worker.stop()
        self.teaching.stop()
        self.projects.close()
        if self._read_ahead is not None:
            self._read_ahead.stop()
        if self.source is not None:
            self.source.close()
        super().closeEvent(event)
