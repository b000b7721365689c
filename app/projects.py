"""Projects of the open clip: open, save, save as, autosave, recent files (no widgets).

Every clip is autosaved from the moment it is opened: into the project folder the user chose
(File ▸ Save project as…), or, until then, into an untitled project in the user data folder
(``<data>/autosave/<video>-<fingerprint>.evosam``), so that a crash loses at most a few
seconds of work. The engine (``evosam.project``) does the writing, on the save worker
(``app.project_jobs``), which owns the autosaver: ticks from a 1 s timer, Ctrl+S, Save as and
the saves before a clip switch or closing capture the state here (immutable values, no
copies) and hand it over as a new value; opening a project, which reads every mask, runs
there too, after the saves queued before it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from app.display import plural
from app.jobs import Job, Worker, describe_error
from app.project_jobs import (
    AutosaveJob,
    FollowJob,
    OpenedProject,
    OpenProjectJob,
    ProjectContext,
    Saved,
    SaveJob,
    save_worker,
)
from evosam.annotations import AnnotationState
from evosam.paths import user_config_dir, user_data_dir
from evosam.project import Project, VideoRef, has_unsaved_journal
from evosam.project.files import write_atomic
from evosam.project.schema import MANIFEST

log = logging.getLogger(__name__)

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
    return autosave_dir() / f"{Path(ref.path).stem}-{ref.fingerprint[:10]}{SUFFIX}"


def autosave_dir() -> Path:
    """The folder of the untitled projects."""
    return user_data_dir() / "autosave"


def is_untitled(path: str | Path) -> bool:
    """Whether the project folder ``path`` is an untitled autosave (Ctrl+S asks where to save it)."""
    return Path(path).resolve().parent == autosave_dir().resolve()


@dataclass(frozen=True)
class SavedProject:
    """A project folder holding work on a video: ``masks`` in its last save, ``saved`` when it
    was last written (seconds since the epoch), ``untitled``: the video's autosave."""

    path: Path
    masks: int
    saved: float
    untitled: bool


def saved_projects(ref: VideoRef) -> list[SavedProject]:
    """The project folders that hold work on the video ``ref`` (same fingerprint), newest first:
    its untitled autosave and the projects in the recent list (manifests only: a few small reads)."""
    found: dict[Path, SavedProject] = {}
    for path in [untitled_path(ref), *(Path(p) for p in read_recent())]:
        manifest = path / MANIFEST
        try:
            raw = json.loads(manifest.read_text(encoding="utf-8"))
            if raw["video"]["fingerprint"] != ref.fingerprint:
                continue
            masks = len(raw["masks"])
            journal = has_unsaved_journal(path)
            saved = max([manifest.stat().st_mtime, *(p.stat().st_mtime for p in path.glob("journal*"))])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if masks or journal:
            found.setdefault(path.resolve(), SavedProject(path, masks, saved, is_untitled(path)))
    return sorted(found.values(), key=lambda s: s.saved, reverse=True)


class ProjectHost(Protocol):
    """What projects need from the controller."""

    def project_parts(self) -> tuple[AnnotationState, object, dict] | None:
        """(state, head state for saving, settings) of the open clip, None before one opens."""
        ...

    def submit(self, job: Job, worker: Worker | None = None, urgent: bool = False) -> Job: ...

    def show_project(self, opened: OpenedProject) -> None:
        """Show a project that was read (its video, masks and head)."""
        ...


class ProjectIO(QObject):
    """``saved(path)`` after every full save or explicit save; ``opened(path)`` after a project
    opened; ``message(text, ms)`` for the status bar; ``failed(exception)`` when a save the
    user asked for failed."""

    saved = Signal(str)
    opened = Signal(str)
    message = Signal(str, int)
    failed = Signal(object)

    def __init__(self, host: ProjectHost, parent: QObject | None = None, autosave_ms: int = 1000) -> None:
        super().__init__(parent)
        self.host = host
        self.path: Path | None = None
        self.untitled = True
        self._ref: VideoRef | None = None
        self._pending: AutosaveJob | None = None
        self.worker: Worker[ProjectContext] = save_worker(self)  # the one owner of the autosaver
        self.worker.job_finished.connect(self._on_job_finished)
        self._timer = QTimer(self, interval=autosave_ms)
        self._timer.timeout.connect(self.tick)
        self._timer.start()

    # -- following the controller's clip -----------------------------------------------
    def start(self, source: object, project_path: Path | None = None, last: Project | None = None) -> None:
        """A clip is shown (new state): autosave it into ``project_path`` (untitled if None)."""
        self._ref = VideoRef.of(source)
        self.untitled = project_path is None or is_untitled(project_path)
        self.path = untitled_path(self._ref) if project_path is None else Path(project_path)
        self._pending = None
        self.worker.submit(FollowJob(self.path, last))

    @property
    def ref(self) -> VideoRef | None:
        """The open clip's video reference (None before one opens)."""
        return self._ref

    @property
    def video_path(self) -> str:
        """The open clip's video (file or frame folder)."""
        return self._ref.path

    def capture(self) -> Project | None:
        """The project as it stands (immutable: safe to hand to a worker); None without a clip."""
        parts = self.host.project_parts()
        if parts is None or self._ref is None:
            return None
        state, head, settings = parts
        return Project.capture(self._ref, state, head, settings)

    def tick(self) -> AutosaveJob | None:
        """Capture the state here (cheap) and let the save worker persist it if due."""
        if self.path is None or self._pending is not None or (project := self.capture()) is None:
            return None
        job = AutosaveJob(project)
        job.result.connect(self._on_saved)
        job.error.connect(self._on_autosave_failed)
        self._pending = job
        return self.worker.submit(job)  # its own thread: no status-bar flicker, never behind an export

    def _on_autosave_failed(self, exc: BaseException) -> None:
        self.message.emit(f"Autosave failed: {describe_error(exc)}", 8000)

    def _on_quiet_save_failed(self, exc: BaseException) -> None:
        self.message.emit(f"Save failed: {describe_error(exc)}", 8000)

    def _on_job_finished(self, job: Job) -> None:
        if job is self._pending:
            self._pending = None

    def _on_saved(self, saved: Saved) -> None:
        if saved.request == "save_as":
            remember_recent(saved.path)
        if saved.request in ("save", "save_as"):
            if saved.message:
                self.message.emit(saved.message, 5000)
            self.saved.emit(str(saved.path))
        elif saved.what == "save":
            self.saved.emit(str(saved.path))

    # -- user commands -------------------------------------------------------------------
    def save(self) -> SaveJob | None:
        """Ctrl+S: save now in the background (None when untitled: ask where, then ``save_as``)."""
        if self.path is None or self.untitled:
            return None
        return self._save(None, f"Saved {self.path.name}")

    def save_as(self, path: str | Path) -> SaveJob | None:
        """Write the project to ``path`` (a folder, ``.evosam`` added) and keep saving there."""
        path = Path(path)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        if self.path is None:
            return None
        discard = self.path if self.untitled else None  # the untitled autosave: its work moves to ``path``
        self.path, self.untitled = path, False
        return self._save(path, f"Saved project {path}", discard)

    def _save(self, path: Path | None, message: str, discard: Path | None = None) -> SaveJob | None:
        project = self.capture()
        if project is None:
            return None
        job = SaveJob(project, path, "save" if path is None else "save_as", message, discard)
        job.result.connect(self._on_saved)
        job.error.connect(self.failed)
        return self.worker.submit(job)

    def suggested_name(self) -> str:
        """The folder name Save as proposes."""
        return Path(self._ref.path).stem + SUFFIX if self._ref is not None else "project" + SUFFIX

    def open(self, path: str | Path, failed: Callable[[BaseException], None] | None = None) -> OpenProjectJob:
        """Open a project folder in the background (after saving this clip's changes); the
        controller shows it when it is read. ``failed``: called too when it cannot be."""
        self.flush_quietly()
        job = OpenProjectJob(path)
        job.result.connect(self._on_opened)
        if failed is not None:
            job.error.connect(failed)
        return self.host.submit(job, self.worker)

    def _on_opened(self, opened: OpenedProject) -> None:
        self.host.show_project(opened)
        untitled = is_untitled(opened.path)
        if not untitled:
            remember_recent(opened.path)
        recovered = opened.project.recovered
        masks = plural(len(opened.project.masks), "mask")
        if untitled:
            text = f"Resumed the autosaved work on {Path(opened.project.video.path).name}: {masks}"
        else:
            text = f"Opened {opened.path.name}: {masks}"
        text += f", {plural(recovered, 'unsaved change')} recovered" if recovered else ""
        self.message.emit(text + (" (untitled: File ▸ Save project as… names it)" if untitled else ""), 10000)
        self.opened.emit(str(opened.path))

    def flush_quietly(self) -> SaveJob | None:
        """Save pending changes (closing, switching clips) in the background; failures go to
        the status bar."""
        if self.path is None or (project := self.capture()) is None:
            return None
        job = SaveJob(project, None, "quiet")
        job.error.connect(self._on_quiet_save_failed)
        return self.worker.submit(job)

    def close(self, timeout_ms: int = 30000) -> bool:
        """Closing: save what is left, wait at most ``timeout_ms`` for the saves queued, then
        end the thread (saves not started by then are dropped; the one in progress
        finishes). Returns whether every save ran."""
        self._timer.stop()
        self.flush_quietly()
        done = self.worker.finish_pending(timeout_ms)
        if not done:
            log.warning("saves still pending after %d ms: the last changes may be lost", timeout_ms)
        self.worker.stop()
        return done


def is_project(path: str | Path) -> bool:
    """Whether ``path`` is a project folder (else a video or frame folder)."""
    return Path(path).is_dir() and (Path(path) / "project.json").is_file()
