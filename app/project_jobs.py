"""The save worker's jobs: it owns the ``Autosaver`` (in its ``ProjectContext``), so every
write of the project folder (autosave ticks, Ctrl+S, Save as, the save before a clip
switch or closing) and every read of a project runs there, in order. The GUI thread only
captures the project (immutable values, no copies) and hands it over as a new value.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject

from app.jobs import Job, Worker
from app.workers import FrameReader
from evosam.errors import EvoSamError
from evosam.project import Autosaver, Project, VideoRef, load_project, locate_video
from evosam.video import open_video


@dataclass
class ProjectContext:
    """The save worker's: the autosaver of the open clip's folder and the latest project a
    job handed over (what the autosaver captures); touched on that thread only."""

    autosaver: Autosaver | None = None
    latest: Project | None = None

    def current(self) -> Project:
        """The autosaver's capture: the project the running job brought."""
        if self.latest is None:
            raise EvoSamError("nothing to save yet")
        return self.latest

    def follow(self, path: Path, last: Project | None = None) -> None:
        """Autosave into ``path`` from now on (``last``: what the folder holds, None for a new one)."""
        self.autosaver = Autosaver(path, self.current, last=last)

    def close(self) -> None:
        pass


ProjectJob = Job[ProjectContext]


def save_worker(parent: QObject | None = None) -> Worker[ProjectContext]:
    """The one thread that reads and writes project folders."""
    return Worker(ProjectContext(), parent, "SaveWorker")


class FollowJob(ProjectJob):
    """A clip is shown: autosave it into ``path`` (``last``: the project read from there)."""

    text = "Preparing the project"

    def __init__(self, path: Path, last: Project | None) -> None:
        super().__init__()
        self.path, self.last = path, last

    def run(self, ctx: ProjectContext) -> Path:
        ctx.follow(self.path, self.last)
        ctx.latest = None
        return self.path


@dataclass(frozen=True)
class Saved:
    """What a save job did to the folder ``path``: ``what`` is "journal", "save" or None
    (nothing was due); ``request``: "tick", "save" (Ctrl+S), "save_as" or "quiet"."""

    path: Path
    what: str | None
    request: str
    message: str = ""


class AutosaveJob(ProjectJob):
    """One autosave tick with ``project`` captured on the GUI thread (a full save encodes
    PNGs and writes the head: hundreds of ms the window must not wait for)."""

    text = "Autosaving"

    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project

    def run(self, ctx: ProjectContext) -> Saved:
        if ctx.autosaver is None:
            raise EvoSamError("no project folder to save into")
        ctx.latest = self.project
        return Saved(ctx.autosaver.path, ctx.autosaver.tick(), "tick")


class SaveJob(ProjectJob):
    """Save ``project`` now if anything changed; with ``path``, into that folder from now on
    (Save as). ``request``: "save", "save_as" (the user asked) or "quiet" (a clip switch, closing).
    ``discard``: a folder whose work the save now holds (the untitled autosave a Save as
    replaces), deleted once the save is written (kept if it fails)."""

    text = "Saving the project"

    def __init__(
        self,
        project: Project,
        path: Path | None = None,
        request: str = "save",
        message: str = "",
        discard: Path | None = None,
    ) -> None:
        super().__init__()
        self.project, self.path, self.request, self.message = project, path, request, message
        self.discard = discard

    def run(self, ctx: ProjectContext) -> Saved:
        if self.path is not None:
            ctx.follow(self.path)
        if ctx.autosaver is None:
            raise EvoSamError("no project folder to save into")
        ctx.latest = self.project
        wrote = ctx.autosaver.flush()
        if self.discard is not None and self.discard.resolve() != ctx.autosaver.path.resolve():
            shutil.rmtree(self.discard, ignore_errors=True)
        return Saved(ctx.autosaver.path, "save" if wrote else None, self.request, self.message)


@dataclass(frozen=True)
class OpenedProject:
    """A project read from ``path`` with its video (``source``, opened from ``video_path``)."""

    project: Project
    source: FrameReader
    video_path: Path
    path: Path


class OpenProjectJob(ProjectJob):
    """Read a project and open its video (checked against its fingerprint); after every save
    queued before it, so a project reopened holds the changes just made."""

    text = "Opening project"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)

    def run(self, ctx: ProjectContext) -> OpenedProject:
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
        return OpenedProject(project, source, video_path, self.path)
