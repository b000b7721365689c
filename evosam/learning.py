"""Continual learning as the annotator uses it: one head per label, taught by confirmed masks,
un-taught exactly when a confirmation is withdrawn, and gated by honest evidence.

``Learner`` is plain Python with one owner thread (the GUI's teaching worker, or a script).
Each label has its own ``EvoHead`` (immutable: each change makes a new one, which the owner
publishes to readers), so teaching one label never changes another's proposals. For every
taught (frame, label) it keeps the frame's sampled pixels (``FrameEvidence``, ~0.2 MB), from
which the frame's statistics are exact again (to un-teach it) and by which it is scored as
unseen: the label's head minus that frame and its neighbours in time proposes on it, beside
SAM alone. Those leave-out scores choose the label's proposer (``evidence.choose``): SAM's
mask until the head has shown, on frames it did not see, that it does better. Where a
label's confirmed masks are solid objects (``evidence.solid_label``: a gallbladder, an
artery, not a vessel tree), the head's proposal loses its specks and pinholes.

Each label's head has two views taught the same frames: BANK (every feature) and LITE (the
same without the filter bank: SAM's channels, colour, the box's geometry). Its base channels
are a subset of BANK's, so both learn from the one set of kept samples, and the leave-out
evidence chooses the view with the proposer, per label.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from evosam.errors import InputError
from evosam.head import EvoHead
from evosam.head.evidence import (
    BANK,
    LITE,
    NEIGHBOURS,
    SPECK,
    Choice,
    FrameEvidence,
    LeaveOut,
    choose,
    solid_label,
)
from evosam.head.features import RoiFeatures
from evosam.head.head import ALL_PROFILES, AUTO_PROFILE, DEFAULT_PROFILE, HeadConfig
from evosam.head.ridge import Stats
from evosam.masks import dice, prompt_box
from evosam.models import Prediction, SamBackend

Box = tuple[float, float, float, float]
Refiner = Callable[..., np.ndarray]  # (RGB frame, SAM's prediction, box, frame index or None) -> bool mask
DEFAULT_LABEL = "default"
UNGATED = Choice("head", 1.0, 0, None, None, "the head, ungated")
SAM_ONLY = "sam"  # ``predict_with``: never refine (the head still learns)
SCORED_BLOCKS = 12  # leave-out evidence from the label's most recent blocks of neighbouring frames
NEAR_FRAMES = 6  # frames scored one by one (for proposals near taught frames), most recent first
SCORED_VIDEOS = 12  # videos left out one by one (for proposals on a video with no taught frame)
VIDEO_FRAMES = 20  # of each, its most recent frames are scored
NEAR, FAR, OTHER = (
    "near",
    "far",
    "other",
)  # where a proposal is: next to / far from taught frames of its video, another video
CACHED_BLOCKS = 48  # block statistics kept in memory, 24 per view (each (D, D) float64, ~10 MB)


@dataclass(frozen=True)
class TeachRecord:
    """One confirmation as it was taught: the Dice against it of SAM's proposal and of the
    label's gated proposal (both for ``box``, before teaching), and the label's head size after."""

    key: Hashable
    profile: str
    dice_sam: float
    dice_head: float
    taught_frames: int
    teach_ms: float
    replaced: bool  # the key had been taught before (an edited confirmation): its old statistics went out
    label: str = DEFAULT_LABEL
    evidence_ms: float = 0.0  # after teaching: the label's leave-out scores and proposers


@dataclass(frozen=True)
class Taught:
    """What the learner keeps of one taught key: its label, profile and sampled pixels."""

    label: str
    profile: str
    evidence: FrameEvidence


@dataclass(frozen=True)
class LabelReport:
    """A label's head for the dock: taught frames per profile, the active proposer and why,
    and the leave-out curve: per taught key in teaching order, its scores (None: not scored)."""

    label: str
    profiles: dict[str, int]
    choice: Choice
    curve: list[tuple[Hashable, LeaveOut | None]]
    near: Choice = Choice()  # for frames within ``NEIGHBOURS`` of a taught frame of their video
    other: Choice = Choice()  # for frames of a video the label was not taught on

    @property
    def taught_frames(self) -> int:
        return sum(self.profiles.values())


def teaching_box(mask: np.ndarray) -> Box:
    """The box a confirmed bool (H, W) mask is taught with: its tight box (x0, y0, x1, y1),
    the standard SAM prompt. InputError when the mask is empty."""
    box = prompt_box(np.asarray(mask, dtype=bool))
    if box is None:
        raise InputError("an empty mask cannot teach the head")
    return box


def groups_of(key: Hashable, ev: FrameEvidence, label: str) -> tuple[Hashable, Hashable]:
    """The groups a taught key is left out with: its block (frames of one video within
    ``NEIGHBOURS`` of each other) and its video; a key placed nowhere is its own group."""
    if ev.video is None:
        return (label, "key", key), (label, "key", key)
    block = (label, "block", ev.video, ev.frame // NEIGHBOURS) if ev.frame is not None else (label, "key", key)
    return block, (label, "video", ev.video)


def where_is(index: int | None, video: Hashable | None, taught_frames: list[int | None]) -> str:
    """NEAR when frame ``index`` lies within ``NEIGHBOURS`` of one of ``taught_frames`` (of the
    same ``video``), FAR when that video has other taught frames, OTHER when it has none."""
    if video is None or not taught_frames:
        return OTHER if video is not None else FAR
    if index is not None and any(f is not None and abs(f - index) < NEIGHBOURS for f in taught_frames):
        return NEAR
    return FAR


class Learner:
    """Per-label heads and what they were taught, by key (e.g. (clip, frame, label)). Not
    thread-safe: one owner calls it; the heads it exposes are immutable and may be read anywhere."""

    def __init__(self, model_name: str, config: HeadConfig | None = None) -> None:
        self.model_name, self.config = model_name, config or HeadConfig()
        self._empty = EvoHead(model_name, self.config)
        self._lite_empty = EvoHead(model_name, self.config.lite())
        self._lite_columns = self.config.features.lite_columns()
        self.heads: dict[str, EvoHead] = {}  # each label's BANK view
        self.lite_heads: dict[str, EvoHead] = {}  # the same frames in the LITE view
        self.label = DEFAULT_LABEL  # the label ``head``, ``refiner`` and ``choice`` speak of by default
        self.profile = DEFAULT_PROFILE  # where new confirmations go (within their label)
        self.predict_with = ALL_PROFILES  # all profiles' sum, "auto", one profile, or "sam"
        self._taught: dict[Hashable, Taught] = {}
        self._scores: dict[Hashable, LeaveOut] = {}  # each key left out with its block: at a distance
        self._near: dict[Hashable, LeaveOut] = {}  # each key left out alone: next to taught frames
        self._other: dict[Hashable, LeaveOut] = {}  # each key left out with its whole video
        self._choices: dict[str, dict[str, Choice]] = {}  # label -> NEAR/FAR/OTHER -> its proposer
        self._blocks: OrderedDict[tuple[str, Hashable], Stats] = OrderedDict()  # (view, group) -> stats
        self._stale: set[str] = set()  # labels taught without rescoring since (``teach(rescore=False)``)

    @property
    def views(self) -> tuple[str, ...]:
        """The views each label learns: BANK, and LITE unless the features have no bank."""
        return (BANK, LITE) if len(self._lite_columns) < self.config.features.n_base else (BANK,)

    # -- reading ---------------------------------------------------------------------------
    @property
    def head(self) -> EvoHead:
        """The current label's head."""
        return self.head_of(self.label)

    def head_of(self, label: str, view: str = BANK) -> EvoHead:
        """``label``'s head in ``view`` (BANK or LITE; an untaught head when it has none)."""
        return self._heads(view).get(label, self._lite_empty if view == LITE else self._empty)

    def _heads(self, view: str) -> dict[str, EvoHead]:
        return self.lite_heads if view == LITE else self.heads

    def view_evidence(self, ev: FrameEvidence, view: str) -> FrameEvidence:
        """A taught frame's samples as ``view`` sees them (LITE: a subset of the base channels)."""
        return ev if view == BANK else replace(ev, base=np.ascontiguousarray(ev.base[:, self._lite_columns]))

    def view_features(self, feats: RoiFeatures, view: str) -> RoiFeatures:
        """BANK ``roi_features`` of a frame as ``view``'s head takes them."""
        return feats if view == BANK else feats.columns(self._lite_columns)

    @property
    def taught_keys(self) -> list[Hashable]:
        """Keys taught so far, oldest first."""
        return list(self._taught)

    def is_taught(self, key: Hashable) -> bool:
        return key in self._taught

    def choice(self, label: str | None = None, where: str = FAR) -> Choice:
        """What ``label``'s proposals use (SAM, the head or a blend) and why, on a frame
        ``where``: FAR from the taught frames of its video (evidence: blocks of neighbouring
        frames left out together), NEAR one (within ``NEIGHBOURS`` frames; frames left out
        one by one), or in an OTHER video than those taught (whole videos left out)."""
        label = self.label if label is None else label
        self.refresh(label)
        return self._current_choice(label, where)

    def _current_choice(self, label: str, where: str) -> Choice:
        """``choice`` as the last rescoring left it (a burst of teachings may have moved on)."""
        if self.predict_with == SAM_ONLY:
            return Choice(reason="'Propose with: SAM only' is set")
        return self._choices.get(label, {}).get(where, Choice())

    def refresh(self, label: str | None = None) -> None:
        """Score ``label`` (None: every label) again where teachings left it unscored
        (``teach(rescore=False)``); every public reading of the scores calls it."""
        for name in [n for n in self._stale if label is None or n == label]:
            self._rescore(name)

    def report(self, label: str | None = None) -> LabelReport:
        label = self.label if label is None else label
        self.refresh(label)
        head = self.head_of(label)
        curve = [(k, self._scores.get(k)) for k, t in self._taught.items() if t.label == label]
        profiles = {n: s.frames for n, s in head.profiles.items()}
        return LabelReport(
            label, profiles, self.choice(label), curve, self.choice(label, NEAR), self.choice(label, OTHER)
        )

    def evidence(self) -> dict[Hashable, Taught]:
        """Every taught key's label, profile and samples, oldest first (for saving)."""
        return dict(self._taught)

    # -- teaching --------------------------------------------------------------------------
    def teach(
        self,
        key: Hashable,
        frame: np.ndarray,
        pred: Prediction,
        mask: np.ndarray,
        box: Box,
        label: str | None = None,
        video: Hashable | None = None,
        index: int | None = None,
        rescore: bool = True,
    ) -> TeachRecord:
        """Teach ``label``'s head a confirmed bool (H, W) ``mask`` of an RGB uint8 (H, W, 3)
        ``frame``, given SAM's prediction for ``box`` (x0, y0, x1, y1 frame pixels); ``video``
        and ``index`` place the frame in time (its neighbours are left out with it when it is
        scored). A key taught before is replaced (its old statistics are subtracted first).

        ``rescore=False`` (a burst of teachings: more follow at once) leaves the leave-out
        scores for the next reading (``refresh``): the heads are taught the same, and the
        scores, a function of the taught frames alone, come out the same once read; the
        record's proposal is the one the last scoring chose."""
        started = time.perf_counter()
        label = self.label if label is None else label
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != frame.shape[:2]:
            raise InputError(f"mask of shape {mask.shape} does not match the frame {frame.shape[:2]}")
        replaced = self.untaught(key, rescore=False)
        head = self.head_of(label)
        feats = head.roi_features(frame, pred, box)
        choice = self._current_choice(label, self._where(label, video, index))
        proposer = self.head_of(label, choice.view).for_video(self._video_stats(label, video, choice.view))
        proposal = proposer.propose(
            frame, pred, box, choice, self._usable(proposer), features=self.view_features(feats, choice.view)
        )
        ev = head.frame_evidence(frame, pred, mask, box, feats, video, index)
        self._add(key, Taught(label, self.profile, ev))
        taught = time.perf_counter()
        if rescore:
            self._rescore(label)
        else:
            self._stale.add(label)
        return TeachRecord(
            key,
            self.profile,
            dice(pred.mask, mask),
            dice(proposal, mask),
            self.heads[label].taught_frames,
            1000 * (taught - started),
            replaced,
            label,
            1000 * (time.perf_counter() - taught),
        )

    def _where(self, label: str, video: Hashable | None, index: int | None) -> str:
        """Where frame ``index`` of ``video`` lies from ``label``'s taught frames (NEAR, FAR, OTHER)."""
        frames = [t.evidence.frame for t in self._taught.values() if t.label == label and t.evidence.video == video]
        return where_is(index, video, frames)

    def _add(self, key: Hashable, taught: Taught) -> None:
        for view in self.views:
            head = self.head_of(taught.label, view)
            item = head.evidence_stats(self.view_evidence(taught.evidence, view), taught.profile)
            self._heads(view)[taught.label] = head.taught(item)
            for group in set(groups_of(key, taught.evidence, taught.label)):
                if (view, group) in self._blocks:
                    self._blocks[(view, group)] = self._blocks[(view, group)] + item.stats
        self._taught[key] = taught

    def untaught(self, key: Hashable, rescore: bool = True) -> bool:
        """Remove ``key``'s statistics exactly; False when it was not taught."""
        taught = self._taught.pop(key, None)
        if taught is None:
            return False
        self._scores.pop(key, None)
        self._near.pop(key, None)
        self._other.pop(key, None)
        for view in self.views:
            heads = self._heads(view)
            if taught.label not in heads:  # a view a loaded bare head lacks
                continue
            item = heads[taught.label].evidence_stats(self.view_evidence(taught.evidence, view), taught.profile)
            head = heads[taught.label].untaught(item)
            if head.profiles:
                heads[taught.label] = head
            else:
                del heads[taught.label]
            for group in set(groups_of(key, taught.evidence, taught.label)):
                if (view, group) in self._blocks:
                    self._blocks[(view, group)] = self._blocks[(view, group)] - item.stats
        if rescore:
            self._rescore(taught.label)
        return True

    def _rescore(self, label: str) -> None:
        """Leave-out scores of the label's most recent blocks (FAR), frames (NEAR) and videos
        (OTHER), and its three proposers from them."""
        self._stale.discard(label)
        keys = [k for k, t in self._taught.items() if t.label == label]
        blocks: OrderedDict[Hashable, list[Hashable]] = OrderedDict()
        videos: OrderedDict[Hashable, list[Hashable]] = OrderedDict()
        for key in keys:
            block, video = groups_of(key, self._taught[key].evidence, label)
            for groups, group in ((blocks, block), (videos, video)):
                groups.setdefault(group, []).append(key)
                groups.move_to_end(group)
            for scores in (self._scores, self._near, self._other):
                scores.pop(key, None)
        self._score_groups(label, blocks, SCORED_BLOCKS, None, self._scores, weighted=True)
        same = {tuple(inside) for inside in list(blocks.values())[-SCORED_BLOCKS:]}
        rest: OrderedDict[Hashable, list[Hashable]] = OrderedDict()
        for video, inside in list(videos.items())[-SCORED_VIDEOS:]:
            if tuple(inside) in same:  # a video of one block: leaving it out is leaving the block out
                self._other.update((k, self._scores[k]) for k in inside[-VIDEO_FRAMES:])
            else:
                rest[video] = inside
        self._score_groups(label, rest, SCORED_VIDEOS, VIDEO_FRAMES, self._other, weighted=False)
        for inside in blocks.values():
            if len(inside) == 1 and inside[0] in self._scores:
                self._near[inside[0]] = self._scores[inside[0]]
        for key in keys[-NEAR_FRAMES:]:
            if key not in self._near:
                self._near[key] = self._left_out(label, [key], None, weighted=True)[0]
        if not self.head_of(label).profiles:
            self._choices.pop(label, None)
            return
        solid = solid_label([self._taught[k].evidence.specks for k in keys])
        self._choices[label] = {
            where: despeckled(choose([scores[k] for k in keys if k in scores]), solid)
            for where, scores in ((FAR, self._scores), (NEAR, self._near), (OTHER, self._other))
        }

    def _score_groups(
        self,
        label: str,
        groups: OrderedDict,
        count: int,
        per_group: int | None,
        into: dict[Hashable, LeaveOut],
        weighted: bool,
    ) -> None:
        """Leave each of the ``count`` most recent groups out in turn and score (up to
        ``per_group`` of) its most recent frames with the head that never saw it (``_left_out``)."""
        for group in list(groups)[-count:]:
            inside = groups[group]
            scored = inside if per_group is None else inside[-per_group:]
            into.update(zip(scored, self._left_out(label, scored, (group, inside), weighted), strict=True))

    def _left_out(
        self, label: str, scored: list[Hashable], group: tuple[Hashable, list[Hashable]] | None, weighted: bool
    ) -> list[LeaveOut]:
        """``scored`` keys of ``label`` scored in every view by the head without ``group``
        (its name and keys; None: ``scored`` is one key, left out alone); ``weighted``: as the
        head proposes on their video (``EvoHead.for_video``: the video's other frames weighted)."""
        per_view = {}
        for view in self.views:
            head = self.head_of(label, view)
            evidence = [self.view_evidence(self._taught[k].evidence, view) for k in scored]
            without = head.evidence_stats(evidence[0]).stats if group is None else self._group_stats(view, *group)
            rest = self._video_rest(label, evidence[0].video, without, view) if weighted else None
            per_view[view] = head.leave_out(without, evidence, rest)
        if LITE not in per_view:
            return per_view[BANK]
        return [
            replace(b, lite=s.head, lite_blend=s.blend) for b, s in zip(per_view[BANK], per_view[LITE], strict=True)
        ]

    def _video_stats(self, label: str, video: Hashable | None, view: str = BANK) -> Stats | None:
        """The summed ``view`` statistics of ``label``'s taught frames of ``video`` (None: none, or no video)."""
        if video is None:
            return None
        keys = [k for k, t in self._taught.items() if t.label == label and t.evidence.video == video]
        if not keys:
            return None
        _, group = groups_of(keys[-1], self._taught[keys[-1]].evidence, label)
        if (view, group) not in self._blocks:
            self._video_from_blocks(view, group, keys, label)
        return self._group_stats(view, group, keys)

    def _video_from_blocks(self, view: str, group: Hashable, keys: list[Hashable], label: str) -> None:
        """Cache a video's statistics as the sum of its blocks' when it has few enough that
        each is scored (and cached) anyway: every frame's samples are then expanded once, not
        once for its block and again for its video (opening a project: half the time)."""
        blocks: dict[Hashable, list[Hashable]] = {}
        for k in keys:
            blocks.setdefault(groups_of(k, self._taught[k].evidence, label)[0], []).append(k)
        if len(blocks) > SCORED_BLOCKS:
            return  # ``_group_stats`` sums the frames themselves
        parts = [self._group_stats(view, block, inside) for block, inside in blocks.items()]
        self._blocks[(view, group)] = sum(parts[1:], parts[0])

    def _video_rest(self, label: str, video: Hashable | None, without: Stats, view: str = BANK) -> Stats | None:
        """``video``'s taught frames of ``label`` but those in ``without`` (None when none are left)."""
        stats = self._video_stats(label, video, view)
        if stats is None or stats.frames <= without.frames:
            return None
        return stats - without

    def _group_stats(self, view: str, group: Hashable, keys: list[Hashable]) -> Stats:
        """The summed ``view`` statistics of a group of keys, cached (updated as its keys are
        taught and un-taught)."""
        if (view, group) not in self._blocks:
            head = self.head_of(self._taught[keys[0]].label, view)
            total = Stats.zeros(head.config.features.dim)
            for k in keys:
                total = total + head.evidence_stats(self.view_evidence(self._taught[k].evidence, view)).stats
            self._blocks[(view, group)] = total
        self._blocks.move_to_end((view, group))
        while len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        return self._blocks[(view, group)]

    def rebuild_views(self, labels: set[str]) -> None:
        """Teach the LITE view of ``labels`` again from their kept samples (a file written
        before the LITE view was kept; a label of a bare head keeps none)."""
        for label in labels:
            self.lite_heads.pop(label, None)
        if LITE not in self.views:
            return
        for t in self._taught.values():
            if t.label in labels:
                head = self.head_of(t.label, LITE)
                item = head.evidence_stats(self.view_evidence(t.evidence, LITE), t.profile)
                self.lite_heads[t.label] = head.taught(item)

    def reset(self, label: str | None = None) -> None:
        """Forget what ``label`` was taught (None: every label); proposals are SAM's again."""
        for key in [k for k, t in self._taught.items() if label is None or t.label == label]:
            self._taught.pop(key)
            for scores in (self._scores, self._near, self._other):
                scores.pop(key, None)
        for name in [n for n in self.heads if label is None or n == label]:
            del self.heads[name]
            self.lite_heads.pop(name, None)
            self._choices.pop(name, None)
        self._stale = {n for n in self._stale if label is not None and n != label}
        self._blocks = OrderedDict((b, s) for b, s in self._blocks.items() if label is not None and b[1][0] != label)

    # -- settings --------------------------------------------------------------------------
    def set_label(self, label: str) -> None:
        """The label ``head``, ``refiner``, ``choice`` and ``teach`` use by default."""
        self.label = label

    def set_profile(self, name: str) -> None:
        """Send new confirmations to profile ``name`` of their label (created on first teaching)."""
        name = name.strip()
        if not name or name in (ALL_PROFILES, AUTO_PROFILE, SAM_ONLY):
            raise InputError(f"{name!r} cannot name a profile (reserved or empty)")
        self.profile = name

    def set_predict_with(self, name: str) -> None:
        """Propose with ``all`` profiles (the joint solution), ``auto`` (the profile nearest
        each frame), one profile by name, or ``sam`` (SAM alone; the head still learns)."""
        known = {p for h in self.heads.values() for p in h.profiles}
        if name not in (ALL_PROFILES, AUTO_PROFILE, SAM_ONLY) and name not in known:
            raise InputError(f"unknown profile {name!r}; known: {', '.join(sorted(known)) or 'none'}")
        self.predict_with = name

    def _usable(self, head: EvoHead) -> str:
        """``predict_with`` if ``head`` has it (a label may lack a profile), else all."""
        name = self.predict_with
        return name if name in (ALL_PROFILES, AUTO_PROFILE) or name in head.profiles else ALL_PROFILES

    def refiner(self, label: str | None = None, video: Hashable | None = None) -> Refiner | None:
        """A snapshot refiner of ``label``'s gated proposal on frames of ``video``; None while
        it proposes SAM's mask everywhere."""
        label = self.label if label is None else label
        choices = {where: self.choice(label, where) for where in (NEAR, FAR, OTHER)}
        head = self.head_of(label)
        if not any(c.uses_head for c in choices.values()) or not head.profiles:
            return None
        views = {c.view for c in choices.values() if c.uses_head}
        weighted = {}  # per view used: the head as it proposes on ``video``, where that differs
        for view in views:
            plain = self.head_of(label, view)
            on_video = plain.for_video(self._video_stats(label, video, view))
            if on_video is not plain:
                weighted[view] = on_video
                if self._usable(plain) == ALL_PROFILES:
                    on_video.weights()  # solved here, on the learner's thread, not where it proposes
        taught = {}
        for t in self._taught.values():
            if t.label == label and t.evidence.frame is not None:
                taught.setdefault(t.evidence.video, []).append(t.evidence.frame)
        frames = {v: tuple(sorted(f)) for v, f in taught.items()}
        return HeadRefiner(
            head,
            self._usable(head),
            choice=choices[FAR],
            near=choices[NEAR],
            other=choices[OTHER],
            taught=frames,
            video=video,
            video_head=weighted.get(BANK),
            lite=self.lite_heads.get(label) if LITE in views else None,
            lite_video_head=weighted.get(LITE),
        )

    def refiners(self, video: Hashable | None = None) -> dict[str, Refiner]:
        """Every label's refiner that is not SAM's own answer, for frames of ``video``."""
        return {label: r for label in self.heads if (r := self.refiner(label, video)) is not None}

    # -- files -----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write every label's head and kept samples to a versioned ``.npz``, atomically."""
        from evosam.head.persist import save_learner

        save_learner(self, path)

    def load(self, path: str | Path) -> None:
        """Replace everything by a saved learner (or a one-head file of schema 1, which goes to
        the current label and, having no samples, cannot be un-taught frame by frame)."""
        from evosam.head.persist import load_learner

        self.adopt(load_learner(path, self.model_name, self.config.features))

    def adopt(self, other: Learner | EvoHead) -> None:
        """Continue from a loaded learner, or from a bare head (it becomes the current label's)."""
        if isinstance(other, EvoHead):
            if other.model_name != self.model_name:
                raise InputError(f"a head learned with {other.model_name} cannot refine {self.model_name}")
            self.reset()
            if other.profiles:
                self.heads[self.label] = other
                loaded = Choice("head", 1.0, 0, None, None, "a head loaded without its frames: proposing with it")
                self._choices[self.label] = {NEAR: loaded, FAR: loaded, OTHER: loaded}
            return
        if other.model_name != self.model_name:
            raise InputError(f"a head learned with {other.model_name} cannot refine {self.model_name}")
        self.config, self._empty, self._lite_empty = other.config, other._empty, other._lite_empty
        self._lite_columns = other._lite_columns
        self.heads, self._taught, self._scores = dict(other.heads), dict(other._taught), dict(other._scores)
        self.lite_heads = dict(other.lite_heads)
        self._near, self._other = dict(other._near), dict(other._other)
        self._choices, self._blocks = dict(other._choices), OrderedDict()
        self._stale = set(other._stale)
        if self.profile not in {p for h in self.heads.values() for p in h.profiles} and self.heads:
            self.profile = next(iter(self.head_of(self.label).profiles or next(iter(self.heads.values())).profiles))
        if self.predict_with not in (ALL_PROFILES, AUTO_PROFILE, SAM_ONLY):
            self.predict_with = ALL_PROFILES


@dataclass(frozen=True)
class HeadRefiner:
    """Refines SAM's answer with a snapshot of a head (later teaching does not change it) as
    ``choice`` says (the head's mask or a blend; default: the head's, ungated):
    ``(RGB frame (H, W, 3), SAM's prediction, box) -> bool (H, W)``. ``device``: a torch
    device where the head computes (a GPU); None: OpenCV and numpy on the CPU."""

    head: EvoHead
    profile: str = ALL_PROFILES
    device: torch.device | None = None
    choice: Choice = UNGATED  # FAR from the taught frames of ``video`` (and wherever unknown)
    near: Choice | None = None  # NEAR one (None: ``choice``)
    other: Choice | None = None  # on a video without taught frames (None: ``choice``)
    taught: Mapping[Hashable, tuple[int, ...]] = field(default_factory=dict)  # video -> taught frames
    video: Hashable | None = None  # the video whose frames this refiner is called on (None: unknown)
    video_head: EvoHead | None = None  # ``head.for_video`` of ``video``'s taught frames (None: ``head``)
    lite: EvoHead | None = None  # the LITE view of ``head`` where a choice uses it
    lite_video_head: EvoHead | None = None  # ``lite.for_video`` (None: ``lite``)

    def __call__(self, frame: np.ndarray, pred: Prediction, box: Box, index: int | None = None) -> np.ndarray:
        choice = self.choice_at(index)
        head = self.proposer(choice.view)
        return head.propose(frame, pred, box, choice, self.profile, device=self.device)

    def proposer(self, view: str) -> EvoHead:
        """The head proposing in ``view`` on ``video`` (BANK where no LITE view is held)."""
        if view == LITE and self.lite is not None:
            return self.lite if self.lite_video_head is None else self.lite_video_head
        return self.head if self.video_head is None else self.video_head

    def on_video(self, video: Hashable | None) -> HeadRefiner:
        """This refiner called on frames of ``video`` (another video's weighting is dropped)."""
        if video == self.video:
            return self
        return replace(self, video=video, video_head=None, lite_video_head=None)

    def choice_at(self, index: int | None) -> Choice:
        """The choice for frame ``index`` of ``video`` (None: unknown)."""
        where = where_is(index, self.video, list(self.taught.get(self.video, ())))
        picked = {NEAR: self.near, OTHER: self.other}.get(where)
        return picked if picked is not None else self.choice


def despeckled(choice: Choice, solid: bool) -> Choice:
    """``choice`` removing the head's specks (pieces under ``SPECK`` of its mask) and
    pinholes when the label is ``solid`` (``solid_label``) and the head proposes."""
    if not (solid and choice.uses_head):
        return choice
    return replace(choice, despeckle=SPECK, reason=choice.reason + "; specks removed (solid masks)")


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
