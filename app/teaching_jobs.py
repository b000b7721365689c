"""Jobs that feed the continual-learning head.

``TeachInputJob`` runs on the model worker (it needs SAM: the prediction for the confirmed
mask's box). Every other job runs on the head worker, the one thread that owns the
``Learner``; each returns a ``HeadUpdate``: a new immutable head snapshot (as a refiner for
proposals) that the GUI thread installs.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.workers import Job, ModelContext
from evosam.head import EvoHead
from evosam.learning import Learner, Refiner, TeachRecord, teaching_box
from evosam.models import Prediction

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TeachInput:
    """What teaching one confirmation needs: RGB uint8 (H, W, 3) frame, bool (H, W) mask,
    SAM's prediction for ``box`` (x0, y0, x1, y1, the mask's tight box)."""

    key: Hashable
    generation: int
    frame: np.ndarray
    mask: np.ndarray
    box: Box
    prediction: Prediction


class TeachInputJob(Job):
    """Model worker: SAM's answer for the confirmed mask's box; result: ``TeachInput``."""

    text = "Preparing to teach"

    def __init__(self, key: Hashable, generation: int, frame: int, mask: np.ndarray) -> None:
        super().__init__()
        self.key, self.generation, self.frame = key, generation, frame
        self.mask = np.array(mask, dtype=bool)

    def run(self, ctx: ModelContext) -> TeachInput:
        box = teaching_box(self.mask)
        pred = ctx.require_backend().predict(ctx.embedding(self.frame), box=box)
        return TeachInput(self.key, self.generation, ctx.frame(self.frame), self.mask, box, pred)


@dataclass(frozen=True)
class HeadUpdate:
    """The head after a change: a snapshot refiner (None while untaught), its profiles
    (name -> taught frames), where confirmations go, what proposals use, and the
    teaching record when the change was a teaching."""

    head: EvoHead
    refine: Refiner | None
    profiles: dict[str, int]
    profile: str
    predict_with: str
    taught_frames: int
    record: TeachRecord | None = None
    message: str = ""


class HeadJob(Job):
    """A change of the learner on the head worker; subclasses implement ``change``."""

    def __init__(self, learner: Learner) -> None:
        super().__init__()
        self.learner = learner

    def run(self, ctx: ModelContext) -> HeadUpdate:
        record, message = self.change()
        lr = self.learner
        profiles = {name: s.frames for name, s in lr.head.profiles.items()}
        return HeadUpdate(
            lr.head, lr.refiner(), profiles, lr.profile, lr.predict_with, lr.head.taught_frames, record, message
        )

    def change(self) -> tuple[TeachRecord | None, str]:  # pragma: no cover - abstract
        raise NotImplementedError


class TeachJob(HeadJob):
    text = "Teaching the head"

    def __init__(self, learner: Learner, item: TeachInput) -> None:
        super().__init__(learner)
        self.item = item

    def change(self) -> tuple[TeachRecord, str]:
        it = self.item
        return self.learner.teach(it.key, it.frame, it.prediction, it.mask, it.box), ""


class UnteachJob(HeadJob):
    """Remove one key's statistics; with ``key=None``, the most recently taught one (the user's
    "un-teach last": the mask stays confirmed, the head forgets it)."""

    text = "Un-teaching"

    def __init__(self, learner: Learner, key: Hashable | None = None) -> None:
        super().__init__(learner)
        self.key = key

    def change(self) -> tuple[None, str]:
        keys = self.learner.taught_keys
        key = self.key if self.key is not None else (keys[-1] if keys else None)
        if key is None or not self.learner.untaught(key):
            return None, "" if self.key is not None else "Nothing left to un-teach."
        return None, "" if self.key is not None else f"Un-taught {describe_key(key)}; its mask stays confirmed."


def describe_key(key: Hashable) -> str:
    """``frame 12 (vessel)`` for a (clip, frame, label) key."""
    if isinstance(key, tuple) and len(key) == 3:
        return f"frame {key[1] + 1} ({key[2]})"
    return str(key)


class ResetHeadJob(HeadJob):
    text = "Resetting the head"

    def change(self) -> tuple[None, str]:
        self.learner.reset()
        return None, "The head forgot everything: proposals are SAM's own again."


class ProfileJob(HeadJob):
    """Set where confirmations go (``teach_into``) and/or what proposals use (``predict_with``)."""

    text = "Switching profile"

    def __init__(self, learner: Learner, teach_into: str | None = None, predict_with: str | None = None) -> None:
        super().__init__(learner)
        self.teach_into, self.predict_with = teach_into, predict_with

    def change(self) -> tuple[None, str]:
        if self.teach_into is not None:
            self.learner.set_profile(self.teach_into)
        if self.predict_with is not None:
            self.learner.set_predict_with(self.predict_with)
        return None, ""


class AdoptHeadJob(HeadJob):
    """Take over a project's head (an ``EvoHead``, or a ``HeadFile`` loaded here)."""

    text = "Loading the project's head"

    def __init__(self, learner: Learner, head: object) -> None:
        super().__init__(learner)
        self.head = head

    def change(self) -> tuple[None, str]:
        lr = self.learner
        head = self.head
        if not isinstance(head, EvoHead):  # a HeadFile: read it for this model and feature set
            head = EvoHead.load(head.path, lr.head.model_name, lr.head.config.features)
        lr.adopt(head)
        return None, ""


class SaveHeadJob(HeadJob):
    text = "Saving the head"

    def __init__(self, learner: Learner, path: str | Path) -> None:
        super().__init__(learner)
        self.path = Path(path)

    def change(self) -> tuple[None, str]:
        self.learner.save(self.path)
        return None, f"Head saved to {self.path} ({self.learner.head.taught_frames} frames)."


class LoadHeadJob(HeadJob):
    text = "Loading the head"

    def __init__(self, learner: Learner, path: str | Path) -> None:
        super().__init__(learner)
        self.path = Path(path)

    def change(self) -> tuple[None, str]:
        self.learner.load(self.path)
        return None, f"Head loaded from {self.path} ({self.learner.head.taught_frames} frames)."
