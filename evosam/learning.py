"""Continual learning as the annotator uses it: confirmed masks teach the head, un-confirmed
ones are un-taught, and every confirmation is first scored *prequentially* (the proposals
SAM alone and SAM + head would have made for it, before it is taught).

``Learner`` is plain Python with one owner thread (the GUI's teaching worker, or a script):
it keeps the current ``EvoHead`` (immutable: each change makes a new one, which the owner
publishes to readers) and the statistics of every taught (frame, label), so that a frame
can be un-taught exactly or re-taught after an edit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from evosam.errors import InputError
from evosam.head import EvoHead
from evosam.head.head import ALL_PROFILES, AUTO_PROFILE, DEFAULT_PROFILE, FrameStats, HeadConfig
from evosam.masks import dice, prompt_box
from evosam.models import Prediction, SamBackend

Box = tuple[float, float, float, float]
Refiner = Callable[[np.ndarray, Prediction, Box], np.ndarray]  # (RGB frame, SAM's prediction, box) -> bool mask


@dataclass(frozen=True)
class TeachRecord:
    """One confirmation as it was taught: the prequential Dice of SAM's proposal and of the
    head's (both for ``box``, before teaching), and the head's size afterwards."""

    key: Hashable
    profile: str
    dice_sam: float
    dice_head: float
    taught_frames: int
    teach_ms: float
    replaced: bool  # the key had been taught before (an edited confirmation): its old statistics went out


def teaching_box(mask: np.ndarray) -> Box:
    """The box a confirmed bool (H, W) mask is taught with: its tight box (x0, y0, x1, y1),
    the standard SAM prompt. InputError when the mask is empty."""
    box = prompt_box(np.asarray(mask, dtype=bool))
    if box is None:
        raise InputError("an empty mask cannot teach the head")
    return box


class Learner:
    """The head and what it was taught, by key (e.g. (frame, label)). Not thread-safe: one
    owner calls it; the ``head`` it exposes is immutable and may be read anywhere."""

    def __init__(self, model_name: str, config: HeadConfig | None = None) -> None:
        self.head = EvoHead(model_name, config)
        self.profile = DEFAULT_PROFILE  # where new confirmations go
        self.predict_with = ALL_PROFILES  # what proposals use: all profiles' sum, "auto", or one profile
        self._taught: dict[Hashable, FrameStats] = {}

    @property
    def taught_keys(self) -> list[Hashable]:
        """Keys taught so far, oldest first."""
        return list(self._taught)

    def is_taught(self, key: Hashable) -> bool:
        return key in self._taught

    def teach(self, key: Hashable, frame: np.ndarray, pred: Prediction, mask: np.ndarray, box: Box) -> TeachRecord:
        """Teach a confirmed bool (H, W) ``mask`` of an RGB uint8 (H, W, 3) ``frame``, given
        SAM's prediction for ``box`` (x0, y0, x1, y1 frame pixels). A key taught before is
        replaced (its old statistics are subtracted first)."""
        started = time.perf_counter()
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != frame.shape[:2]:
            raise InputError(f"mask of shape {mask.shape} does not match the frame {frame.shape[:2]}")
        replaced = self.untaught(key)
        head = self.head
        feats = head.roi_features(frame, pred, box)
        proposal = head.predict(frame, pred, box, self._usable(self.predict_with), features=feats)
        item = head.frame_stats(frame, pred, mask, box, self.profile, features=feats)
        self.head = head.taught(item)
        self._taught[key] = item
        return TeachRecord(
            key, self.profile, dice(pred.mask, mask), dice(proposal, mask), self.head.taught_frames,
            1000 * (time.perf_counter() - started), replaced,
        )

    def untaught(self, key: Hashable) -> bool:
        """Remove ``key``'s statistics exactly; False when it was not taught."""
        item = self._taught.pop(key, None)
        if item is None:
            return False
        self.head = self.head.untaught(item)
        return True

    def reset(self) -> None:
        """Forget everything taught (the head answers SAM's masks again)."""
        self.head = EvoHead(self.head.model_name, self.head.config)
        self._taught.clear()

    def set_profile(self, name: str) -> None:
        """Send new confirmations to profile ``name`` (created on first teaching)."""
        name = name.strip()
        if not name or name in (ALL_PROFILES, AUTO_PROFILE):
            raise InputError(f"{name!r} cannot name a profile (reserved or empty)")
        self.profile = name

    def set_predict_with(self, name: str) -> None:
        """Propose with ``all`` profiles (the joint solution), ``auto`` (the profile nearest
        each frame) or one profile by name."""
        if name not in (ALL_PROFILES, AUTO_PROFILE) and name not in self.head.profiles:
            raise InputError(f"unknown profile {name!r}; known: {', '.join(self.head.profiles) or 'none'}")
        self.predict_with = name

    def refiner(self) -> Refiner | None:
        """A snapshot refiner of the current head (see ``refiner``)."""
        return refiner(self.head, self._usable(self.predict_with))

    def _usable(self, name: str) -> str:
        """``name`` if the head still has it (an un-teach may have emptied a profile), else all."""
        return name if name in (ALL_PROFILES, AUTO_PROFILE) or name in self.head.profiles else ALL_PROFILES

    def save(self, path: str | Path) -> None:
        """Write the head (all profiles' statistics) to a versioned ``.npz``, atomically."""
        self.head.save(path)

    def load(self, path: str | Path) -> None:
        """Replace the head by a saved one built for the same model and features. The frames
        taught in this session can no longer be un-taught one by one (their statistics are
        now inside the loaded sums), so their record is cleared."""
        self.adopt(EvoHead.load(path, self.head.model_name, self.head.config.features))

    def adopt(self, head: EvoHead) -> None:
        """Continue from ``head`` (e.g. a project's); see ``load``."""
        if head.model_name != self.head.model_name:
            raise InputError(f"a head learned with {head.model_name} cannot refine {self.head.model_name}")
        self.head = head
        self._taught.clear()
        if head.profiles and self.profile not in head.profiles:
            self.profile = next(iter(head.profiles))
        self.predict_with = self._usable(self.predict_with)


@dataclass(frozen=True)
class HeadRefiner:
    """Refines SAM's answer with a snapshot of a head (later teaching does not change it):
    ``(RGB frame (H, W, 3), SAM's prediction, box) -> bool (H, W)``. ``device``: a torch
    device where the head computes (a GPU); None: OpenCV and numpy on the CPU."""

    head: EvoHead
    profile: str = ALL_PROFILES
    device: torch.device | None = None

    def __call__(self, frame: np.ndarray, pred: Prediction, box: Box) -> np.ndarray:
        return self.head.predict(frame, pred, box, self.profile, device=self.device)


def refiner(head: EvoHead, profile: str = ALL_PROFILES) -> Refiner | None:
    """A refiner of SAM's answers with ``head`` (``HeadRefiner``), or None while the head is
    untaught (the answer is then SAM's own)."""
    if not head.profiles:
        return None
    return HeadRefiner(head, profile)


def beside(refine: Refiner | None, backend: SamBackend) -> Refiner | None:
    """``refine`` computing on ``backend``'s GPU when it has one (the thread that owns the
    backend calls it): a CUDA propagation is then not held back by the head's CPU filters.
    On a CPU the OpenCV head is kept (faster there than torch); other refiners are unchanged."""
    if isinstance(refine, HeadRefiner) and backend.device.type == "cuda":
        return replace(refine, device=backend.device)
    return refine
