"""``propagate_video``: one prompt on one frame, followed through a video, frame by frame."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from evosam.ahead import EmbeddingsAhead, default_batch
from evosam.errors import InputError
from evosam.learning import beside
from evosam.models import Embedding, PromptableModel, validate_box
from evosam.models.cache import EmbeddingCache
from evosam.propagate import Box, FrameResult, frame_order
from evosam.tracking.keyframes import KeyframeConfig, keyframe_session
from evosam.tracking.session import DEFAULT_TRACKER, Refiner, StopCheck, Tracker, TrackSession, make_tracker

KEYFRAMES = KeyframeConfig()  # keyframe mode's settings (``--keyframes on``; docs/benchmarks.md)
# ``--keyframes auto`` (the default) is on for these trackers, off for the others
KEYFRAME_TRACKERS = (DEFAULT_TRACKER, "sam-redetect")


def keyframes_for(tracker: str, choice: str = "auto") -> KeyframeConfig | None:
    """The keyframe settings a walk with ``tracker`` uses for ``--keyframes`` ``choice``
    ("on", "off", or "auto": on for the trackers in ``KEYFRAME_TRACKERS``, off for the
    others); None: encode every frame."""
    on = choice == "on" or (choice == "auto" and tracker in KEYFRAME_TRACKERS)
    return KEYFRAMES if on else None


class FrameSource(Protocol):
    """What a propagation reads (``evosam.video.VideoSource`` fits): RGB uint8 (H, W, 3) frames by index."""

    @property
    def frame_count(self) -> int: ...

    def frame(self, index: int) -> np.ndarray: ...


@dataclass(frozen=True)
class Prompt:
    """Where the object is on one frame: a bool (H, W) ``mask``, or a ``box`` (x0, y0, x1, y1)
    in frame pixels that SAM turns into one."""

    frame: int
    mask: np.ndarray | None = None
    box: Box | None = None
    label: str = "object"

    def __post_init__(self) -> None:
        if (self.mask is None) == (self.box is None):
            raise InputError("a prompt needs a mask or a box (one of them)")


def propagate_video(
    source: str | Path | FrameSource,
    prompt: Prompt,
    model: PromptableModel,
    head: Refiner | None = None,
    *,
    frames: range | None = None,
    backward: bool = False,
    tracker: str | Tracker = DEFAULT_TRACKER,
    batch: int | None = None,
    should_stop: StopCheck = lambda: False,
    cache: EmbeddingCache | None = None,
    cache_key: Callable[[int], Hashable] | None = None,
    keyframes: KeyframeConfig | None = None,
) -> Iterator[FrameResult]:
    """Yield the prompt frame's mask (a ``FrameResult`` of index ``prompt.frame``), then one
    result per frame of ``frames`` (default: to the clip's end, or its start with
    ``backward``), which must begin next to the prompt's frame.

    ``source``: a video file or frame folder (opened and closed here) or an open source;
    ``head``: the label's refiner (the learning head's gated proposal); ``batch``: frames per
    encoder call (default 8 on CUDA, 1 on a CPU); ``cache``/``cache_key``: an embedding cache
    to use and fill (with encodings only). ``keyframes`` (e.g. ``KEYFRAMES``): encode
    keyframes only and carry them to the frames between by optical flow
    (``evosam.tracking.keyframes``; frames are decoded a batch ahead on a reader thread,
    keyframes encoded when needed); None (the default) encodes every frame, a batch ahead."""
    with ExitStack() as stack:
        if isinstance(source, str | Path):
            from evosam.video import open_video

            source = stack.enter_context(open_video(source))
        if frames is None:
            frames = frame_order(prompt.frame, None, backward, source.frame_count)
        if len(frames) and frames.start - frames.step != prompt.frame:
            raise InputError(
                f"frames {frames.start}..{frames[-1]} do not begin next to the prompt's frame {prompt.frame}"
            )
        first, start_embedding = _start_result(model, source.frame(prompt.frame), prompt)
        yield first
        tracker = make_tracker(tracker) if isinstance(tracker, str) else tracker
        batch = batch or default_batch(model)
        if keyframes is not None:  # frames read a keyframe interval ahead: the keyframe ahead is in the next batch
            batch = max(batch, keyframes.max_interval)
        ahead = stack.enter_context(
            EmbeddingsAhead(model, source.frame, frames, batch, cache, cache_key, encode_ahead=keyframes is None)
        )

        def encode(index: int) -> Embedding:
            """Frame ``index``'s encoding; a box prompt's frame was encoded for SAM's answer.
            That frame is read (a memory's teacher), never made the first keyframe: a walk
            carried from it drifts (docs/benchmarks.md, "The prompt frame is not a keyframe")."""
            if index == prompt.frame and start_embedding is not None:
                return start_embedding
            return ahead.embedding(index)

        if keyframes is None:
            session = TrackSession(model, ahead.frame, encode, tracker)
        else:
            session, _ = keyframe_session(model, ahead.frame, encode, tracker, keyframes, frames)
        session.add_mask(prompt.frame, prompt.label, first.mask)
        session.set_refiner(prompt.label, beside(head, model))
        yield from session.track(prompt.label, frames, should_stop)


def _start_result(model: PromptableModel, rgb: np.ndarray, prompt: Prompt) -> tuple[FrameResult, Embedding | None]:
    """The prompt frame's result: the given mask (IoU NaN), or SAM's answer to the box (and
    the frame's embedding it was decoded from)."""
    if prompt.mask is not None:
        mask = np.asarray(prompt.mask, dtype=bool)
        if mask.shape != rgb.shape[:2]:
            h, w = rgb.shape[:2]
            raise InputError(f"the mask is {mask.shape[1]}x{mask.shape[0]}, frame {prompt.frame} {w}x{h}")
        if not mask.any():
            raise InputError(f"the mask of frame {prompt.frame} is empty")
        return FrameResult(prompt.frame, mask, float("nan"), None), None
    box = validate_box(prompt.box, rgb.shape[:2])
    emb = model.embed(rgb)
    pred = model.predict(emb, box=box)
    return FrameResult(prompt.frame, pred.mask, pred.iou, tuple(float(v) for v in box), (), pred), emb
