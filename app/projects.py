"""Projects in the window: open, save, save as, autosave, recent files.

Every clip is autosaved from the moment it is opened: into the project folder the user chose
(File ▸ Save project as…), or, until then, into an untitled project in the user data folder
(``<data>/autosave/<video>-<fingerprint>.evosam``), so that a crash loses at most a few
seconds of work. The engine (``evosam.project``) does the writing; ticks run on the GUI
thread from a 1 s timer capture the state (immutable values, no copies) and hand it to the
file worker, which appends to the journal or writes a full save; opening a project, which
reads every mask, runs there too. Explicit saves (Ctrl+S, closing) write from the GUI
thread once the worker is idle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMenu

from app.workers import Job, ModelContext, ModelWorker
from evosam.errors import EvoSamError
from evosam.paths import user_config_dir, user_data_dir
from evosam.project import Autosaver, Project, VideoRef, load_project, locate_video
from evosam.project.files import write_atomic
from evosam.video import open_video

if TYPE_CHECKING:
    from app.main_window import MainWindow

SUFFIX = ".evosam"
RECENT_MAX = 10


def recent_file() -> Path:
    return user_config_dir() / "recent.json"


def read_recent() -> list[str]:
    """Recently opened videos and projects, newest first (a damaged list reads as empty)."""
    try:
        items = json.loads(recent_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(p) for p in items if isinstance(p, str)][:RECENT_MAX] if isinstance(items, list) else []


def remember_recent(path: str | Path) -> None:
    """Put ``path`` first in the recent list (best effort: a read-only config folder is no error)."""
    item = str(Path(path).resolve())
    items = [item] + [p for p in read_recent() if p != item]
    try:
        recent_file().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(recent_file(), json.dumps(items[:RECENT_MAX], indent=1).encode())
    except OSError:
        pass


def untitled_path(ref: VideoRef) -> Path:
    """Where an untitled project of the video ``ref`` autosaves."""
    return user_data_dir() / "autosave" / f"{Path(ref.path).stem}-{ref.fingerprint[:10]}{SUFFIX}"


class OpenProjectJob(Job):
    """File worker: read a project and open its video (checked against its fingerprint);
    result: ``(project, video source, video path)``."""

    text = "Opening project"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)

    def run(self, ctx: ModelContext) -> tuple[Project, object, Path]:
        project = load_project(self.path)
        video_path = locate_video(self.path, project.video)
        source = open_video(video_path)
        try:
            project.video.check(source)
        except EvoSamError:
            source.close()
            raise
        if Path(project.video.path) != video_path.resolve():
            project = project.with_video(VideoRef.of(source))  # the video moved: remember where it is now
        return project, source, video_path


class AutosaveJob(Job):
    """File worker: one autosave tick with a project captured on the GUI thread (a full save
    encodes PNGs and writes the head: hundreds of ms the window must not wait for). Only this
    worker touches the ``Autosaver`` while the window runs; result: what the tick did."""

    text = "Autosaving"

    def __init__(self, saver: Autosaver, project: Project) -> None:
        super().__init__()
        self.saver, self.project = saver, project

    def run(self, ctx: ModelContext) -> str | None:
        self.saver.capture = lambda: self.project
        return self.saver.tick()


class ProjectIO(QObject):
    """``saved(path)`` after every full save or explicit save; ``opened(path)`` after a project opened."""

    saved = Signal(str)
    opened = Signal(str)

    def __init__(self, window: MainWindow, autosave_ms: int = 1000) -> None:
        super().__init__(window)
        self.window = window
        self.path: Path | None = None
        self.untitled = True
        self.autosaver: Autosaver | None = None
        self._ref: VideoRef | None = None
        self._pending: AutosaveJob | None = None
        self.worker = ModelWorker(parent=window, name="SaveWorker")  # the only toucher of the Autosaver meanwhile
        self._timer = QTimer(self, interval=autosave_ms)
        self._timer.timeout.connect(self.tick)
        self._timer.start()

    # -- following the window's clip ---------------------------------------------------
    def start(self, source: object, project_path: Path | None = None, last: Project | None = None) -> None:
        """A clip is shown (new state): autosave it into ``project_path`` (untitled if None)."""
        self._ref = VideoRef.of(source)
        self.untitled = project_path is None
        self.path = untitled_path(self._ref) if project_path is None else Path(project_path)
        self._idle_worker()
        self._pending = None
        self.autosaver = Autosaver(self.path, self._capture, last=last)

    @property
    def video_path(self) -> str:
        """The open clip's video (file or frame folder)."""
        return self._ref.path

    def capture(self) -> Project:
        """The project as it stands (immutable: safe to hand to a worker)."""
        return self._capture()

    def _capture(self) -> Project:
        w = self.window
        settings = {"label": w.label, "frame": w.player.current}
        return Project.capture(self._ref, w.state, w.teaching.head_for_saving(), settings)

    def tick(self) -> AutosaveJob | None:
        """Capture the state here (cheap) and let the file worker persist it if due."""
        if self.autosaver is None or self.window.state is None or self._pending is not None:
            return None
        job = AutosaveJob(self.autosaver, self._capture())
        job.result.connect(self._on_autosaved)
        job.error.connect(lambda message: self.window.statusBar().showMessage(f"Autosave failed: {message}", 8000))
        job.finished.connect(self._on_autosave_finished)
        self._pending = job
        return self.worker.submit(job)  # its own thread: no status-bar flicker, never behind an export

    def _on_autosaved(self, what: str | None) -> None:
        if what == "save" and self.sender() is self._pending:
            self.saved.emit(str(self.path))

    def _on_autosave_finished(self) -> None:
        if self.sender() is self._pending:
            self._pending = None

    def _idle_worker(self) -> None:
        """Let a running autosave finish before the GUI thread writes the project itself."""
        if self.worker.isRunning():
            self.worker.finish_pending(30000)
        if self.autosaver is not None:
            self.autosaver.capture = self._capture

    # -- user commands -------------------------------------------------------------------
    def save(self) -> bool:
        """Ctrl+S: save now; an untitled project first asks where (returns False if cancelled)."""
        if self.autosaver is None:
            return False
        if self.untitled:
            return self.save_as_dialog()
        return self._flush(f"Saved {self.path.name}")

    def save_as(self, path: str | Path) -> bool:
        """Write the project to ``path`` (a folder, ``.evosam`` added) and keep saving there."""
        path = Path(path)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        self._idle_worker()
        self.path, self.untitled = path, False
        self.autosaver = Autosaver(path, self._capture)
        ok = self._flush(f"Saved project {path}")
        if ok:
            remember_recent(path)
        return ok

    def _flush(self, message: str) -> bool:
        self._idle_worker()
        try:
            self.autosaver.flush()
        except EvoSamError as exc:
            self.window.show_error(str(exc))
            return False
        self.window.statusBar().showMessage(message, 5000)
        self.saved.emit(str(self.path))
        return True

    def save_as_dialog(self) -> bool:
        name = Path(self._ref.path).stem + SUFFIX if self._ref is not None else "project" + SUFFIX
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project as (a folder)", name, f"Projects (*{SUFFIX})")
        return bool(path) and self.save_as(path)

    def open(self, path: str | Path) -> OpenProjectJob:
        """Open a project folder in the background; the window shows it when it is read."""
        self.flush_quietly()
        job = OpenProjectJob(path)
        job.result.connect(self._on_opened)
        return self.window.submit(job, self.window.io_worker)

    def open_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open project (a .evosam folder)")
        if path:
            self.open(path)

    def _on_opened(self, opened: tuple[Project, object, Path]) -> None:
        project, source, video_path = opened
        job = self.sender()
        w = self.window
        w.set_video(source, video_path, project=project, project_path=job.path)
        remember_recent(job.path)
        w.statusBar().showMessage(
            f"Opened {job.path.name}: {len(project.masks)} masks"
            + (f", {project.recovered} unsaved changes recovered" if project.recovered else ""), 8000)
        self.opened.emit(str(job.path))

    def flush_quietly(self) -> None:
        """Save pending changes (closing, switching clips); failures go to the status bar."""
        if self.autosaver is not None and self.window.state is not None:
            self._idle_worker()
            try:
                self.autosaver.flush()
            except EvoSamError as exc:
                self.window.statusBar().showMessage(f"Save failed: {exc}", 8000)

    def close(self) -> None:
        """Closing the window: let the last autosave finish, stop the thread, save what is left."""
        self._timer.stop()
        self._idle_worker()
        self.worker.stop()
        self.flush_quietly()

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        items = read_recent()
        for item in items:
            action = menu.addAction(item)
            action.triggered.connect(lambda _=False, p=item: self.open_recent(p))
        if not items:
            menu.addAction("(none yet)").setEnabled(False)

    def open_recent(self, path: str) -> None:
        if Path(path).is_dir() and (Path(path) / "project.json").is_file():
            self.open(path)
        else:
            self.window.open_path(path)
