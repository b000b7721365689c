"""The tracker interface, its registry, and the per-clip ``TrackSession``.

Like SAM 2's inference state, but typed: a session belongs to one clip and one thread (the
one that owns the model); ``add_mask`` records what the user gave or confirmed on a frame,
``track`` follows a label from such a mask and yields ``FrameResult``s as a generator (the
caller can stop between any two frames).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np

from evosam.errors import InputError
from evosam.learning import Refiner
from evosam.models import Embedding, PromptableModel
from evosam.names import DEFAULT_TRACKER
from evosam.propagate import Embedder, FrameReader, FrameResult, Recheck

StopCheck = Callable[[], bool]


class Tracker(Protocol):
    """Follows a mask through ``frames``: a class registered under ``name``, built with no
    arguments (its options have defaults)."""

    name: ClassVar[str]

    def follow(
        self,
        session: TrackSession,
        label: str,
        frames: range,
        start_mask: np.ndarray,
        should_stop: StopCheck,
    ) -> Iterator[FrameResult]:
        """One ``FrameResult`` per index of ``frames``, from ``start_mask`` (bool (H, W)) on
        the frame just before ``frames[0]`` in the walking direction."""
        ...


TRACKERS: dict[str, type] = {}


def register_tracker(cls: type) -> type:
    """Class decorator: make a tracker selectable by its ``name`` (CLI ``--tracker``)."""
    TRACKERS[cls.name] = cls
    return cls


def make_tracker(name: str) -> Tracker:
    """A new tracker of the registered ``name``; InputError naming the choices otherwise."""
    try:
        return TRACKERS[name]()
    except KeyError:
        raise InputError(f"unknown tracker {name!r}; choose one of: {', '.join(sorted(TRACKERS))}") from None


@dataclass
class TrackSession:
    """One clip's tracking state. ``read_frame`` and ``embed`` give frames and embeddings by
    index; ``masks[label][frame]`` the bool (H, W) masks given or confirmed; ``refiners[label]``
    turns SAM's answer into the label's proposal (the learning head); ``recheck``, where
    ``embed`` may answer with an approximate embedding (a ``KeyframeEmbedder``'s carried
    one), is told a frame's answer and may return a fresh embedding to answer again with;
    ``encode`` then gives real encodings for reads outside the walk (``encoding``).
    Owned by one thread."""

    model: PromptableModel
    read_frame: FrameReader
    embed: Embedder
    tracker: Tracker = field(default_factory=lambda: make_tracker(DEFAULT_TRACKER))
    masks: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    refiners: dict[str, Refiner] = field(default_factory=dict)
    recheck: Recheck | None = None
    adapt_refiner: Callable[[Refiner], Refiner] | None = None  # applied to each refiner set (a keyframe walk's)
    encode: Embedder | None = None  # real encodings where ``embed`` chooses keyframes (None: ``embed``)

    def encoding(self, index: int) -> Embedding:
        """Frame ``index``'s real encoding, for reads outside the walk (a tracker's memory
        taught from the given masks). Reading it through ``embed`` instead would make the
        frame a keyframe: a walk carried from its prompt frame drifts (docs/benchmarks.md,
        "The prompt frame is not a keyframe")."""
        return (self.encode or self.embed)(index)

    def add_mask(self, frame: int, label: str, mask: np.ndarray) -> None:
        """Record ``label``'s bool (H, W) mask on ``frame`` (a start mask or a confirmation)."""
        mask = np.array(mask, dtype=bool)
        if mask.ndim != 2 or not mask.any():
            raise InputError(f"frame {frame}: the mask of {label!r} is empty: draw or confirm a mask first")
        self.masks.setdefault(label, {})[frame] = mask

    def set_refiner(self, label: str, refine: Refiner | None) -> None:
        """``label``'s proposals go through ``refine`` from now on (None: SAM's own answer)."""
        if refine is None:
            self.refiners.pop(label, None)
        else:
            self.refiners[label] = refine if self.adapt_refiner is None else self.adapt_refiner(refine)

    def track(self, label: str, frames: range, should_stop: StopCheck = lambda: False) -> Iterator[FrameResult]:
        """Follow ``label`` through ``frames`` from its mask on the frame before ``frames[0]``
        (in the walking direction); yields one ``FrameResult`` per frame, stops early when
        ``should_stop()`` says so (polled before each frame)."""
        start = frames.start - frames.step
        mask = self.masks.get(label, {}).get(start)
        if mask is None:
            raise InputError(f"no mask of {label!r} on frame {start} to track from")
        return self.tracker.follow(self, label, frames, mask, should_stop)
