"""The learning head on a keyframe walk: computed on keyframes, carried to the frames between.

On a carried frame SAM's answer is the keyframe's answer to the box moved there, carried back
along the flow (``KeyframeModel``). ``CarriedHead`` does the same with the head: its
foreground probability is computed on the keyframe, for the keyframe's answer and the moved
box, and carried back along the same flow; the frame's proposal is then gated from it as a
fresh one is (``EvoHead.gated``: the head's mask, or its blend with the frame's carried
logits). One probability map per keyframe and view serves every frame carried from it
whose moved box stays close to the box it was computed for (``reuse_iou``), so the head's
features and scores run about once per keyframe instead of once per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from evosam.learning import HeadRefiner
from evosam.masks import box_iou
from evosam.models import Prediction
from evosam.propagate import Box, FrameReader
from evosam.tracking.keyframes import KeyframeAnswer, KeyframeModel


@dataclass
class _KeyProbability:
    key: int  # the keyframe's index
    view: str
    box: tuple[float, ...]  # the moved box it was computed for (keyframe pixels)
    prob: np.ndarray  # float32 (H, W) on the keyframe (``EvoHead.probability``)


@dataclass
class CarriedHead:
    """A ``Refiner`` (``(RGB (H, W, 3), SAM's prediction, box, index) -> bool (H, W)``) for a
    keyframe walk: ``refine``'s proposal, with the head's probability taken from the keyframe
    where ``model`` answered the box on a keyframe (see the module), else computed on the
    frame itself; SAM's own answer where neither can be (a carried answer left without the
    decoder features the head reads). ``read_frame(index)`` gives the keyframe's RGB. One
    owner thread, like the model."""

    refine: HeadRefiner
    model: KeyframeModel
    read_frame: FrameReader
    reuse_iou: float = 0.8  # a moved box with at least this IoU with the cached one reuses its map
    computed: int = 0  # probability maps computed on keyframes
    reused: int = 0  # carried frames served by an earlier map
    _cache: list[_KeyProbability] = field(default_factory=list)  # the last two keyframes' maps
    _frames: dict[int, np.ndarray] = field(default_factory=dict)  # the last two keyframes' RGB

    def __call__(self, frame: np.ndarray, pred: Prediction, box: Box, index: int | None = None) -> np.ndarray:
        choice = self.refine.choice_at(index)
        answer = self.model.keyframe_answer(box) if choice.uses_head else None
        if answer is None:
            if pred.decoder_features.size == 0:  # a carried answer without its features: the head cannot read it
                return pred.mask
            return self.refine(frame, pred, box, index)
        head = self.refine.proposer(choice.view)
        key_prob = self._key_probability(answer, choice.view)
        prob = cv2.remap(key_prob, *answer.maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return head.gated(prob, pred, choice)

    def _key_probability(self, answer: KeyframeAnswer, view: str) -> np.ndarray:
        """The head's probability on ``answer``'s keyframe: a cached map for a box close to
        ``answer.box``, else computed now (and cached)."""
        for entry in self._cache:
            if entry.key == answer.index and entry.view == view and box_iou(entry.box, answer.box) >= self.reuse_iou:
                self.reused += 1
                return entry.prob
        head = self.refine.proposer(view)
        key_frame = self._key_frame(answer.index)
        prob = head.probability(
            key_frame, answer.prediction, answer.box, self.refine.profile, device=self.refine.device
        )
        self.computed += 1
        others = [e for e in self._cache if not (e.key == answer.index and e.view == view)]
        self._cache = [*others[-1:], _KeyProbability(answer.index, view, answer.box, prob)]
        return prob

    def _key_frame(self, index: int) -> np.ndarray:
        """Keyframe ``index``'s RGB, read once (the prompt's frame lies outside the walk's
        read-ahead, and a video reads it by seeking)."""
        if index not in self._frames:
            self._frames = {**dict(list(self._frames.items())[-1:]), index: self.read_frame(index)}
        return self._frames[index]
