"""Honest evidence for the head: every taught frame scored as unseen, and the gate it feeds.

Teaching samples each frame's ROI pixels in strata (``stratified_sample``) with weights that
make the sample estimate the whole ROI. Keeping those samples (their base channels, targets,
weights and SAM's logit) costs about 0.75 MB a frame (2000 x 92 float32) and gives:

- the frame's exact statistics again (``FrameEvidence.stats``), so a frame can be un-taught
  without keeping its (D, D) matrix;
- its leave-out Dice: subtracting the frame's statistics (and those of its neighbours in
  time, which are near copies of it) gives exactly the head that never saw them; its
  proposal is scored on the frame's samples against the confirmed mask, beside SAM's.

``choose`` turns those figures into the label's proposer: SAM alone until the head has
shown on frames it did not see that it does better, then the head (or a blend of the two).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

SAM, HEAD, BLEND = "sam", "head", "blend"
BANK, LITE = "bank", "lite"  # the head's two views: all features, or without the filter bank
NEIGHBOURS = 10  # frames of one video closer than this are left out together


@dataclass(frozen=True)
class FrameEvidence:
    """The sampled pixels of one taught frame: ``base`` float32 (N, n_base) base channels
    (SAM's logit first, standardised), ``target`` bool (N,) the confirmed mask there,
    ``weight`` float64 (N,) the stratified weights (sum N), ``sam_logit`` float32 (N,) SAM's
    raw logit. ``video`` and ``frame`` place it in time (None: it has no neighbours);
    ``specks`` how much of the confirmed mask lies in specks (``evosam.masks.speck_share``)."""

    base: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    sam_logit: np.ndarray
    video: Hashable | None = None
    frame: int | None = None
    specks: float = float("nan")  # ``speck_share`` of the confirmed mask in the ROI (NaN: unknown)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.base, self.target, self.weight, self.sam_logit))


def weighted_dice(pred: np.ndarray, target: np.ndarray, weight: np.ndarray) -> float:
    """Dice of bool ``pred`` against bool ``target`` over weighted samples (N,): the
    stratified weights make it an estimate of the Dice over the whole ROI. 1.0 when both
    are empty."""
    tp = float(weight[pred & target].sum())
    wrong = float(weight[pred ^ target].sum())
    return 1.0 if tp + wrong == 0 else 2 * tp / (2 * tp + wrong)


@dataclass(frozen=True)
class LeaveOut:
    """One taught frame scored by proposers that never saw it (nor its neighbours):
    ``sam`` SAM alone, ``head`` the head's mask, ``blend`` the blend's (``Choice.alpha``
    of ``BLEND_ALPHAS``); ``lite`` and ``lite_blend`` the same for the head's LITE view
    (None, (): not scored). ``head`` is None when nothing else was taught (no such head)."""

    sam: float
    head: float | None
    blend: tuple[float, ...] = ()
    lite: float | None = None
    lite_blend: tuple[float, ...] = ()

    def of(self, view: str) -> tuple[float | None, tuple[float, ...]]:
        """(head, blends) of ``view`` (BANK or LITE)."""
        return (self.lite, self.lite_blend) if view == LITE else (self.head, self.blend)


BLEND_ALPHAS = (0.5,)  # the blends tried: alpha x head + (1 - alpha) x SAM's probability


def blend_scores(head_score: np.ndarray, sam_logit: np.ndarray, alpha: float) -> np.ndarray:
    """alpha x the head's regressed probability + (1 - alpha) x SAM's sigmoid probability."""
    sam_p = 1.0 / (1.0 + np.exp(-np.clip(sam_logit, -30, 30)))
    return alpha * head_score + (1 - alpha) * sam_p


@dataclass(frozen=True)
class Choice:
    """What a label proposes with, and why: ``proposer`` SAM, HEAD or BLEND (``alpha``),
    with the head's ``view`` (BANK or LITE); ``frames`` with leave-out evidence; the mean
    leave-out Dice of SAM and of the chosen; ``despeckle`` (``without_specks``'s fraction)
    where the label's confirmed masks are solid."""

    proposer: str = SAM
    alpha: float = 1.0
    frames: int = 0
    sam_dice: float | None = None
    chosen_dice: float | None = None
    reason: str = "no confirmed frame yet: SAM's proposal"
    despeckle: float = 0.0  # the head's specks smaller than this share of its mask are removed (0: kept)
    view: str = BANK  # the head's features: BANK (with the filter bank) or LITE (without)

    @property
    def uses_head(self) -> bool:
        return self.proposer != SAM


SPECK = 0.01  # a piece of a mask smaller than this share of it is a speck
SOLID = 0.001  # a label whose confirmed masks have a median speck share below this is solid


def solid_label(specks: Sequence[float]) -> bool:
    """Whether a label's confirmed masks (their ``speck_share`` at ``SPECK``; NaN: unknown)
    are solid objects, whose proposals should be too: the median known share is below
    ``SOLID``. A vessel tree's annotations keep their small pieces, so its proposals do."""
    known = [s for s in specks if np.isfinite(s)]
    return bool(known) and float(np.median(known)) < SOLID


MIN_FRAMES = 2  # leave-out scores needed before the head may replace SAM
MARGIN = 0.01  # the head must beat SAM's mean leave-out Dice by this much


def _count(n: int, noun: str) -> str:
    """``1 unseen frame``, ``2 unseen frames``: a count with its noun in the right number."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def choose(scores: Sequence[LeaveOut]) -> Choice:
    """The proposer with the best mean leave-out Dice; SAM unless the head (or a blend) beats
    it by ``MARGIN`` over at least ``MIN_FRAMES`` frames that were scored as unseen."""
    scored = [s for s in scores if s.head is not None]
    if not scored:
        taught = len(scores)
        why = "no confirmed frame yet" if not taught else "no frame scored as unseen yet (needs frames apart in time)"
        return Choice(reason=f"{why}: SAM's proposal")
    sam = float(np.mean([s.sam for s in scored]))
    (view, proposer, alpha), best = max(_options(scored).items(), key=lambda kv: kv[1])
    n = len(scored)
    if n < MIN_FRAMES:
        return Choice(
            SAM, 1.0, n, sam, sam, f"{_count(n, 'frame')} scored as unseen (needs {MIN_FRAMES}): SAM's proposal"
        )
    if best < sam + MARGIN:
        why = f"the head is no better on {_count(n, 'unseen frame')} (SAM {sam:.2f}, with the head {best:.2f})"
        return Choice(SAM, 1.0, n, sam, sam, why)
    what = "the head" if proposer == HEAD else f"a blend of head and SAM ({alpha:.1f})"
    if view == LITE:
        what += " without the filter bank"
    why = f"{what} beats SAM on {_count(n, 'unseen frame')} ({best:.2f} vs {sam:.2f})"
    return Choice(proposer, alpha, n, sam, best, why, view=view)


def _options(scored: Sequence[LeaveOut]) -> dict[tuple[str, str, float], float]:
    """Mean leave-out Dice of every (view, proposer, alpha) scored on all of ``scored``; on a
    tie the BANK view and the plain head come first (``max`` keeps the first best)."""
    options = {}
    for view in (BANK, LITE):
        heads, blends = zip(*(s.of(view) for s in scored), strict=True)
        if any(h is None for h in heads):
            continue
        options[(view, HEAD, 1.0)] = float(np.mean(heads))
        for k, alpha in enumerate(BLEND_ALPHAS):
            if all(len(b) > k for b in blends):
                options[(view, BLEND, alpha)] = float(np.mean([b[k] for b in blends]))
    return options
