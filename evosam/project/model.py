"""The project record: the video it annotates, labels, masks, the learner and settings.

A ``Project`` is a plain value: the GUI builds one from its state (``Project.capture``),
``save_project`` writes it, ``load_project`` reads it back. Masks are ``PackedMask`` values
keyed by ``(frame index, label name)``; frame sizes are (H, W).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evosam.annotations import AnnotationState, Key, Label, PackedMask
from evosam.errors import ProjectError
from evosam.project.schema import LEARNER_KIND

if TYPE_CHECKING:
    from evosam.head import EvoHead
    from evosam.learning import Learner
    from evosam.video import VideoSource


@dataclass(frozen=True)
class VideoRef:
    """Where the annotated video was and what it contained: ``fingerprint`` is
    ``VideoSource.fingerprint()`` (sha256 of size and first/last MiB for a file; names,
    sizes and first image for a frame folder); ``size`` is (H, W)."""

    path: str
    fingerprint: str
    frame_count: int
    size: tuple[int, int]

    @classmethod
    def of(cls, video: VideoSource) -> VideoRef:
        """The reference of an open video (reads at most 2 MiB for the fingerprint)."""
        return cls(str(Path(video.path).resolve()), video.fingerprint(), int(video.frame_count), tuple(video.size))

    def check(self, video: VideoSource) -> None:
        """Raise ProjectError (one line) when ``video`` is not the annotated video."""
        problems = []
        if int(video.frame_count) != self.frame_count:
            problems.append(f"{video.frame_count} frames instead of {self.frame_count}")
        if tuple(video.size) != tuple(self.size):
            problems.append(f"{video.size[1]}x{video.size[0]} instead of {self.size[1]}x{self.size[0]}")
        if not problems and video.fingerprint() != self.fingerprint:
            problems.append("its content changed")
        if problems:
            raise ProjectError(f"{video.path}: not the video this project annotates ({'; '.join(problems)})")


@dataclass(frozen=True)
class HeadFile:
    """A saved head state inside a project folder, not loaded yet (loading needs torch).
    ``kind``: ``learner`` (``Learner.save``: per-label heads and every taught frame's
    samples) or ``head`` (one ``EvoHead`` for every label, as schema 2 projects stored it)."""

    path: Path
    model: str
    kind: str = LEARNER_KIND

    @property
    def legacy(self) -> bool:
        """A single head of an older project: the annotator re-teaches it from the masks."""
        return self.kind != LEARNER_KIND


@dataclass(frozen=True)
class Project:
    """Everything a project saves. ``head``: a ``Learner`` (a snapshot nobody changes
    any more: it is saved from another thread), a bare ``EvoHead``, a ``HeadFile`` not
    loaded yet, or None (untaught); ``settings``: JSON-compatible values; ``recovered``: journal records replayed
    when it was loaded (unsaved work recovered after a crash)."""

    video: VideoRef
    labels: tuple[Label, ...]
    masks: Mapping[Key, PackedMask]
    head: Learner | EvoHead | HeadFile | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    recovered: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        names = [lab.name for lab in self.labels]
        if len(set(names)) != len(names):
            raise ProjectError(f"duplicate label names in {names}")
        try:
            json.dumps(dict(self.settings), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ProjectError(f"project settings are not plain JSON values ({exc})") from None

    @classmethod
    def capture(
        cls,
        video: VideoRef,
        state: AnnotationState,
        head: Learner | EvoHead | HeadFile | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Project:
        """A snapshot of the GUI's state (cheap: masks are immutable and not copied)."""
        return cls(video, tuple(state.labels), state.snapshot(), head, dict(settings or {}))

    def to_state(self) -> AnnotationState:
        """A fresh ``AnnotationState`` holding the project's masks (empty undo history)."""
        try:
            return AnnotationState.restored(self.video.frame_count, self.video.size, self.labels, self.masks)
        except ValueError as exc:
            raise ProjectError(f"the project does not fit its video: {exc}") from None

    def with_video(self, video: VideoRef) -> Project:
        """The same project pointing at another copy of its video (already checked)."""
        return replace(self, video=video)

    def load_head(self, model_name: str) -> Learner | EvoHead | None:
        """The project's head state loaded: a ``Learner`` (an ``EvoHead`` for a single-head
        file). Loading a ``HeadFile`` needs torch and raises InputError (one line naming the
        file) for another model, another feature set or version, or a corrupt file."""
        if self.head is None or not isinstance(self.head, HeadFile):
            return self.head
        from evosam.head.persist import load_learner

        return load_learner(self.head.path, model_name)


def locate_video(project_path: str | Path, ref: VideoRef, also: Sequence[str | Path] = ()) -> Path:
    """The project's video on this machine: its recorded path, else a file or folder of the
    same name next to the project (or in ``also``). ProjectError when none is found; the
    caller still checks the content with ``ref.check(open_video(path))``."""
    folder = Path(project_path).resolve().parent
    name = Path(ref.path).name
    candidates = [Path(ref.path), folder / name, *(Path(d) / name for d in also)]
    for cand in candidates:
        if cand.exists():
            return cand
    raise ProjectError(f"{ref.path}: the project's video is missing (also looked next to the project); locate it")
