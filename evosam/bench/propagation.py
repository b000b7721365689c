"""``evosam bench propagation``: propagate from the first frame's ground truth to the end of a
clip and compare with the ground truth of every frame, and with the oracle that prompts every
frame with its own ground-truth box.

Dice is averaged over the frames whose ground truth holds the label (a structure hidden
behind a tool has nothing to compare with); ``last10_dice`` averages the last ten of them.

Each walk (tracker x label) encodes the frames it uses itself (``--keyframes on``: keyframes
only; ``off``: every frame; ``auto``, the default: on for sam-flow and sam-redetect), so its
frames/s is end to end; what it encodes also serves the oracle, which encodes the rest after
the walk, untimed. Frames decoded by an earlier walk of the same run come from the video's
frame cache: for decoding in the figure too, run one label per process.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from evosam.commands.common import model_from_args, progress
from evosam.errors import InputError
from evosam.masks import dice, prompt_box
from evosam.models import SamBackend
from evosam.models.cache import EmbeddingCache
from evosam.tracking import DEFAULT_TRACKER, TrackSession, make_tracker
from evosam.tracking.keyframes import KeyframeConfig, keyframe_session
from evosam.tracking.video import keyframes_for
from evosam.video import VideoSource, open_video


@dataclass(frozen=True)
class PropagationScore:
    label: int
    tracker: str
    frames: int  # frames propagated (all but the first)
    scored_frames: int  # of those, frames whose ground truth holds the label
    mean_dice: float
    last10_dice: float
    oracle_box_dice: float
    oracle_last10_dice: float
    flagged_frames: int
    lost_frames: int  # of the flagged, frames the tracker said the object is not found
    seconds_per_frame: float  # the walk's wall time per frame, its encoding included
    frames_per_s: float
    encoded_frames: int  # frames the walk encoded (keyframes; all of them without)
    keyframes: bool


def read_label_masks(mask_dir: Path, video: VideoSource, count: int) -> list[np.ndarray]:
    """Class-id masks (uint8/uint16 (H, W)) for the first ``count`` frames, matched by stem."""
    stems = _frame_stems(video, count)
    masks = []
    for stem in stems:
        path = mask_dir / f"{stem}.png"
        m = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if m is None:
            raise InputError(f"{path}: missing or unreadable ground-truth mask")
        masks.append(m if m.ndim == 2 else m[..., 0])
    return masks


def _frame_stems(video: VideoSource, count: int) -> list[str]:
    files = getattr(video, "files", None)
    return [Path(f).stem for f in files[:count]] if files else [video.frame_name(i) for i in range(count)]


def score_label(
    backend: SamBackend,
    video: VideoSource,
    gts: list[np.ndarray],
    label: int,
    embed,
    tracker: str = DEFAULT_TRACKER,
    keyframes: KeyframeConfig | None = None,
) -> PropagationScore:
    """Propagate ``label`` from frame 0's ground truth with ``tracker`` and score it against
    every frame. The walk encodes what it needs (every frame, or keyframes only) and puts it
    in ``embed``'s cache (``embed.cache``) for the oracle, never taking from it."""
    truth = [g == label for g in gts]
    if not truth[0].any():
        raise InputError(f"label {label} is absent from the first frame's ground truth")
    encoded: list[int] = []

    def encode(i: int):
        emb = backend.embed(video.frame(i))
        embed.cache.put(i, emb)
        encoded.append(i)
        return emb

    started = time.perf_counter()
    frames = range(1, len(gts))
    if keyframes is None:
        session = TrackSession(backend, video.frame, encode, make_tracker(tracker))
    else:
        session, _ = keyframe_session(backend, video.frame, encode, make_tracker(tracker), keyframes, frames)
    session.add_mask(0, str(label), truth[0])
    walk = progress(session.track(str(label), frames), len(frames), f"label {label} ({tracker})")
    results = list(walk)
    seconds = (time.perf_counter() - started) / max(1, len(results))
    scored = [r for r in results if truth[r.index].any()]
    ours = [dice(r.mask, truth[r.index]) for r in scored]
    oracle = [
        dice(backend.predict(embed(r.index), box=prompt_box(truth[r.index])).mask, truth[r.index]) for r in scored
    ]
    return PropagationScore(
        label,
        tracker,
        len(results),
        len(scored),
        _mean(ours),
        _mean(ours[-10:]),
        _mean(oracle),
        _mean(oracle[-10:]),
        sum(r.flagged for r in results),
        sum("lost" in r.flags for r in results),
        seconds,
        1.0 / seconds if seconds > 0 else float("nan"),
        len(encoded),
        keyframes is not None,
    )


class CachedEmbeddings:
    """``embed(i)``: frame ``i``'s encoding from ``cache``, encoded there when missing."""

    def __init__(self, backend: SamBackend, video: VideoSource, cache: EmbeddingCache) -> None:
        self.backend, self.video, self.cache = backend, video, cache

    def __call__(self, i: int):
        return self.cache.get_or_compute(i, lambda: self.backend.embed(self.video.frame(i)))


def clip_truth(args: argparse.Namespace, video: VideoSource) -> list[np.ndarray]:
    """The class-id ground truth of the first ``--limit`` frames of ``--masks`` (at least two)."""
    count = min(video.frame_count, args.limit or video.frame_count)
    if count < 2:
        raise InputError(f"{args.frames}: need at least two frames")
    return read_label_masks(Path(args.masks), video, count)


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def run(args: argparse.Namespace) -> int:
    backend = model_from_args(args)
    cache = EmbeddingCache(max_bytes=2 * 2**30)
    with open_video(args.frames) as video:
        gts = clip_truth(args, video)
        embed = CachedEmbeddings(backend, video, cache)
        for name in args.tracker:
            make_tracker(name)  # an unknown name fails before any work
        scores = [
            score_label(backend, video, gts, label, embed, name, keyframes_for(name, args.keyframes))
            for name in args.tracker
            for label in args.label
        ]
    print_table(scores, backend.describe())
    if args.json:
        rows = [asdict(s) for s in scores]
        print(json.dumps(rows[0] if len(rows) == 1 else {"labels": rows}))
    return 0


def print_table(scores: list[PropagationScore], model: str) -> None:
    modes = {"keyframes" if s.keyframes else "every frame encoded" for s in scores}
    print(f"propagation benchmark ({model}, {', '.join(sorted(modes))}); Dice over frames where the label is present")
    print(
        f"{'tracker':>12} {'label':>6} {'frames':>6} {'scored':>6} {'mean':>7} {'last10':>7} {'oracle':>7} "
        f"{'or.l10':>7} {'flagged':>7} {'lost':>5} {'s/frame':>8} {'frames/s':>8} {'encoded':>7}"
    )
    for s in scores:
        print(
            f"{s.tracker:>12} {s.label:>6} {s.frames:>6} {s.scored_frames:>6} {s.mean_dice:>7.3f} "
            f"{s.last10_dice:>7.3f} {s.oracle_box_dice:>7.3f} {s.oracle_last10_dice:>7.3f} {s.flagged_frames:>7} "
            f"{s.lost_frames:>5} {s.seconds_per_frame:>8.3f} {s.frames_per_s:>8.2f} {s.encoded_frames:>7}"
        )
