"""PNG dataset export: per label ``OUT/<label>/masks/<stem>.png`` (0/255) and, on request,
``OUT/<label>/images/<stem>.png`` (the frames), the layout of ``../shared/data`` that
``evosam bench continual --task NAME=OUT/<label>`` reads; optionally class-id masks
``OUT/classes/masks/<stem>.png`` (0 = background, i = the i-th label) with ``legend.json``."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evosam.annotations import Status
from evosam.errors import InputError
from evosam.export.common import Progress, frame_stem, safe_name, select, staged_folder, write_png
from evosam.project import Project
from evosam.video import VideoSource


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote: ``masks`` mask images, ``frames`` frame images, to ``out``."""

    out: Path
    masks: int
    frames: int


def export_png(
    project: Project,
    out: str | Path,
    labels: Sequence[str] | None = None,
    statuses: Collection[Status] = (Status.CONFIRMED,),
    video: VideoSource | None = None,
    class_ids: bool = False,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the chosen masks (and the frames, when ``video`` is given) under the new folder
    ``out``; all or nothing. InputError when nothing matches or ``out`` is not new/empty."""
    out = Path(out)
    chosen = select(project, labels, statuses)
    if not chosen:
        raise InputError(f"{out}: nothing to export (no {'/'.join(map(str, statuses))} masks of the chosen labels)")
    folders = _label_dirs([s.label.name for s in chosen])
    frames_written = 0
    with staged_folder(out) as tmp:
        for i, s in enumerate(chosen, 1):
            base = tmp / folders[s.label.name]
            write_png(base / "masks" / f"{frame_stem(s.frame)}.png", np.where(s.mask, 255, 0).astype(np.uint8))
            if video is not None:
                write_png(base / "images" / f"{frame_stem(s.frame)}.png", np.asarray(video.frame(s.frame)))
                frames_written += 1
            if progress is not None:
                progress(i, len(chosen))
        if class_ids:
            frames_written += _class_ids(tmp / "classes", chosen, project.video.size, video)
    return ExportSummary(out, len(chosen), frames_written)


def _label_dirs(names: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in dict.fromkeys(names):
        base, n, folder = safe_name(name), 2, safe_name(name)
        while folder.lower() in {f.lower() for f in out.values()} or folder == "classes":
            folder, n = f"{base}-{n}", n + 1
        out[name] = folder
    return out


def _class_ids(root: Path, chosen: list, size: tuple[int, int], video: VideoSource | None) -> int:
    """One uint8 (H, W) mask per frame: 0 background, i for the i-th label (a later label
    wins where two overlap), and legend.json; returns the frame images written."""
    names = list(dict.fromkeys(s.label.name for s in chosen))
    if len(names) > 255:
        raise InputError(f"{len(names)} labels do not fit 8-bit class-id masks (at most 255)")
    ids = {name: i + 1 for i, name in enumerate(names)}
    by_frame: dict[int, np.ndarray] = {}
    for s in chosen:
        canvas = by_frame.setdefault(s.frame, np.zeros(size, np.uint8))
        canvas[s.mask] = ids[s.label.name]
    for frame, canvas in by_frame.items():
        write_png(root / "masks" / f"{frame_stem(frame)}.png", canvas)
        if video is not None:
            write_png(root / "images" / f"{frame_stem(frame)}.png", np.asarray(video.frame(frame)))
    legend = {"0": "background", **{str(i): name for name, i in ids.items()}}
    colors = {name: list(s.label.color) for s in chosen for name in [s.label.name]}
    (root / "legend.json").write_text(json.dumps({"classes": legend, "colors": colors}, indent=1))
    return len(by_frame) if video is not None else 0
