"""Review video: every frame of the clip with the chosen masks overlaid (mp4, OpenCV)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import cv2
import numpy as np

from evosam.annotations import Status
from evosam.errors import InputError
from evosam.export.common import Progress, pick_labels, staged_file
from evosam.export.png import ExportSummary
from evosam.project import Project
from evosam.video import VideoSource

ALPHA = 0.45


def overlay(frame: np.ndarray, masks: Sequence[tuple[np.ndarray, tuple[int, int, int]]]) -> np.ndarray:
    """RGB uint8 (H, W, 3) with each bool (H, W) mask tinted in its (r, g, b) colour and outlined."""
    out = frame.astype(np.float32)
    for mask, color in masks:
        out[mask] = (1 - ALPHA) * out[mask] + ALPHA * np.asarray(color, np.float32)
    out = out.round().astype(np.uint8)
    for mask, color in masks:
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, contours, -1, tuple(int(c) for c in color), 1)
    return out


def export_video(
    project: Project,
    video: VideoSource,
    out: str | Path,
    labels: Sequence[str] | None = None,
    statuses: Collection[Status] = (Status.CONFIRMED, Status.PROPOSED),
    progress: Progress | None = None,
) -> ExportSummary:
    """Write ``out`` (.mp4, MPEG-4 part 2) at the clip's rate and size, all frames, with the
    chosen masks overlaid; written to a temp file and moved into place when complete."""
    out = Path(out)
    chosen = pick_labels(project, labels)
    wanted = {Status(s) for s in statuses}
    h, w = video.size
    shown = 0
    with staged_file(out) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(video.fps or 25.0), (w, h))
        if not writer.isOpened():
            raise InputError(f"{out}: OpenCV cannot write an mp4 of {w}x{h} here")
        try:
            for i in range(video.frame_count):
                masks = []
                for lab in chosen:
                    packed = project.masks.get((i, lab.name))
                    if packed is not None and packed.status in wanted:
                        masks.append((packed.unpack().mask, lab.color))
                shown += len(masks)
                writer.write(cv2.cvtColor(overlay(video.frame(i), masks), cv2.COLOR_RGB2BGR))
                if progress is not None:
                    progress(i + 1, video.frame_count)
        finally:
            writer.release()
        if tmp.stat().st_size == 0:
            raise InputError(f"{out}: OpenCV wrote an empty video (no mp4 encoder?)")
    return ExportSummary(out, shown, video.frame_count)
