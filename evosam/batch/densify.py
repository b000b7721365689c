"""One batch job in this process: a video's keyframe masks propagated to every frame.

Output, written to ``OUT/.<name>.partial/`` and renamed to ``OUT/<name>/`` only when complete
(so a folder ``OUT/<name>/`` is always a finished job)::

    OUT/<name>/masks/NNNNNN.png    one 0/255 PNG per frame, named by 0-based frame index
    OUT/<name>/<name>.evosam/      a project the window opens for review: keyframes confirmed,
                                   every other frame proposed (with its IoU and flags)
    OUT/<name>/job.json            inputs, their signature, flagged frames, timing
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evosam import __version__
from evosam.annotations import DEFAULT_COLORS, FrameMask, Label, PackedMask, Status, provenance
from evosam.batch.jobs import BatchJob
from evosam.batch.plan import plan_runs
from evosam.errors import EvoSamError, InputError
from evosam.imageio import read_mask, write_bytes_atomic, write_mask_png
from evosam.project.files import fsync_dir
from evosam.tracking import DEFAULT_TRACKER, Prompt, propagate_video
from evosam.video import VideoSource, open_video

if TYPE_CHECKING:
    from evosam.learning import Learner
    from evosam.models import PromptableModel
    from evosam.propagate import FrameResult

JOB_FILE = "job.json"
MASKS = "masks"
Progress = Callable[[int, int], None]  # (frames done, frames in the job)
_KEY_NAME = re.compile(r"^(\d+)\.png$", re.IGNORECASE)


@dataclass(frozen=True)
class JobOutcome:
    """What became of one job: ``status`` is ``done``, ``skipped`` (finished by an earlier
    run with the same inputs) or ``failed`` (``error``: one line naming the file and problem)."""

    name: str
    status: str
    frames: int = 0
    keyframes: int = 0
    flagged: tuple[int, ...] = ()
    seconds: float = 0.0
    error: str = ""
    worker: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "flagged": list(self.flagged)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> JobOutcome:
        return cls(**{**raw, "flagged": tuple(raw.get("flagged", ()))})


@dataclass(frozen=True)
class JobInputs:
    """A job's video opened and keyframes read: ``masks`` bool (H, W) by frame index."""

    job: BatchJob
    video: VideoSource
    masks: dict[int, np.ndarray]
    signature: str
    fingerprint: str  # the video's (``VideoSource.fingerprint``)


def densify_job(
    job: BatchJob,
    out_root: Path,
    model: Callable[[], PromptableModel],
    model_id: str,
    *,
    learner: Learner | None = None,
    tracker: str = DEFAULT_TRACKER,
    batch: int | None = None,
    on_progress: Progress | None = None,
) -> JobOutcome:
    """Run ``job`` unless ``out_root/<name>`` already holds its output for the same inputs.
    ``model`` is called (once) only when there is work; ``learner``: refine with the job
    label's head; ``model_id`` names the model and its weights in the job's signature (a
    re-run with another model redoes the job). A user error (unreadable video, bad keyframe)
    returns a failed outcome."""
    started = time.perf_counter()
    try:
        with open_video(job.source) as video:
            inputs = read_inputs(job, video, _settings(model_id, learner, tracker))
            if job_finished(out_root / job.name, inputs.signature):
                return JobOutcome(job.name, "skipped", video.frame_count, len(inputs.masks))
            flagged = _write_output(inputs, out_root, model(), learner, tracker, batch, on_progress, started)
            return JobOutcome(
                job.name, "done", video.frame_count, len(inputs.masks), flagged, time.perf_counter() - started
            )
    except EvoSamError as exc:
        return JobOutcome(job.name, "failed", error=str(exc), seconds=time.perf_counter() - started)


def job_finished(folder: Path, signature: str) -> bool:
    """Whether ``folder`` is a finished job's output made from inputs of this ``signature``."""
    try:
        return json.loads((folder / JOB_FILE).read_bytes()).get("signature") == signature
    except (OSError, ValueError, AttributeError):
        return False


def read_inputs(job: BatchJob, video: VideoSource, settings: str) -> JobInputs:
    """The job's keyframe masks (InputError naming the file for a bad one) and the signature
    of everything its output depends on: video, keyframe bits, model, tracker, head."""
    if not job.keyframes.is_dir():
        raise InputError(f"{job.keyframes}: the keyframe folder of job {job.name!r} does not exist")
    masks: dict[int, np.ndarray] = {}
    for path in sorted(job.keyframes.iterdir()):
        match = _KEY_NAME.match(path.name)
        if path.name.startswith(".") or path.suffix.lower() != ".png":
            continue
        if match is None:
            raise InputError(f"{path}: a keyframe mask must be named by its 0-based frame index (000012.png)")
        index = int(match.group(1))
        if index >= video.frame_count or index in masks:
            why = "twice" if index in masks else f"outside the video's frames 0..{video.frame_count - 1}"
            raise InputError(f"{path}: keyframe {index} is {why}")
        mask = read_mask(path, video.size)
        if not mask.any():
            raise InputError(f"{path}: the mask is empty")
        masks[index] = mask
    if not masks:
        raise InputError(f"{job.keyframes}: no keyframe masks (NNNNNN.png) for job {job.name!r}")
    fingerprint = video.fingerprint()
    digest = hashlib.sha256(f"{fingerprint};{job.label};{settings}".encode())
    for index in sorted(masks):
        digest.update(f"{index}:".encode() + np.packbits(masks[index]).tobytes())
    return JobInputs(job, video, dict(sorted(masks.items())), digest.hexdigest()[:16], fingerprint)


def _settings(model_id: str, learner: Learner | None, tracker: str) -> str:
    from evosam.project.store import learner_digest

    return f"{__version__};{model_id};{tracker};{learner_digest(learner) if learner is not None else '-'}"


def _write_output(
    inputs: JobInputs,
    out_root: Path,
    model: PromptableModel,
    learner: Learner | None,
    tracker: str,
    batch: int | None,
    on_progress: Progress | None,
    started: float,
) -> tuple[int, ...]:
    """Propagate, write everything to a partial folder, then rename it into place."""
    job, video = inputs.job, inputs.video
    partial = out_root / f".{job.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    results = _propagate(inputs, model, learner, tracker, batch, partial / MASKS, on_progress)
    flagged = tuple(sorted(i for i, r in results.items() if r.flags))
    _write_project(partial / f"{job.name}.evosam", inputs, results, model.name, learner)
    record = {
        "job": job.to_json(),
        "signature": inputs.signature,
        "frames": video.frame_count,
        "keyframes": sorted(inputs.masks),
        "flagged": [{"frame": i, "flags": list(results[i].flags)} for i in flagged],
        "model": model.name,
        "tracker": tracker,
        "head": learner is not None,
        "seconds": round(time.perf_counter() - started, 3),
        "written_by": f"evosam {__version__}",
    }
    write_bytes_atomic(partial / JOB_FILE, json.dumps(record, indent=1).encode())
    _move_into_place(partial, out_root / job.name)
    return flagged


def _propagate(
    inputs: JobInputs,
    model: PromptableModel,
    learner: Learner | None,
    tracker: str,
    batch: int | None,
    masks_dir: Path,
    on_progress: Progress | None,
) -> dict[int, FrameResult]:
    """Every frame's result, each keyframe's runs forward and backward to halfway; the masks
    written to ``masks_dir`` as they come."""
    job, video = inputs.job, inputs.video
    refiner = None if learner is None else learner.refiner(job.label, video=inputs.fingerprint[:16])
    results: dict[int, FrameResult] = {}
    for run in plan_runs(list(inputs.masks), video.frame_count):
        prompt = Prompt(run.keyframe, mask=inputs.masks[run.keyframe], label=job.label)
        for result in propagate_video(video, prompt, model, refiner, frames=run.frames, tracker=tracker, batch=batch):
            if result.index in results:
                continue  # the keyframe, written by its forward run
            write_mask_png(masks_dir / f"{video.frame_name(result.index)}.png", result.mask)
            results[result.index] = result
            if on_progress is not None:
                on_progress(len(results), video.frame_count)
    return results


def _write_project(
    path: Path, inputs: JobInputs, results: dict[int, FrameResult], model_name: str, learner: Learner | None
) -> None:
    """A review project: keyframes confirmed (``import``), the rest proposed."""
    from evosam.project import Project, VideoRef, save_project

    label = inputs.job.label
    head_frames = 0 if learner is None else learner.report(label).taught_frames
    source = provenance(model_name, head_frames)
    masks = {}
    for index, result in results.items():
        if index in inputs.masks:
            packed = PackedMask.from_mask(inputs.masks[index], Status.CONFIRMED, source="import")
        else:
            iou = None if np.isnan(result.iou) else float(result.iou)
            packed = PackedMask.pack(FrameMask(result.mask, Status.PROPOSED, iou, tuple(result.flags), source=source))
        masks[(index, label)] = packed
    project = Project(VideoRef.of(inputs.video), (Label(label, DEFAULT_COLORS[0]),), masks, learner)
    save_project(path, project)


def _move_into_place(partial: Path, final: Path) -> None:
    """Rename the complete ``partial`` folder to ``final``, replacing an older output."""
    fsync_dir(partial)
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(partial, final)
    fsync_dir(final.parent)
    shutil.rmtree(old, ignore_errors=True)
