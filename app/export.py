"""File ▸ Export: the project's masks through the engine's exporters (``evosam.export``), as
a job on the file thread, cancellable between files; the masks of the statuses ``evosam
export`` takes by default (``STATUSES``):

- ``png``: confirmed masks in a dataset folder, per label ``<label>/masks/000012.png``
  (0/255) and the frames in ``<label>/images/`` (the layout ``evosam bench continual`` reads);
- ``coco``: confirmed masks in one COCO JSON with RLE masks;
- ``video``: an mp4 of the clip with the confirmed and proposed masks overlaid, for review
  with colleagues.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.workers import FileContext, FileJob
from evosam.annotations import Status
from evosam.export import export_coco, export_png, export_video
from evosam.project import Project
from evosam.video import open_video

KINDS = {"png": "mask dataset (PNG)", "coco": "COCO JSON", "video": "overlay video"}
STATUSES = {  # the masks each export takes, as ``evosam export`` by default
    "png": (Status.CONFIRMED,),
    "coco": (Status.CONFIRMED,),
    "video": (Status.CONFIRMED, Status.PROPOSED),
}


def which_masks(kind: str) -> str:
    """``confirmed`` or ``confirmed and proposed``: the masks the ``kind`` export takes."""
    return " and ".join(s.value for s in STATUSES[kind])


@dataclass(frozen=True)
class ExportSummary:
    """``out`` written with ``masks`` masks and ``frames`` frame images (0 when cancelled)."""

    kind: str
    out: Path
    masks: int
    frames: int
    cancelled: bool


class _Cancelled(Exception):
    """Raised from the progress callback: the engine removes its temporary output."""


class ExportJob(FileJob):
    """Exports a captured ``project`` (immutable) to ``out``; result: ``ExportSummary``."""

    text = "Exporting"

    def __init__(self, kind: str, project: Project, out: str | Path, video_path: str | Path) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown export kind {kind!r}")
        self.kind, self.project, self.out, self.video_path = kind, project, Path(out), video_path
        self.text = f"Exporting {KINDS[kind]}"

    def _progress(self, done: int, total: int) -> None:
        if self.cancelled:
            raise _Cancelled
        self.progress.emit(done, total)

    def run(self, ctx: FileContext) -> ExportSummary:
        statuses = STATUSES[self.kind]
        try:
            with open_video(self.video_path) as video:
                if self.kind == "png":
                    done = export_png(self.project, self.out, statuses=statuses, video=video, progress=self._progress)
                elif self.kind == "coco":
                    done = export_coco(self.project, self.out, statuses=statuses, progress=self._progress)
                else:
                    done = export_video(self.project, video, self.out, statuses=statuses, progress=self._progress)
        except _Cancelled:
            return ExportSummary(self.kind, self.out, 0, 0, True)
        return ExportSummary(self.kind, self.out, done.masks, done.frames, False)
