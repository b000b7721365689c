"""File ▸ Export masks: confirmed masks as 0/255 PNGs, one folder per label, files named
by zero-padded frame index (``vessel/000012.png``). Runs as a job on the file thread."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.state import Key, PackedMask, Status
from app.workers import Job, ModelContext
from evosam.imageio import write_mask_png


def folder_name(label: str) -> str:
    """A label name made safe as one folder name (path separators and odd characters -> ``_``)."""
    name = re.sub(r"[^\w\-. ]", "_", label).strip(" .")
    return name or "label"


@dataclass(frozen=True)
class ExportSummary:
    folder: Path
    written: int
    total: int
    cancelled: bool


class ExportMasksJob(Job):
    """Writes ``masks`` ((label, frame, packed mask) triples) under ``folder``, unpacking them
    one at a time on the file thread; result: ``ExportSummary``."""

    text = "Exporting masks"

    def __init__(self, folder: str | Path, masks: list[tuple[str, int, PackedMask]]) -> None:
        super().__init__()
        self.folder, self.masks = Path(folder), masks

    def run(self, ctx: ModelContext) -> ExportSummary:
        total, written = len(self.masks), 0
        for label, frame, mask in self.masks:
            if self.cancelled:
                break
            write_mask_png(self.folder / folder_name(label) / f"{frame:06d}.png", mask.unpack().mask)
            written += 1
            self.progress.emit(written, total)
        return ExportSummary(self.folder, written, total, self.cancelled)


def confirmed_masks(items: Iterable[tuple[Key, PackedMask]]) -> list[tuple[str, int, PackedMask]]:
    """The confirmed masks of a state, by label then frame (immutable values, not copied)."""
    out = [(label, frame, e) for (frame, label), e in items if e.status == Status.CONFIRMED]
    return sorted(out, key=lambda t: (t[0], t[1]))
