"""Jobs that feed the continual-learning head.

``TeachInputJob`` runs on the model worker (it needs SAM: the prediction for the confirmed
mask's box). Every other job runs on the head worker, the one thread that owns the
``Learner`` (one head per label, in its ``HeadContext``); each returns a ``HeadUpdate``: new
values (per-label refiners for proposals, per-label reports for the dock, a learner copy
for saving) that the GUI thread installs. A teaching with another one queued behind it (a
burst: Accept proposals, a project re-taught) returns None instead; the burst's last job
scores the evidence once and reports every record of the burst.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from app.display import plural
from app.jobs import Job, Worker
from app.workers import ModelContext, ModelJob
from evosam.errors import EvoSamError, InputError
from evosam.head import EvoHead
from evosam.head.persist import load_learner
from evosam.learning import LabelReport, Learner, Refiner, TeachRecord, teaching_box
from evosam.models import Prediction

Box = tuple[float, float, float, float]
OLDER_PROJECT = "older project"  # ``HeadUpdate.refused`` for a schema 2 project's single head


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


class TeachInputJob(ModelJob):
    """Model worker: SAM's answer for the confirmed mask's box; result: ``TeachInput``."""

    text = "Preparing to teach"

    def __init__(self, key: Hashable, generation: int, frame: int, mask: np.ndarray) -> None:
        super().__init__()
        self.key, self.generation, self.frame = key, generation, frame
        self.mask = np.array(mask, dtype=bool)

    def run(self, ctx: ModelContext) -> TeachInput:
        box = teaching_box(self.mask)
        pred = ctx.require_backend().predict(ctx.embedding(self.frame, keep=False), box=box)
        return TeachInput(self.key, self.generation, ctx.frame(self.frame), self.mask, box, pred)


@dataclass(frozen=True)
class HeadUpdate:
    """The learner after a change, as new values the GUI thread may keep: ``refiners``
    (label -> snapshot refiner, for the job's video: ``Teaching.refiner_for`` places it; a label
    absent proposes SAM's own mask), ``reports``
    (label -> ``LabelReport``: every label with a head, and ``label``, the label the job was
    for), where confirmations go, what proposals use, every taught key, ``learner`` (a copy
    for saving that nobody changes), and the records of the teachings it reports (one, or a
    burst's, oldest first; none when the change was no teaching).
    ``refused``: why a project's head state was not taken over (its masks re-teach it);
    ``ticket``: the submitter's number of the request it answers."""

    learner: Learner
    refiners: dict[str, Refiner]
    reports: dict[str, LabelReport]
    label: str
    profile: str
    predict_with: str
    taught: frozenset[Hashable]
    records: tuple[TeachRecord, ...] = ()
    message: str = ""
    refused: str | None = None
    ticket: int = 0

    @property
    def record(self) -> TeachRecord | None:
        """The latest teaching reported (None: none)."""
        return self.records[-1] if self.records else None

    @property
    def report(self) -> LabelReport:
        """The report of the label the job was for."""
        return self.reports[self.label]

    @property
    def taught_frames(self) -> int:
        """Frames in every label's head (a head loaded without its frames counts them too)."""
        return sum(r.taught_frames for r in self.reports.values())

    @property
    def profile_names(self) -> list[str]:
        """Every label's profile names, in first-seen order."""
        return list(dict.fromkeys(n for r in self.reports.values() for n in r.profiles))


def snapshot(learner: Learner) -> Learner:
    """A copy of ``learner`` that later changes do not touch (its heads and samples are shared,
    being immutable): what a project save writes from another thread."""
    copy = Learner(learner.model_name, learner.config)
    copy.adopt(learner)
    return copy


@dataclass
class HeadContext:
    """The head worker's: the learner, made there when a model is loaded (its one owner);
    ``more_teaching()``: whether another teaching is queued behind the running job; the
    records of teachings not yet reported (a burst reports once, at its end)."""

    learner: Learner | None = None
    more_teaching: Callable[[], bool] = lambda: False
    unreported: list[TeachRecord] = field(default_factory=list)

    def require_learner(self) -> Learner:
        if self.learner is None:
            raise EvoSamError("The model is not loaded yet.")
        return self.learner

    def close(self) -> None:
        pass


def head_worker(parent: QObject | None = None) -> Worker[HeadContext]:
    """The one thread that owns the learner."""
    context = HeadContext()
    worker = Worker(context, parent, "HeadWorker")
    context.more_teaching = lambda: worker.queued(TeachJob) > 1  # the running one counts
    return worker


class NewLearnerJob(Job[HeadContext]):
    """A model was loaded: a fresh learner for it (a head is tied to its model); no result."""

    text = "Starting the head"

    def __init__(self, model_name: str, label: str) -> None:
        super().__init__()
        self.model_name, self.label = model_name, label

    def run(self, ctx: HeadContext) -> None:
        ctx.learner = Learner(self.model_name)
        ctx.learner.set_label(self.label)


class HeadJob(Job[HeadContext]):
    """A change of the learner on the head worker, for the window's current ``label`` (the
    learner's label is set to it first); subclasses implement ``change``. ``ticket``: the
    submitter's number, carried by the ``HeadUpdate``. ``video``: the open video's key part
    (set by the submitter before submitting), whose frames the update's refiners propose on."""

    def __init__(self, label: str, ticket: int = 0) -> None:
        super().__init__()
        self.label, self.ticket = label, ticket
        self.video: str | None = None

    def run(self, ctx: HeadContext) -> HeadUpdate | None:
        """The learner changed, as a new ``HeadUpdate``; None for a teaching with another
        queued behind it (its record goes with the burst's update: scoring the leave-out
        evidence after every frame of a burst would cost most of its time)."""
        lr = ctx.require_learner()
        lr.set_label(self.label)
        self.burst = self.in_burst(ctx)
        record, message = self.change(lr)
        if record is not None:
            ctx.unreported.append(record)
        if self.burst:
            return None
        records, ctx.unreported = tuple(ctx.unreported), []
        return self.update(lr, records, message)

    burst = False  # set by ``run``: this change is not the last of a burst (``TeachJob``)

    def in_burst(self, ctx: HeadContext) -> bool:
        """Whether this change may leave scoring and reporting to the next job."""
        return False

    def update(
        self, lr: Learner, records: tuple[TeachRecord, ...] = (), message: str = "", refused: str | None = None
    ) -> HeadUpdate:
        lr.refresh()  # a burst's teachings are scored now, before the snapshot
        reports = {label: lr.report(label) for label in [*lr.heads, lr.label]}
        taught = frozenset(lr.taught_keys)
        return HeadUpdate(
            snapshot(lr),
            lr.refiners(self.video),
            reports,
            lr.label,
            lr.profile,
            lr.predict_with,
            taught,
            records,
            message,
            refused,
            self.ticket,
        )

    def change(self, lr: Learner) -> tuple[TeachRecord | None, str]:  # pragma: no cover - abstract
        raise NotImplementedError


class TeachJob(HeadJob):
    """Teach one confirmation to its label's head; a (video, frame, label) key places it in time."""

    text = "Teaching the head"

    def __init__(self, label: str, item: TeachInput) -> None:
        super().__init__(label)
        self.item = item

    def in_burst(self, ctx: HeadContext) -> bool:
        return ctx.more_teaching()

    def change(self, lr: Learner) -> tuple[TeachRecord, str]:
        it = self.item
        video, index, label = it.key if isinstance(it.key, tuple) and len(it.key) == 3 else (None, None, None)
        record = lr.teach(it.key, it.frame, it.prediction, it.mask, it.box, label, video, index, not self.burst)
        return record, ""


class UnteachJob(HeadJob):
    """Remove one key's statistics; with ``key=None``, the most recently taught one of the
    current label (the user's "un-teach last": the mask stays confirmed, the head forgets it)."""

    text = "Un-teaching"

    def __init__(self, label: str, key: Hashable | None = None) -> None:
        super().__init__(label)
        self.key = key

    def change(self, lr: Learner) -> tuple[None, str]:
        keys = [k for k, _ in lr.report(self.label).curve]
        key = self.key if self.key is not None else (keys[-1] if keys else None)
        if key is None or not lr.untaught(key):
            return None, "" if self.key is not None else f"Nothing of {self.label!r} left to un-teach."
        return None, "" if self.key is not None else f"Un-taught {describe_key(key)}; its mask stays confirmed."


def describe_key(key: Hashable) -> str:
    """``frame 12 (vessel)`` for a (video, frame, label) key (frames numbered from 0)."""
    if isinstance(key, tuple) and len(key) == 3:
        return f"frame {key[1]} ({key[2]})"
    return str(key)


class ResetHeadJob(HeadJob):
    """Forget what the current label was taught (``everything``: every label)."""

    text = "Resetting the head"

    def __init__(self, label: str, everything: bool = False) -> None:
        super().__init__(label)
        self.everything = everything

    def change(self, lr: Learner) -> tuple[None, str]:
        lr.reset(None if self.everything else self.label)
        if self.everything:
            return None, "The head forgot everything: proposals are SAM's own again."
        return None, f"The head forgot {self.label!r}: its proposals are SAM's own again."


class ProfileJob(HeadJob):
    """Set where confirmations go (``teach_into``) and/or what proposals use (``predict_with``)."""

    text = "Switching profile"

    def __init__(self, label: str, teach_into: str | None = None, predict_with: str | None = None) -> None:
        super().__init__(label)
        self.teach_into, self.predict_with = teach_into, predict_with

    def change(self, lr: Learner) -> tuple[None, str]:
        if self.teach_into is not None:
            lr.set_profile(self.teach_into)
        if self.predict_with is not None:
            lr.set_predict_with(self.predict_with)
        return None, ""


class AdoptHeadJob(HeadJob):
    """Take over a project's head state: a ``HeadFile`` of kind ``learner`` is read here for
    this model and feature set. A legacy single head (schema 2), or a file that is refused,
    is not used: the learner is reset and the update's ``refused`` says why (the GUI then
    re-teaches it from the project's confirmed masks). A loaded ``Learner`` is adopted as is."""

    text = "Loading the project's head"

    def __init__(self, label: str, head: object, ticket: int = 0) -> None:
        super().__init__(label, ticket)
        self.head = head

    def run(self, ctx: HeadContext) -> HeadUpdate:
        lr = ctx.require_learner()
        lr.set_label(self.label)
        refused = self.take_over(lr)
        if refused is not None:
            lr.reset()
        return self.update(lr, refused=refused)

    def take_over(self, lr: Learner) -> str | None:
        head = self.head
        if isinstance(head, Learner | EvoHead):
            lr.adopt(head)
            return None
        if head.legacy:
            return OLDER_PROJECT
        try:
            lr.adopt(load_learner(head.path, lr.model_name, lr.config.features))
        except InputError as exc:
            return str(exc)
        return None


class PreviewHeadJob(Job[HeadContext]):
    """What a project's saved head learned, read before a model is loaded (a first start
    converts it for minutes): label -> ``LabelReport`` from its saved evidence, for the dock
    only (the learner is not touched: ``AdoptHeadJob`` takes the state over once the model is
    there). Empty for a head without evidence (an older project's single head)."""

    text = "Reading the project's head"

    def __init__(self, head: object) -> None:
        super().__init__()
        self.head = head

    def run(self, ctx: HeadContext) -> dict[str, LabelReport]:
        head = self.head
        if isinstance(head, Learner):
            learner = head
        elif isinstance(head, EvoHead) or head.legacy:
            return {}
        else:
            try:
                learner = load_learner(head.path, head.model)
            except InputError:
                return {}  # refused: the adoption says why and re-teaches
        return {label: learner.report(label) for label in learner.heads}


class SaveHeadJob(HeadJob):
    text = "Saving the head"

    def __init__(self, label: str, path: str | Path) -> None:
        super().__init__(label)
        self.path = Path(path)

    def change(self, lr: Learner) -> tuple[None, str]:
        lr.save(self.path)
        taught = sum(h.taught_frames for h in lr.heads.values())
        return None, f"Head saved to {self.path} ({plural(taught, 'frame')})."


class LoadHeadJob(HeadJob):
    """Replace the learner by a saved one (a bare head file goes to the current label)."""

    text = "Loading the head"

    def __init__(self, label: str, path: str | Path) -> None:
        super().__init__(label)
        self.path = Path(path)

    def change(self, lr: Learner) -> tuple[None, str]:
        lr.load(self.path)
        taught = sum(h.taught_frames for h in lr.heads.values())
        return None, f"Head loaded from {self.path} ({plural(taught, 'frame')})."
