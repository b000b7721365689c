"""The EvoSAM head: closed-form continual learning on frozen SAM features.

Thread contract (as the GUI uses it): ``frame_stats`` and ``predict`` only read the head and
may run in a worker; ``taught``/``untaught`` return a *new* head that the main thread swaps
in. Nothing here mutates a head after construction, so readers never see a torn state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from evosam.errors import InputError
from evosam.head.features import FeatureConfig, FeatureExtractor
from evosam.head.ridge import Stats, solve
from evosam.masks import expand_box
from evosam.models import Prediction, validate_box

ALL_PROFILES = "all"
AUTO_PROFILE = "auto"
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class HeadConfig:
    """Learning settings besides the features."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    ridge: float = 1e-3  # γ as a fraction of the mean diagonal of G
    samples_per_class: int = 4000  # foreground and background pixels sampled per frame
    roi_margin: float = 0.05  # the head works inside the prompt box grown by this fraction
    threshold: float = 0.4  # on the regressed foreground probability
    chunk: int = 32768  # pixels per chunk when predicting (bounds memory)


@dataclass(frozen=True)
class FrameStats:
    """One taught frame: its statistics and the profile they went to (keep it to un-teach)."""

    profile: str
    stats: Stats


def roi_from_box(box: tuple[float, float, float, float], frame_size: tuple[int, int], margin: float):
    """Integer inclusive ROI (x0, y0, x1, y1) around a box (frame pixels)."""
    x0, y0, x1, y1 = expand_box(tuple(validate_box(box, frame_size)), margin, frame_size)
    return int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))


class EvoHead:
    """Per-profile ridge statistics over SAM + image features; predicts refined masks."""

    def __init__(
        self, model_name: str, config: HeadConfig = HeadConfig(), profiles: dict[str, Stats] | None = None
    ) -> None:
        self.model_name = model_name
        self.config = config
        self.extractor = FeatureExtractor(config.features)
        self._profiles = MappingProxyType(dict(profiles or {}))
        self._weights: dict[str, np.ndarray] = {}

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

    def _with(self, profiles: dict[str, Stats]) -> EvoHead:
        head = EvoHead.__new__(EvoHead)
        head.model_name, head.config, head.extractor = self.model_name, self.config, self.extractor
        head._profiles, head._weights = MappingProxyType(profiles), {}
        return head

    # -- teaching --------------------------------------------------------------
    def frame_stats(
        self,
        frame: np.ndarray,
        pred: Prediction,
        mask: np.ndarray,
        box: tuple[float, float, float, float],
        profile: str = DEFAULT_PROFILE,
    ) -> FrameStats:
        """Statistics of one confirmed frame: RGB uint8 (H, W, 3), SAM's prediction for ``box``,
        and the confirmed mask bool (H, W). Samples are drawn deterministically from the mask."""
        z, y, w = self.frame_samples(frame, pred, mask, box)
        return FrameStats(profile, Stats.from_samples(z, y, w))

    def frame_samples(
        self, frame: np.ndarray, pred: Prediction, mask: np.ndarray, box: tuple[float, float, float, float]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sampled training pixels of one frame: features (N, D), targets (N,), weights (N,)."""
        if mask.shape != frame.shape[:2]:
            raise InputError(f"mask of shape {mask.shape} does not match the frame {frame.shape[:2]}")
        roi = roi_from_box(box, mask.shape, self.config.roi_margin)
        base, _ = self.extractor.base(frame, pred, roi)
        y = mask[roi[1] : roi[3] + 1, roi[0] : roi[2] + 1].ravel()
        idx, w = self._sample(y, np.random.default_rng(int.from_bytes(hashlib.sha256(mask.tobytes()).digest()[:8])))
        return self.extractor.expand(base[idx]), y[idx].astype(np.float64), w

    def _sample(self, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Stratified sample of ROI pixels; weights make it an unbiased estimate of the whole
        ROI, so the regression targets the true foreground probability (closed-form imbalance)."""
        n = self.config.samples_per_class
        picks, weights = [], []
        for cls in (np.flatnonzero(y), np.flatnonzero(~y)):
            if cls.size:
                take = rng.choice(cls, min(n, cls.size), replace=False)
                picks.append(take)
                weights.append(np.full(take.size, cls.size / take.size))
        w = np.concatenate(weights)
        return np.concatenate(picks), w * (w.size / w.sum())

    # -- prediction ------------------------------------------------------------
    def weights(self, profile: str | None = None) -> np.ndarray | None:
        """Solved W (D,) for a profile name, ``all`` (None means all); None when untaught."""
        key = profile or ALL_PROFILES
        if key not in self._weights:
            stats = self.total() if key == ALL_PROFILES else self._profiles.get(key)
            if stats is None:
                raise InputError(f"unknown profile {key!r}; known: {', '.join(self._profiles) or 'none'}")
            self._weights[key] = solve(stats, self.config.ridge).astype(np.float32) if stats.frames else None
        return self._weights[key]

    def probability(
        self, frame: np.ndarray, pred: Prediction, box: tuple[float, float, float, float], profile: str | None = None
    ) -> np.ndarray | None:
        """Foreground probability float32 (H, W) inside the ROI (0 outside); None when untaught."""
        roi = roi_from_box(box, frame.shape[:2], self.config.roi_margin)
        base, (h, w) = self.extractor.base(frame, pred, roi)
        if profile == AUTO_PROFILE:
            profile = self.pick_profile(base)
        weights = self.weights(profile)
        if weights is None:
            return None
        scores = np.concatenate(
            [
                self.extractor.expand(base[i : i + self.config.chunk]) @ weights
                for i in range(0, base.shape[0], self.config.chunk)
            ]
        )
        prob = np.zeros(frame.shape[:2], np.float32)
        prob[roi[1] : roi[3] + 1, roi[0] : roi[2] + 1] = scores.reshape(h, w)
        return prob

    def predict(
        self, frame: np.ndarray, pred: Prediction, box: tuple[float, float, float, float], profile: str | None = None
    ) -> np.ndarray:
        """Refined mask bool (H, W); with nothing taught it is exactly SAM's mask."""
        prob = self.probability(frame, pred, box, profile)
        return pred.mask.copy() if prob is None else prob > self.config.threshold

    def pick_profile(self, base: np.ndarray) -> str | None:
        """The profile whose mean expanded feature is nearest this frame's (None: all)."""
        if len(self._profiles) < 2:
            return None
        step = max(1, base.shape[0] // 4096)
        mean = self.extractor.expand(base[::step]).mean(0)
        dist = {name: np.linalg.norm(s.mean_sum / s.frames - mean) for name, s in self._profiles.items() if s.frames}
        return min(dist, key=dist.get)
