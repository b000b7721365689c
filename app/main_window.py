"""The main window: composes the widgets, shows the controller's state, forwards gestures.

The annotation state, the workers and the jobs belong to the ``AnnotationController``
(``app.controller``); the window draws what its signals say and turns menu actions,
shortcuts and canvas gestures into its calls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.actions import Actions, add_toolbar_and_menus, build_actions, shortcut_html
from app.canvas import Canvas, Tool
from app.controller import AnnotationController
from app.dialogs import Dialogs
from app.display import describe_mask, mark_kind, other_masks, plural
from app.export import KINDS, ExportJob, ExportSummary, which_masks
from app.jobs import describe_error
from app.labels import LabelPanel
from app.learning import LearningPanel, add_dock
from app.learning_controls import LearningControls
from app.playback import PlaybackFrames
from app.preferences import keep_options
from app.projects import read_recent
from app.prompts import DRAFT_MESSAGE
from app.readahead import ReadAhead
from app.review import AcceptRunDialog, default_run
from app.sources import VideoSource, open_source
from app.state import AnnotationState, FrameMask, Status
from app.status import JobStatus
from app.timeline import Timeline
from app.workers import LoadModelJob, ModelLoaded, PredictResult, PropagateJob
from evosam.errors import EvoSamError
from evosam.models import SamBackend
from evosam.models.cache import EmbeddingCache

__all__ = ["MainWindow", "VideoSource", "open_source"]


class MainWindow(QMainWindow):
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
        self.controller = c = AnnotationController(cache, prefetch_ms, self)
        self.player, self.teaching, self.projects = c.player, c.teaching, c.projects
        self.playback = PlaybackFrames(self.player, self)
        self.dialogs = Dialogs(self, c)
        self._build_ui()
        self._connect()
        keep_options(self.act.all)  # after ``_connect``: a kept option reaches its handlers
        self._on_state_changed([])
        c.load_model(model_factory, load_text)

    # -- what the controller holds (read-only views) -----------------------------------------
    @property
    def state(self) -> AnnotationState | None:
        return self.controller.state

    @property
    def label(self) -> str:
        return self.controller.label

    @property
    def source(self) -> VideoSource | None:
        return self.controller.source

    @property
    def read_ahead(self) -> ReadAhead | None:
        """The thread that decodes the next frames while playing (one per clip)."""
        return self.playback.read_ahead

    def current_mask(self) -> FrameMask | None:
        """The current label's mask on the current frame."""
        return self.controller.current_mask()

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
        self.learning_controls = LearningControls(self.teaching, self.learning_panel, self, self.dialogs.folder)
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
        a, c = self.act, self.controller
        handlers = {
            "open": self.dialogs.open_video,
            "open_folder": self.dialogs.open_folder,
            "quit": self.close,
            "export": lambda: self.dialogs.export("png"),
            "export_coco": lambda: self.dialogs.export("coco"),
            "export_video": lambda: self.dialogs.export("video"),
            "open_project": self.dialogs.open_project,
            "save": self.dialogs.save,
            "save_as": self.dialogs.save_as,
            "play": self.player.toggle,
            "next": lambda: self.player.step(1),
            "prev": lambda: self.player.step(-1),
            "first": lambda: self.player.seek(0),
            "last": lambda: self.player.seek(self.player.frame_count - 1),
            "jump": self.dialogs.jump,
            "fit": self.canvas.fit,
            "bigger": lambda: self.brush_size.setValue(round(self.brush_size.value() * 1.25) + 1),
            "smaller": lambda: self.brush_size.setValue(round(self.brush_size.value() / 1.25)),
            "undo": c.undo,
            "redo": c.redo,
            "clear": c.clear_mask,
            "confirm": c.confirm,
            "reject": c.reject,
            "propagate_forward": lambda: c.propagate(backward=False),
            "propagate_backward": lambda: c.propagate(backward=True),
            "next_review": c.next_to_review,
            "accept_run": self._on_accept_run,
            "cancel": self._on_cancel,
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
        self.recent_menu.aboutToShow.connect(lambda: self._fill_recent_menu(self.recent_menu))
        self.canvas.box_drawn.connect(c.prompt_box)
        self.canvas.point_clicked.connect(c.prompt_point)
        self.canvas.stroke_drawn.connect(c.paint)
        self.canvas.space_tapped.connect(self.player.toggle)
        self.canvas.box_started.connect(lambda: self.statusBar().showMessage(f"box → label '{self.label}'", 4000))
        self.canvas.refused.connect(lambda why: self.statusBar().showMessage(why, 5000))
        self.timeline.seek_requested.connect(self.player.seek)
        self.player.frame_changed.connect(self._on_frame_changed)
        self.player.playing_changed.connect(self._on_playing_changed)
        self.labels.label_selected.connect(c.select_label)
        self.labels.add_requested.connect(c.add_label)
        self.job_status.cancel_requested.connect(self._on_cancel)
        self.statusBar().messageChanged.connect(self._on_status_message)
        c.state_changed.connect(self._on_state_changed)
        c.clip_changed.connect(self._on_clip_changed)
        c.labels_changed.connect(self._on_labels_changed)
        c.label_changed.connect(self._on_label_changed)
        c.box_shown.connect(self.canvas.show_box)
        c.points_shown.connect(self.canvas.show_points)
        c.overlay_stale.connect(self._refresh_overlay)
        c.draft_shown.connect(self._on_draft)
        c.draft_ended.connect(self._on_draft_ended)
        c.message.connect(self.statusBar().showMessage)
        c.failed.connect(self._on_failed)
        c.model_loaded.connect(self._on_model_loaded)
        c.model_failed.connect(self._on_model_failed)
        c.propagation_finished.connect(self.propagation_finished)
        c.propagation.reached.connect(lambda f: self.player.seek(f) if a.follow.isChecked() else None)
        a.fast_propagation.toggled.connect(c.propagation.set_fast)
        c.propagation.set_fast(a.fast_propagation.isChecked())  # the action is the one source of the mode
        a.redetect.toggled.connect(c.propagation.set_redetect)
        c.propagation.set_redetect(a.redetect.isChecked())
        c.exported.connect(self._on_exported)
        c.saved_project_found.connect(self.dialogs.offer_project)
        c.jobs.changed.connect(self._show_running)
        c.jobs.progress.connect(self.job_status.set_progress)

    # -- gestures, forwarded (scripts and tests drive the window through these) ----------------
    def set_video(self, source: VideoSource, path: str | Path, project=None, project_path: Path | None = None) -> None:
        """Show a newly opened clip (see ``AnnotationController.set_video``)."""
        self.controller.set_video(source, path, project, project_path)

    def open_path(self, path: str) -> None:
        """Open a video or frame folder in the background (this clip's work is autosaved)."""
        self.controller.open_path(path)

    def prompt_box(self, box: tuple[float, float, float, float]):
        return self.controller.prompt_box(box)

    def prompt_point(self, x: float, y: float, positive: bool):
        return self.controller.prompt_point(x, y, positive)

    def propagate(self, backward: bool = False) -> PropagateJob | None:
        return self.controller.propagate(backward)

    def export(self, kind: str, out: str | Path) -> ExportJob | None:
        """Export (``kind``: png, coco or video; see ``AnnotationController.export``) to ``out``."""
        return self.controller.export(kind, out)

    def undo(self) -> None:
        self.controller.undo()

    def redo(self) -> None:
        self.controller.redo()

    def confirm(self) -> None:
        self.controller.confirm()

    def reject(self) -> None:
        self.controller.reject()

    def clear_mask(self) -> None:
        self.controller.clear_mask()

    def set_tool(self, tool: Tool) -> None:
        self.canvas.set_tool(tool)
        self.act.all[tool.value].setChecked(True)

    # -- the clip ---------------------------------------------------------------------
    def _on_clip_changed(self, name: str) -> None:
        c = self.controller
        self.dialogs.close_offer()
        self.playback.set_video(c.video_path)
        self._on_labels_changed()
        self.setWindowTitle(f"{name} — EvoSAM Annotator")
        self.timeline.set_clip(c.source.frame_count, c.source.fps)
        self._refresh_marks()
        self.canvas.setFocus()

    def _on_labels_changed(self) -> None:
        if self.state is not None:
            self.labels.set_labels(self.state.labels, self.label)
            self.canvas.set_label(self.label, self.state.label(self.label).color)

    def _on_label_changed(self, name: str) -> None:
        self.canvas.set_label(name, self.state.label(name).color)
        self._refresh_marks()
        self._refresh_overlay()

    def _on_frame_changed(self, index: int) -> None:
        if self.source is None:
            return
        ready = self.playback.take(index)
        try:
            self.canvas.set_frame(ready if ready is not None else self.source.frame(index))
        except EvoSamError as exc:
            self.statusBar().showMessage(str(exc), 5000)
        self.timeline.set_current(index)
        self._refresh_overlay()

    def _on_playing_changed(self, playing: bool) -> None:
        with QSignalBlocker(self.act.play):
            self.act.play.setChecked(playing)

    # -- showing the state ------------------------------------------------------------------
    def _on_state_changed(self, frames: list[int]) -> None:
        state = self.state
        for f in frames:
            self.timeline.set_mark(f, mark_kind(None if state is None else state.entry(f, self.label)))
        if self.player.current in frames:
            self._refresh_overlay()
        self.act.undo.setEnabled(state is not None and state.can_undo)
        self.act.redo.setEnabled(state is not None and state.can_redo)
        if frames:
            self.annotation_changed.emit(frames)

    def _refresh_marks(self) -> None:
        if self.state is not None:
            self.timeline.set_marks({f: mark_kind(e) for f, e in self.state.entries(self.label).items()})

    def _refresh_overlay(self) -> None:
        frame, state, label = self.player.current, self.state, self.label
        fm = self.current_mask()
        color = state.label(label).color if state is not None else (0, 200, 255)
        rejected = fm is not None and fm.status == Status.REJECTED
        prompts = self.controller.prompts
        self.canvas.set_mask(None if fm is None else fm.mask, color, faded=rejected)
        self.canvas.show_box(prompts.boxes.get((frame, label)) if fm is not None and not rejected else None)
        self.canvas.set_other_masks(other_masks(state, frame, label))
        self.canvas.show_points(prompts.points.get((frame, label), []) if fm is not None else [])
        self.mask_info.setText(describe_mask(fm, label))

    def _on_draft(self, res: PredictResult) -> None:
        """SAM's mask for a box, shown while the head refines it (the state is not changed)."""
        self.canvas.set_mask(res.mask, self.state.label(res.label).color)
        self.statusBar().showMessage(DRAFT_MESSAGE, 2000)
        self.draft_shown.emit(res)

    def _on_draft_ended(self) -> None:
        if self.statusBar().currentMessage() == DRAFT_MESSAGE:
            self.statusBar().clearMessage()

    # -- jobs and the model -------------------------------------------------------------
    def _show_running(self) -> None:
        """The status bar names the innermost running job (a prompt answered inside a propagation)."""
        jobs = self.controller.jobs
        job = jobs.running
        if job is None:
            self.job_status.clear()
            return
        self.job_status.show_job(job.text, isinstance(job, (PropagateJob, ExportJob)), jobs.queued, job.unit)

    def _on_model_loaded(self, loaded: ModelLoaded) -> None:
        self.model_info.setText(loaded.description)

    def _on_model_failed(self, exc: BaseException) -> None:
        self.model_info.setText("No model loaded")
        self.model_info.setToolTip(describe_error(exc))

    def _on_status_message(self, message: str) -> None:
        self.mask_info.setVisible(not message)  # a temporary message would otherwise be drawn over it

    def _on_cancel(self) -> None:
        self.controller.cancel()

    def _on_failed(self, exc: BaseException) -> None:
        self.show_error(describe_error(exc))

    def show_error(self, message: str) -> None:
        """Show a failure without blocking: status bar plus a window-modal message box."""
        self.statusBar().showMessage(message, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "EvoSAM Annotator", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- dialogs ------------------------------------------------------------------------
    def _fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        items = read_recent()
        for item in items:
            action = menu.addAction(item)
            action.triggered.connect(lambda _=False, p=item: self.controller.open_recent(p))
        if not items:
            menu.addAction("(none yet)").setEnabled(False)

    def _on_accept_run(self) -> None:
        """Ask which proposals (frames, lowest confidence), then confirm them as one step."""
        if self.state is None:
            return
        default = default_run(self.state, self.label, self.player.current)
        dialog = AcceptRunDialog(self, self.player.frame_count, default, self.label)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.controller.accept_run(dialog.choice())

    def _on_shortcuts(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.NoIcon, "Keyboard shortcuts", shortcut_html(), QMessageBox.StandardButton.Close, self
        )
        box.setObjectName("shortcuts_dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _on_exported(self, summary: ExportSummary) -> None:
        what = f"{plural(summary.masks, 'mask')} ({which_masks(summary.kind)})" + (
            f" and {plural(summary.frames, 'frame')}" if summary.frames else ""
        )
        text = "Export cancelled" if summary.cancelled else f"Exported {what} as {KINDS[summary.kind]} to {summary.out}"
        self.statusBar().showMessage(text, 8000)
        self.exported.emit(summary)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.player.pause()
        self.hide()  # the waits below (the model call in progress, the last save) should not look like a hang
        self.controller.close()
        self.playback.stop()
        super().closeEvent(event)
