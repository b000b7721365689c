"""Shared pieces of the exporters: choosing masks, staging output so nothing partial is left."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evosam.annotations import Label, PackedMask, Status
from evosam.errors import InputError
from evosam.imageio import as_new_file
from evosam.project import Project

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Selected:
    """One mask chosen for export: its label, frame index and packed mask."""

    label: Label
    frame: int
    packed: PackedMask

    @property
    def mask(self) -> np.ndarray:
        """bool (H, W)."""
        return self.packed.unpack().mask


def frame_stem(frame: int) -> str:
    """The file stem of a frame: zero-padded index, as ``evosam propagate`` writes (``000017``)."""
    return f"{frame:06d}"


def safe_name(name: str) -> str:
    """A label name made safe as one folder name (odd characters -> ``_``)."""
    return re.sub(r"[^\w\-. ]", "_", name).strip(" .")[:60] or "label"


def pick_labels(project: Project, names: Sequence[str] | None) -> list[Label]:
    """The project's labels named in ``names`` (all when None), in project order."""
    if not names:
        return list(project.labels)
    known = {lab.name: lab for lab in project.labels}
    missing = [n for n in names if n not in known]
    if missing:
        raise InputError(f"no label {missing[0]!r} in the project (labels: {', '.join(known)})")
    return [lab for lab in project.labels if lab.name in set(names)]


def select(project: Project, labels: Sequence[str] | None, statuses: Collection[Status]) -> list[Selected]:
    """Masks of the chosen labels and statuses, by label (project order) then frame."""
    chosen = pick_labels(project, labels)
    order = {lab.name: i for i, lab in enumerate(chosen)}
    wanted = {Status(s) for s in statuses}
    out = [
        Selected(chosen[order[label]], frame, packed)
        for (frame, label), packed in project.masks.items()
        if label in order and packed.status in wanted
    ]
    return sorted(out, key=lambda s: (order[s.label.name], s.frame))


def why(exc: OSError) -> str:
    return exc.strerror or str(exc)


@contextlib.contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A temp folder beside ``out`` that becomes ``out`` when the block succeeds and is
    removed when it fails: an export is complete or absent. ``out`` must be new or empty."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: exists and is not an empty folder; choose a new output folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise InputError(f"{out.parent}: cannot write there ({why(exc)})") from None
    try:
        yield tmp
        as_new_file(tmp, folder=True)  # mkdtemp made it owner-only
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"{out}: cannot write the export ({why(exc)}); nothing was left behind") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def staged_file(out: Path) -> Iterator[Path]:
    """A temp file beside ``out`` (same suffix) that replaces ``out`` when the block succeeds."""
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".tmp{out.suffix}", dir=out.parent)
        os.close(fd)
    except OSError as exc:
        raise InputError(f"{out.parent}: cannot write there ({why(exc)})") from None
    tmp = Path(name)
    try:
        yield tmp
        as_new_file(tmp)  # mkstemp made it owner-only
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{out}: cannot write ({why(exc)}); nothing was left behind") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_png(path: Path, image: np.ndarray) -> None:
    """Write a uint8 image (H, W) or RGB (H, W, 3) losslessly as PNG; raises OSError."""
    import cv2

    img = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise OSError(f"cannot encode {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(buf.tobytes())
