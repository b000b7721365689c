"""A tracker that finds its object again: flow-carried prompts, checked against an
appearance memory that also proposes where the object went (occlusion, camera jump, the
object leaving and coming back).

Each frame the flow tracker's answer competes with SAM's answers to the memory's candidate
boxes; a candidate's value is its predicted IoU plus its object-ness (the memory's mean
score under the mask). When no candidate looks like the object, the frame is "lost" (an
empty, flagged proposal) and the search goes on; the first frame found again is flagged
"refound". Reliable masks (the start, confident results) teach the memory, whose size is
fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from evosam.flow import warp_error, warp_masks
from evosam.masks import box_iou
from evosam.models import Prediction
from evosam.propagate import (
    Box,
    FrameResult,
    PropagationConfig,
    frames_with_flow,
    growth_region,
    limit_growth,
    quality_flags,
    rechecked_answer,
)
from evosam.tracking.memory import AppearanceMemory, cells_of
from evosam.tracking.session import StopCheck, TrackSession, register_tracker


@dataclass(frozen=True)
class RedetectConfig:
    """Knobs of the re-detection (defaults chosen on cvc_dev and the CholecSeg8k clip)."""

    lost_below: float = 0.3  # object-ness under which the best answer is no object: "lost"
    same_scene: float = 0.85  # ``scene_similarity`` below this: the frame shows something else: "lost"
    jump_error: float = 1.5  # ``warp_error`` above this: the flow does not explain the frame (a jump)
    switch_margin: float = 0.05  # a memory candidate must beat the flow answer by this much (0.03-0.07 alike)
    teach_iou: float = 0.85  # unflagged answers at least this sure (and this object-like) teach the memory
    teach_objectness: float = 0.6
    teach_weight: float = 0.5  # such a frame counts half as much as a mask the user gave
    candidates: int = 3  # memory regions prompted per frame


@dataclass
class _Answer:
    pred: Prediction
    box: Box
    value: float
    objectness: float
    found: bool  # from the memory, not the flow


@register_tracker
@dataclass
class RedetectTracker:
    """``sam-flow`` with an appearance memory that re-detects the object and says "lost"."""

    name: ClassVar[str] = "sam-redetect"
    config: PropagationConfig = field(default_factory=PropagationConfig)
    redetect: RedetectConfig = field(default_factory=RedetectConfig)

    def follow(
        self, session: TrackSession, label: str, frames: range, start_mask: np.ndarray, should_stop: StopCheck
    ) -> Iterator[FrameResult]:
        cfg, rcfg = self.config, self.redetect
        start = frames.start - frames.step
        memory = AppearanceMemory()
        for frame, mask in sorted(session.masks.get(label, {}).items()):  # the start, confirmations behind it
            if (frame - start) * frames.step <= 0:
                memory.teach(cells_of(session.encoding(frame)), mask)
        prev_mask = keep = np.asarray(start_mask, dtype=bool)
        prev_rgb = session.read_frame(start) if cfg.use_flow else None
        lost = False
        refine = session.refiners.get(label)
        for index, rgb, flow in frames_with_flow(session.read_frame, frames, cfg.use_flow):
            if should_stop():
                return
            jumped = flow is None  # without flow every frame may be a jump
            if flow is not None:
                prev_mask, keep = warp_masks((prev_mask, keep), flow.result())
                jumped = warp_error(prev_rgb, rgb, flow.result()) > rcfg.jump_error
                prev_rgb = rgb
            allowed = growth_region(prev_mask | keep, cfg.max_growth) if cfg.max_growth > 0 else None
            emb, flow_pred = session.embed(index), None
            if prev_mask.any() or keep.any():  # else both carried masks vanished: no flow answer
                emb, pred, box = rechecked_answer(
                    session.model, emb, index, prev_mask, keep, allowed, cfg, session.recheck
                )
                flow_pred = (pred, box)
            cells = cells_of(emb) if memory.ready else None
            scores = memory.score_map(cells) if cells is not None else None
            answer = None
            if cells is None or memory.scene_similarity(cells) >= rcfg.same_scene:
                answer = self._flow_answer(flow_pred, scores, memory)
                if scores is not None and (jumped or lost or not self._trusted(answer, prev_mask)):
                    answer = self._best_of(session, emb, scores, memory, answer)
            if answer is None or answer.objectness < rcfg.lost_below:
                yield FrameResult(index, np.zeros(rgb.shape[:2], bool), 0.0, None, ("lost",), None, 0.0)
                lost = True
                continue
            pred = answer.pred
            if answer.found:  # a found object may be anywhere
                allowed = None
            elif allowed is not None:
                pred = limit_growth(pred, allowed)
            mask = pred.mask
            if refine is not None:  # held to the same growth limit as SAM's answer (as in ``propagate``)
                mask = np.asarray(refine(rgb, pred, answer.box, index), dtype=bool)
                mask = mask & allowed if allowed is not None else mask
            if lost or answer.found:
                flags = ("refound",) if mask.any() else ("empty",)
            else:
                flags = quality_flags(mask, pred.iou, prev_mask, cfg)
            yield FrameResult(index, mask, pred.iou, answer.box, flags, pred, min(pred.iou, answer.objectness))
            lost = not mask.any()
            if lost:
                continue
            prev_mask = mask
            if flags in ((), ("refound",)) and mask.sum() >= cfg.memory_area_ratio * keep.sum():
                keep = mask
            if not flags and pred.iou >= rcfg.teach_iou and answer.objectness >= rcfg.teach_objectness:
                memory.teach(cells if cells is not None else cells_of(emb), mask, weight=rcfg.teach_weight)

    def _flow_answer(self, flow_pred, scores, memory) -> _Answer | None:
        """The flow tracker's answer (None when both carried masks vanished), with its object-ness."""
        if flow_pred is None:
            return None
        pred, box = flow_pred
        obj = memory.objectness(scores, pred.mask) if scores is not None else 1.0  # no memory yet: no doubt
        return _Answer(pred, box, pred.iou + obj, obj, False)

    def _trusted(self, answer: _Answer | None, prev_mask: np.ndarray) -> bool:
        """Whether the flow answer (after a frame the flow explains) is object-like enough and
        passes the quality gate: then no search is made."""
        if answer is None or answer.objectness < self.redetect.lost_below:
            return False
        return not quality_flags(answer.pred.mask, answer.pred.iou, prev_mask, self.config)

    def _best_of(self, session, emb, scores, memory, flow: _Answer | None) -> _Answer | None:
        """The flow answer, or a memory candidate's that beats it by ``switch_margin``."""
        best = flow
        for box in memory.candidate_boxes(scores, emb.frame_size, keep=self.redetect.candidates):
            if flow is not None and box_iou(box, flow.box) > 0.9:  # the same prompt
                continue
            pred = session.model.predict(emb, box=box)
            obj = memory.objectness(scores, pred.mask)
            value = pred.iou + obj
            margin = self.redetect.switch_margin if best is flow and flow is not None else 0.0
            if best is None or value > best.value + margin:
                best = _Answer(pred, tuple(float(v) for v in box), value, obj, True)
        return best
