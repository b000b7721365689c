"""The EvoSAM head: closed-form continual learning on frozen SAM features.

Teaching a frame turns (frame, SAM prediction, confirmed mask, box) into ridge statistics
(``FrameStats``); a head is an immutable set of per-profile statistics; its weights are
solved (Cholesky) on first use and cached. Prediction refines SAM inside the box grown by
``roi_margin``; outside it, and before any teaching, the answer is SAM's mask.

Thread contract (as the GUI uses it): ``roi_features``, ``frame_stats``, ``probability`` and
``predict`` only read the head and may run in a worker; ``taught``/``untaught`` return a
*new* head that the main thread swaps in. A head's statistics never change after
construction (the only mutation is the idempotent weight cache), so readers never see a
torn state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np
import torch

from evosam.errors import InputError
from evosam.head.evidence import (
    BLEND,
    BLEND_ALPHAS,
    SPECK,
    Choice,
    FrameEvidence,
    LeaveOut,
    blend_scores,
    weighted_dice,
)
from evosam.head.features import FeatureConfig, FeatureExtractor, RoiFeatures
from evosam.head.ridge import Stats, solve
from evosam.masks import expand_box, speck_share, without_specks
from evosam.models import Prediction, validate_box

ALL_PROFILES = "all"
AUTO_PROFILE = "auto"
DEFAULT_PROFILE = "default"
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class HeadConfig:
    """Learning settings besides the features."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    ridge: float = 1e-3  # γ as a fraction of the mean diagonal of G
    samples: tuple[int, int, int] = (700, 700, 600)  # per frame: foreground, near and far background
    near: int = 2  # background within this many pixels of the mask is "near" (the hard negatives)
    roi_margin: float = 0.05  # the head works inside the prompt box grown by this fraction
    threshold: float = 0.4  # on the regressed foreground probability (about half the Dice reached)
    gate: float | None = 0.15  # skip the expansion where the linear stage scores below this
    chunk: int = 4096  # pixels per chunk when predicting (bounds memory)
    video_weight: float = 32.0  # on a video, its own taught frames count this many times (``for_video``)

    def lite(self) -> HeadConfig:
        """These settings for the head's view without the filter bank (``FeatureConfig.lite``)."""
        return replace(self, features=self.features.lite())


@dataclass(frozen=True)
class FrameStats:
    """One taught frame: its statistics and the profile they went to (keep it to un-teach)."""

    profile: str
    stats: Stats


def roi_from_box(box: Box, frame_size: tuple[int, int], margin: float) -> tuple[int, int, int, int]:
    """Integer inclusive ROI (x0, y0, x1, y1) around a box (frame pixels), clipped to (H, W)."""
    x0, y0, x1, y1 = expand_box(tuple(validate_box(box, frame_size)), margin, frame_size)
    return int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))


def stratified_sample(
    mask: np.ndarray, counts: tuple[int, int, int], near: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (row-major into the bool (h, w) ``mask``) and weights of a sample of its pixels
    in three strata: foreground, background within ``near`` pixels of it (where the boundary
    is decided), and the rest, ``counts`` of each at most. Each pixel's weight is its
    stratum's size over its sample size (rescaled to sum to the sample count), so the
    weighted sample estimates the whole ROI: the regression then targets the foreground
    probability, handling class imbalance in closed form, with less variance than uniform."""
    flat = mask.ravel()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * near + 1, 2 * near + 1))
    ring = cv2.dilate(mask.astype(np.uint8), kernel).ravel().astype(bool) & ~flat
    picks, weights = [], []
    for stratum, n in zip((flat, ring, ~flat & ~ring), counts, strict=True):
        members = np.flatnonzero(stratum)
        if members.size and n > 0:
            take = np.sort(members[rng.choice(members.size, min(n, members.size), replace=False)])
            picks.append(take)
            weights.append(np.full(take.size, members.size / take.size))
    if not picks:
        return np.zeros(0, np.int64), np.zeros(0)
    w = np.concatenate(weights)
    return np.concatenate(picks), w * (w.size / w.sum())


class EvoHead:
    """Per-profile ridge statistics over SAM + image features; predicts refined masks."""

    def __init__(
        self, model_name: str, config: HeadConfig | None = None, profiles: dict[str, Stats] | None = None
    ) -> None:
        self.model_name = model_name
        self.config = config or HeadConfig()
        self.extractor = FeatureExtractor(self.config.features)
        self._profiles = MappingProxyType(dict(profiles or {}))
        self._weights: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        self._video: Stats | None = None  # ``for_video``'s extra statistics, in ``all`` only
        dim, nb = self.config.features.dim, self.config.features.n_base
        self._linear_idx = np.r_[np.arange(nb), dim - 1]  # base channels and the constant

    # -- state -----------------------------------------------------------------
    @property
    def profiles(self) -> MappingProxyType:
        """Profile name -> Stats (read-only)."""
        return self._profiles

    @property
    def taught_frames(self) -> int:
        return sum(s.frames for s in self._profiles.values())

    def total(self) -> Stats:
        """Sum of every profile's statistics (what ``all`` predicts with)."""
        total = Stats.zeros(self.config.features.dim)
        for s in self._profiles.values():
            total = total + s
        return total

    def taught(self, item: FrameStats) -> EvoHead:
        """A new head with ``item`` added to its profile."""
        if item.stats.dim != self.config.features.dim:
            raise InputError(f"frame statistics of dimension {item.stats.dim} do not fit this head")
        profiles = dict(self._profiles)
        profiles[item.profile] = profiles.get(item.profile, Stats.zeros(item.stats.dim)) + item.stats
        return self._with(profiles)

    def untaught(self, item: FrameStats) -> EvoHead:
        """A new head with ``item`` removed exactly (the user un-confirmed that frame)."""
        if item.profile not in self._profiles:
            raise InputError(f"profile {item.profile!r} has nothing to un-teach")
        profiles = dict(self._profiles)
        profiles[item.profile] = profiles[item.profile] - item.stats
        if profiles[item.profile].frames <= 0:
            del profiles[item.profile]
        return self._with(profiles)

    def save(self, path: str | Path) -> None:
        """Write the state to a versioned ``.npz`` (atomic); see ``evosam.head.persist``."""
        from evosam.head.persist import save_head

        save_head(self, path)

    @staticmethod
    def load(path: str | Path, model_name: str, features: FeatureConfig | None = None) -> EvoHead:
        """Read a saved state; InputError (one line) if it was built for another model,
        another feature set (when ``features`` is given) or a newer schema, or is corrupt."""
        from evosam.head.persist import load_head

        return load_head(path, model_name, features)

    def _with(self, profiles: dict[str, Stats]) -> EvoHead:
        head = EvoHead.__new__(EvoHead)
        head.model_name, head.config, head.extractor = self.model_name, self.config, self.extractor
        head._profiles, head._weights, head._linear_idx = MappingProxyType(profiles), {}, self._linear_idx
        head._video = None
        return head

    def for_video(self, video_stats: Stats | None) -> EvoHead:
        """This head as it proposes on one video, whose own taught frames (their summed
        ``video_stats``, a part of this head's) count ``video_weight`` times in ``all``: the
        patient's own frames outweigh other patients'. With one video taught (or none) the
        solution is this head's, since the ridge scales with G; named profiles are unchanged."""
        extra = self.video_extra(video_stats)
        if extra is None:
            return self
        head = self._with(dict(self._profiles))
        head._video = extra
        return head

    def video_extra(self, video_stats: Stats | None) -> Stats | None:
        """What ``for_video`` adds to ``all``: ``video_stats`` counted ``video_weight - 1`` more
        times (None when there is nothing to add)."""
        if video_stats is None or video_stats.frames <= 0 or self.config.video_weight == 1:
            return None
        return video_stats.scaled(self.config.video_weight - 1)

    # -- teaching --------------------------------------------------------------
    def roi_features(self, frame: np.ndarray, pred: Prediction, box: Box) -> RoiFeatures:
        """Base features of the ROI around ``box`` in an RGB uint8 (H, W, 3) frame."""
        roi = roi_from_box(box, frame.shape[:2], self.config.roi_margin)
        return self.extractor.roi_features(frame, pred, roi, box)

    def frame_stats(
        self,
        frame: np.ndarray,
        pred: Prediction,
        mask: np.ndarray,
        box: Box,
        profile: str = DEFAULT_PROFILE,
        features: RoiFeatures | None = None,
    ) -> FrameStats:
        """Statistics of one confirmed frame: RGB uint8 (H, W, 3), SAM's prediction for ``box``
        (x0, y0, x1, y1), the confirmed mask bool (H, W), and optionally the frame's already
        computed ``roi_features`` for the same box. Keep the result to un-teach the frame."""
        return self.evidence_stats(self.frame_evidence(frame, pred, mask, box, features), profile)

    def frame_evidence(
        self,
        frame: np.ndarray,
        pred: Prediction,
        mask: np.ndarray,
        box: Box,
        features: RoiFeatures | None = None,
        video: Hashable | None = None,
        index: int | None = None,
    ) -> FrameEvidence:
        """The sampled training pixels of one confirmed frame (arguments as ``frame_stats``;
        ``video`` and ``index`` place it in time): what its statistics are made of, kept to
        un-teach it and to score it as unseen."""
        if mask.shape != frame.shape[:2]:
            raise InputError(f"mask of shape {mask.shape} does not match the frame {frame.shape[:2]}")
        feats = features or self.roi_features(frame, pred, box)
        x0, y0, x1, y1 = feats.roi
        crop = mask[y0 : y1 + 1, x0 : x1 + 1]
        seed = int.from_bytes(hashlib.sha256(np.packbits(crop).tobytes()).digest()[:8], "little")
        idx, w = stratified_sample(crop, self.config.samples, self.config.near, np.random.default_rng(seed))
        base = np.ascontiguousarray(feats.channels[:, idx].T)
        logit = np.ascontiguousarray(pred.logits[y0 : y1 + 1, x0 : x1 + 1].ravel()[idx], np.float32)
        return FrameEvidence(base, crop.ravel()[idx].copy(), w, logit, video, index, speck_share(crop, SPECK))

    def evidence_stats(self, evidence: FrameEvidence, profile: str = DEFAULT_PROFILE) -> FrameStats:
        """The ridge statistics of a frame's samples (exactly what teaching it adds)."""
        if evidence.base.shape[1:] != (self.config.features.n_base,):
            raise InputError(f"frame samples of {evidence.base.shape[1:]} channels do not fit this head")
        z = self.extractor.expand(evidence.base)
        return FrameStats(profile, Stats.from_samples(z, evidence.target.astype(np.float64), evidence.weight))

    def frame_samples(
        self, frame: np.ndarray, pred: Prediction, mask: np.ndarray, box: Box, features: RoiFeatures | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sampled training pixels of one frame: features (N, D), targets (N,), weights (N,)."""
        ev = self.frame_evidence(frame, pred, mask, box, features)
        return self.extractor.expand(ev.base), ev.target.astype(np.float64), ev.weight

    def leave_out(
        self, without: Stats, evidence: Sequence[FrameEvidence], video_rest: Stats | None = None
    ) -> list[LeaveOut]:
        """Score frames as unseen: the head minus ``without`` (the statistics of those frames
        and their neighbours; the ridge is re-scaled as for a head that never saw them)
        proposes on each frame's samples, beside SAM and the blends, against its confirmed
        mask (weighted Dice). ``video_rest``: the other taught frames of the frames' video,
        weighted as ``for_video`` weights them (None: all frames count once)."""
        rest = self.total() - without
        extra = self.video_extra(video_rest)
        if extra is not None:
            rest = rest + extra
        solved = self._solve(rest) if rest.frames > 0 else None
        out = []
        for ev in evidence:
            sam = weighted_dice(ev.sam_logit > 0, ev.target, ev.weight)
            if solved is None:
                out.append(LeaveOut(sam, None))
                continue
            score = self.roi_scores(np.ascontiguousarray(ev.base.T), *solved)
            head = weighted_dice(score > self.config.threshold, ev.target, ev.weight)
            blends = tuple(
                weighted_dice(blend_scores(score, ev.sam_logit, a) > self.blend_threshold(a), ev.target, ev.weight)
                for a in BLEND_ALPHAS
            )
            out.append(LeaveOut(sam, head, blends))
        return out

    def blend_threshold(self, alpha: float) -> float:
        """Where a blend (``evidence.blend_scores``) says foreground: between the head's
        threshold and SAM's (probability 1/2) in the blend's proportion."""
        return alpha * self.config.threshold + (1 - alpha) * 0.5

    # -- prediction ------------------------------------------------------------
    def weights(self, profile: str | None = None) -> np.ndarray | None:
        """Solved W float32 (D,) for a profile name or ``all`` (None: all); None when untaught."""
        solved = self._solved(profile)
        return None if solved is None else solved[0]

    def _solved(self, profile: str | None) -> tuple[np.ndarray, np.ndarray] | None:
        """(W (D,), linear-stage W (n_base + 1,)) float32, cached; None when untaught."""
        key = profile or ALL_PROFILES
        if key not in self._weights:
            stats = self.total() if key == ALL_PROFILES else self._profiles.get(key)
            if key == ALL_PROFILES and self._video is not None:
                stats = stats + self._video
            if stats is None:
                raise InputError(f"unknown profile {key!r}; known: {', '.join(self._profiles) or 'none'}")
            self._weights[key] = self._solve(stats) if stats.frames else None
        return self._weights[key]

    def _solve(self, stats: Stats) -> tuple[np.ndarray, np.ndarray]:
        """(W (D,), linear-stage W (n_base + 1,)) float32 of ``stats`` (taught frames > 0)."""
        return (
            solve(stats, self.config.ridge).astype(np.float32),
            solve(stats.subset(self._linear_idx), self.config.ridge).astype(np.float32),
        )

    def probability(
        self,
        frame: np.ndarray,
        pred: Prediction,
        box: Box,
        profile: str | None = None,
        features: RoiFeatures | None = None,
        device: str | torch.device | None = None,
    ) -> np.ndarray:
        """Foreground probability float32 (H, W): the head's inside the ROI, SAM's mask (0 or 1)
        outside it and wherever nothing is taught. ``profile``: a name, ``all`` or None (all
        profiles' sum), or ``auto`` (the profile nearest this frame's mean feature).
        ``device``: compute the features and scores in torch there (a GPU; the masks equal
        the OpenCV path's, see ``evosam.head.torch_bank``) when no ``features`` are given;
        None: OpenCV and numpy."""
        prob = pred.mask.astype(np.float32)
        if not self._profiles:
            return prob
        if features is None and device is not None:
            return self._device_probability(frame, pred, box, profile, torch.device(device), prob)
        feats = features or self.roi_features(frame, pred, box)
        if profile == AUTO_PROFILE:
            profile = self.pick_profile(feats.channels)
        solved = self._solved(profile)
        if solved is None:
            return prob
        x0, y0, x1, y1 = feats.roi
        prob[y0 : y1 + 1, x0 : x1 + 1] = self.roi_scores(feats.channels, *solved).reshape(feats.shape)
        return prob

    def _device_probability(
        self, frame: np.ndarray, pred: Prediction, box: Box, profile: str | None, device: torch.device, prob: np.ndarray
    ) -> np.ndarray:
        """``probability`` with the features and scores computed on ``device``; ``prob`` is SAM's."""
        from evosam.head.torch_bank import gated_scores_torch, roi_channels_torch

        x0, y0, x1, y1 = roi = roi_from_box(box, frame.shape[:2], self.config.roi_margin)
        with torch.inference_mode():
            channels = roi_channels_torch(frame, pred, roi, self.config.features, device, box)
            if profile == AUTO_PROFILE:  # the same pixels ``pick_profile`` would take (every step-th)
                step = max(1, channels.shape[1] // 4096)
                profile = self.pick_profile(channels[:, ::step].cpu().numpy())
            solved = self._solved(profile)
            if solved is None:
                return prob
            w, w_linear, projection, bias = (
                torch.from_numpy(a).to(device) for a in (*solved, self.extractor.projection, self.extractor.bias)
            )
            scores = gated_scores_torch(channels, projection, bias, w, w_linear, self.config.gate)
            prob[y0 : y1 + 1, x0 : x1 + 1] = scores.reshape(y1 - y0 + 1, x1 - x0 + 1).cpu().numpy()
        return prob

    def roi_scores(self, channels: np.ndarray, w: np.ndarray, w_linear: np.ndarray) -> np.ndarray:
        """Head output float32 (N,) for base channels (n_base, N). The linear stage (ridge on
        the base channels alone, from the same statistics) gates the costly expansion: pixels
        it scores below ``config.gate`` keep its score."""
        if self.config.gate is None:
            return self.extractor.scores(channels, w[:, None], self.config.chunk)[:, 0]
        nb = self.config.features.n_base
        linear = w_linear[:nb] @ channels + w_linear[nb]
        keep = np.flatnonzero(linear >= self.config.gate)
        linear[keep] = self.extractor.scores(channels[:, keep], w[:, None], self.config.chunk)[:, 0]
        return linear

    def predict(
        self,
        frame: np.ndarray,
        pred: Prediction,
        box: Box,
        profile: str | None = None,
        features: RoiFeatures | None = None,
        device: str | torch.device | None = None,
    ) -> np.ndarray:
        """Refined mask bool (H, W); SAM's mask outside the ROI and exactly SAM's mask before
        any teaching. Arguments as for ``probability``."""
        return self.probability(frame, pred, box, profile, features, device) > self.config.threshold

    def propose(
        self,
        frame: np.ndarray,
        pred: Prediction,
        box: Box,
        choice: Choice,
        profile: str | None = None,
        features: RoiFeatures | None = None,
        device: str | torch.device | None = None,
    ) -> np.ndarray:
        """The gated proposal bool (H, W): SAM's mask when ``choice`` keeps SAM, the head's
        (``predict``) or the blend of both inside the ROI otherwise (SAM's outside), without
        its specks where ``choice.despeckle`` says."""
        if not choice.uses_head or not self._profiles:
            return pred.mask
        return self.gated(self.probability(frame, pred, box, profile, features, device), pred, choice)

    def gated(self, prob: np.ndarray, pred: Prediction, choice: Choice) -> np.ndarray:
        """``propose`` given the head's ``probability`` float32 (H, W) for SAM's ``pred``."""
        if not choice.uses_head or not self._profiles:
            return pred.mask
        if choice.proposer != BLEND:
            mask = prob > self.config.threshold
        else:
            mask = blend_scores(prob, pred.logits, choice.alpha) > self.blend_threshold(choice.alpha)
        return without_specks(mask, choice.despeckle)

    def pick_profile(self, channels: np.ndarray) -> str | None:
        """The profile whose mean expanded feature is nearest this frame's (None: all);
        ``channels`` float32 (n_base, N) of the frame's ROI."""
        if len(self._profiles) < 2:
            return None
        step = max(1, channels.shape[1] // 4096)
        mean = self.extractor.expand(np.ascontiguousarray(channels[:, ::step].T)).mean(0)
        dist = {name: np.linalg.norm(s.mean_sum / s.frames - mean) for name, s in self._profiles.items() if s.frames}
        return min(dist, key=dist.get)
