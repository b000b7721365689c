"""Mask propagation through a video: from a mask on frame N to frames N±1, N±2, ...

Each frame is prompted from the previous result. The previous mask and a *memory* (the
largest reliable mask so far) are carried to the new frame by optical flow; the tight box
of each, with a margin, is a candidate prompt and the answer with the best predicted IoU
wins. When the carried mask falls apart into several large pieces (an organ split by a
tool), each piece is also prompted on its own and the answers are united. Pixels far from
the carried masks are dropped, so a leak into a neighbour cannot grow the next box. A quality gate
flags frames whose mask is empty, has low predicted IoU, or jumps in area or position.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from evosam.errors import InputError
from evosam.flow import backward_flow, warp_masks
from evosam.masks import box_iou, centroid, mask_box, prompt_box
from evosam.models import Embedding, Prediction, PromptableModel

FrameReader = Callable[[int], np.ndarray]  # index -> RGB uint8 (H, W, 3)
Embedder = Callable[[int], Embedding]  # index -> embedding (cached by the caller)
Recheck = Callable[[int, float, tuple[str, ...]], "Embedding | None"]  # (index, IoU, flags) -> a fresh embedding
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class PropagationConfig:
    """Knobs of the propagation and its quality gate (defaults tuned on cholecseg8k_clip)."""

    use_flow: bool = True  # carry masks with optical flow before taking their boxes
    box_margins: tuple[float, ...] = (0.1,)  # candidate growths of the prompt box, fraction of its size per side
    memory_area_ratio: float = 1.0  # an unflagged mask becomes the memory if at least this x the memory's area
    memory_iou_gain: float = 0.02  # the memory's answer must beat the previous frame's by this much
    component_fraction: float = 0.15  # pieces of at least this share of the mask are also prompted alone
    max_growth: float = 0.02  # keep only pixels within this x box diagonal of the carried masks (0: off)
    min_iou: float = 0.5  # flag below this predicted IoU
    max_area_ratio: float = 2.0  # flag when area grows or shrinks by more than this factor
    max_shift: float = 0.5  # flag when the centroid moves more than this x the box diagonal
    stop_on_flag: bool = False  # stop at the first flagged frame instead of continuing
    # SAM's answer shrunk below 1 / ``max_area_ratio`` of the carried mask (an instrument
    # answered instead of the organ it crosses): propose the carried mask (still flagged)
    keep_carried_on_collapse: bool = True


@dataclass(frozen=True)
class FrameResult:
    """The proposal for one frame. ``mask`` bool (H, W); ``box`` the winning prompt (x0, y0, x1, y1);
    ``confidence`` in [0, 1] where the tracker gives one (NaN otherwise); ``flags`` its
    reasons to distrust the mask ("lost": no object found, an empty mask)."""

    index: int
    mask: np.ndarray
    iou: float
    box: Box | None
    flags: tuple[str, ...] = field(default_factory=tuple)
    prediction: Prediction | None = None
    confidence: float = float("nan")

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def frame_order(start: int, end: int | None, backward: bool, frame_count: int) -> range:
    """Indices after ``start`` up to ``end`` inclusive (default: the clip's last/first frame)."""
    if not 0 <= start < frame_count:
        raise InputError(f"start frame {start} is outside the clip (0..{frame_count - 1})")
    if end is None:
        end = 0 if backward else frame_count - 1
    if not 0 <= end < frame_count:
        raise InputError(f"end frame {end} is outside the clip (0..{frame_count - 1})")
    if (backward and end > start) or (not backward and end < start):
        raise InputError(f"end frame {end} lies on the wrong side of start frame {start}")
    return range(start - 1, end - 1, -1) if backward else range(start + 1, end + 1)


def quality_flags(mask: np.ndarray, iou: float, prev: np.ndarray, config: PropagationConfig) -> tuple[str, ...]:
    """Reasons to distrust ``mask`` given the previous frame's mask ``prev`` (bool (H, W))."""
    area, prev_area = int(mask.sum()), int(prev.sum())
    if area == 0:
        return ("empty",)
    flags = []
    if iou < config.min_iou:
        flags.append("low_iou")
    if prev_area and max(area / prev_area, prev_area / area) > config.max_area_ratio:
        flags.append("area_jump")
    c0, c1, box = centroid(prev), centroid(mask), mask_box(prev)
    if c0 and c1 and box:
        diag = float(np.hypot(box[2] - box[0] + 1, box[3] - box[1] + 1))
        if np.hypot(c1[0] - c0[0], c1[1] - c0[1]) > config.max_shift * diag:
            flags.append("shift_jump")
    return tuple(flags)


def collapsed(mask: np.ndarray, carried: np.ndarray, ratio: float) -> bool:
    """Whether bool (H, W) ``mask`` holds under 1 / ``ratio`` of the ``carried`` mask's area."""
    return int(mask.sum()) * ratio < int(carried.sum())


def large_components(mask: np.ndarray, fraction: float) -> list[np.ndarray]:
    """Connected pieces of a bool (H, W) mask holding at least ``fraction`` of its area, largest first."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return [labels == j + 1 for j in np.argsort(-areas) if areas[j] >= fraction * areas.sum()]


def predict_boxes(backend: PromptableModel, emb: Embedding, boxes: list[Box]) -> list[Prediction]:
    """SAM's answer to each box on ``emb``, in one decoder call where the backend has
    ``predict_boxes`` (``SamBackend``), else one ``predict`` per box."""
    batched = getattr(backend, "predict_boxes", None)
    if batched is not None:
        return batched(emb, boxes)
    return [backend.predict(emb, box=b) for b in boxes]


def candidate_boxes(masks: tuple[np.ndarray, ...], config: PropagationConfig) -> list[Box]:
    """The prompt box of each carried mask (first = previous frame, then memory) at each margin,
    without near-repeats (box IoU > 0.9 with an earlier one) or empty masks."""
    tried: list[Box] = []
    for mask, margin in ((m, g) for m in masks for g in config.box_margins):
        box = prompt_box(mask, margin)
        if box is not None and not any(box_iou(box, t) > 0.9 for t in tried):
            tried.append(box)
    return tried


def pick_candidate(preds: list[Prediction], boxes: list[Box], config: PropagationConfig) -> tuple[Prediction, Box]:
    """The answer with the highest predicted IoU (later candidates must win by ``memory_iou_gain``)."""
    best: tuple[Prediction, Box] | None = None
    for pred, box in zip(preds, boxes, strict=True):
        if best is None or pred.iou > best[0].iou + config.memory_iou_gain:
            best = (pred, box)
    if best is None:
        raise InputError("the mask to propagate from is empty")
    return best


def best_candidate(
    backend: PromptableModel, emb: Embedding, masks: tuple[np.ndarray, ...], config: PropagationConfig
) -> tuple[Prediction, Box]:
    """Prompt with the box of each carried mask (first = previous frame, then memory) at each
    margin, all in one decoder call; keep the answer with the highest predicted IoU (later
    candidates must win by ``memory_iou_gain``)."""
    boxes = candidate_boxes(masks, config)
    return pick_candidate(predict_boxes(backend, emb, boxes), boxes, config)


def piece_boxes(carried: np.ndarray, fraction: float) -> list[Box]:
    """Prompt boxes of the large pieces of ``carried`` when it has several (else none)."""
    pieces = large_components(carried, fraction)
    return [prompt_box(piece, 0.1) for piece in pieces] if len(pieces) >= 2 else []


def unite(pred: Prediction, pieces: list[Prediction]) -> Prediction:
    """``pred`` with the pixel-wise max of its and the pieces' logits (unchanged without pieces)."""
    if not pieces:
        return pred
    logits = pred.logits.copy()
    for piece in pieces:
        np.maximum(logits, piece.logits, out=logits)
    return dataclasses.replace(pred, logits=logits)


def unite_pieces(
    backend: PromptableModel, emb: Embedding, pred: Prediction, carried: np.ndarray, fraction: float
) -> Prediction:
    """When ``carried`` has several large pieces, prompt each alone and unite the answers
    (pixel-wise max of logits), so a structure split by an instrument keeps all its parts."""
    return unite(pred, predict_boxes(backend, emb, piece_boxes(carried, fraction)))


def answer_frame(
    backend: PromptableModel, emb: Embedding, prev_mask: np.ndarray, memory: np.ndarray, config: PropagationConfig
) -> tuple[Prediction, Box]:
    """``best_candidate`` then ``unite_pieces`` of the carried masks, every box in one decoder call."""
    boxes = candidate_boxes((prev_mask, memory), config)
    pieces = piece_boxes(prev_mask, config.component_fraction)
    preds = predict_boxes(backend, emb, boxes + pieces)
    pred, box = pick_candidate(preds[: len(boxes)], boxes, config)
    return unite(pred, preds[len(boxes) :]), box


def growth_region(carried: np.ndarray, max_growth: float) -> np.ndarray | None:
    """Pixels within ``max_growth`` x the box diagonal of the bool (H, W) ``carried`` mask
    (bool (H, W)); None when ``carried`` is empty. After flow compensation a structure grows
    little per frame, while a leak into a neighbour would otherwise feed a larger box to
    the next frame."""
    box = mask_box(carried)
    if box is None:
        return None
    radius = max(2, int(round(max_growth * np.hypot(box[2] - box[0] + 1, box[3] - box[1] + 1))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(carried.astype(np.uint8), kernel) > 0


def limit_growth(pred: Prediction, allowed: np.ndarray) -> Prediction:
    """Drop mask pixels outside the bool (H, W) ``allowed`` region (their logits go below 0)."""
    return dataclasses.replace(pred, logits=np.where(allowed, pred.logits, np.minimum(pred.logits, -1.0)))


def frames_with_flow(
    read_frame: FrameReader, frames: range, use_flow: bool = True
) -> Iterator[tuple[int, np.ndarray, Future | None]]:
    """(index, RGB frame, its ``backward_flow`` from the frame before it in the walk) along
    ``frames`` (the flow a Future; None without ``use_flow``). The next frame's flow is computed
    in a thread while the caller works on this one (OpenCV releases the GIL), so a propagation
    that waits little for its model (a GPU's) does not wait for the flow either; the flows are
    the same. ``read_frame`` is only called from the caller's thread."""
    if not use_flow:
        for index in frames:
            yield index, read_frame(index), None
        return
    if not len(frames):
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evosam-flow") as pool:
        prev, rgb = read_frame(frames[0] - frames.step), read_frame(frames[0])
        flow = pool.submit(backward_flow, prev, rgb)
        failed: Exception | None = None
        for i, index in enumerate(frames):
            if failed is not None:  # reading this frame failed: raise when its turn comes, as without flow
                raise failed
            following, after = None, None
            if i + 1 < len(frames):
                try:
                    following = read_frame(frames[i + 1])
                except Exception as exc:  # noqa: BLE001  (re-raised unchanged, one frame later)
                    failed = exc
                else:
                    after = pool.submit(backward_flow, rgb, following)
            yield index, rgb, flow
            rgb, flow = following, after


def propagate(
    backend: PromptableModel,
    read_frame: FrameReader,
    embed: Embedder,
    frames: range,
    init_mask: np.ndarray,
    config: PropagationConfig = PropagationConfig(),
    should_stop: Callable[[], bool] = lambda: False,
    refine: Callable[[np.ndarray, Prediction, Box, int], np.ndarray] | None = None,
    recheck: Recheck | None = None,
) -> Iterator[FrameResult]:
    """Yield a ``FrameResult`` for each index in ``frames``, starting from ``init_mask``
    (bool (H, W)) on the frame just before ``frames[0]`` in the walking direction.

    Holds one previous frame and two masks: the video is never loaded whole.
    ``should_stop`` is polled before each frame (cancellation). ``refine(rgb, prediction,
    box, index) -> bool (H, W)`` (e.g. the learning head; ``index`` the frame's) turns SAM's
    answer into the proposal, which is then also what the next frame is prompted from.
    ``recheck(index, iou, flags)``: told SAM's answer (before ``refine``), returns a better
    embedding of the frame to answer again with, or None (``evosam.tracking.keyframes``).
    """
    prev_mask = np.asarray(init_mask, dtype=bool)
    if prev_mask.ndim != 2 or not prev_mask.any():
        raise InputError("the starting mask is empty: draw or confirm a mask first")
    memory = prev_mask
    for index, rgb, flow in frames_with_flow(read_frame, frames, config.use_flow):
        if should_stop():
            return
        if rgb.shape[:2] != prev_mask.shape:
            raise InputError(f"frame {index} is {rgb.shape[1]}x{rgb.shape[0]}, the mask {prev_mask.shape[::-1]}")
        if flow is not None:
            prev_mask, memory = warp_masks((prev_mask, memory), flow.result())
        allowed = growth_region(prev_mask | memory, config.max_growth) if config.max_growth > 0 else None
        _, pred, box = rechecked_answer(backend, embed(index), index, prev_mask, memory, allowed, config, recheck)
        pred = limit_growth(pred, allowed) if allowed is not None else pred
        mask, flags = _proposal(rgb, index, pred, box, prev_mask, allowed, refine, config)
        yield FrameResult(index, mask, pred.iou, box, flags, pred)
        if "empty" not in flags:
            prev_mask = mask
        if not flags and mask.sum() >= config.memory_area_ratio * memory.sum():
            memory = mask
        if flags and config.stop_on_flag:
            return


def _proposal(
    rgb: np.ndarray,
    index: int,
    pred: Prediction,
    box: Box | None,
    carried: np.ndarray,
    allowed: np.ndarray | None,
    refine: Callable[[np.ndarray, Prediction, Box, int], np.ndarray] | None,
    config: PropagationConfig,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The frame's proposal bool (H, W) and its quality flags: the ``carried`` mask (flagged
    as SAM's answer is) where SAM's answer collapsed and ``keep_carried_on_collapse`` says
    so, else SAM's answer refined by ``refine`` (held to the ``allowed`` growth region)."""
    if config.keep_carried_on_collapse and collapsed(pred.mask, carried, config.max_area_ratio):
        return carried, quality_flags(pred.mask, pred.iou, carried, config)
    mask = pred.mask
    if refine is not None and box is not None:
        mask = np.asarray(refine(rgb, pred, box, index), dtype=bool)
        if allowed is not None:  # the refined proposal is held to the same growth limit
            mask = mask & allowed  # a new array: the refiner's own is left as it returned it
    return mask, quality_flags(mask, pred.iou, carried, config)


def rechecked_answer(
    backend: PromptableModel,
    emb: Embedding,
    index: int,
    prev_mask: np.ndarray,
    memory: np.ndarray,
    allowed: np.ndarray | None,
    config: PropagationConfig,
    recheck: Recheck | None,
) -> tuple[Embedding, Prediction, Box]:
    """``answer_frame`` on frame ``index``'s ``emb``. In a keyframe walk, ``recheck`` is told
    that answer (its flags on the answer held to the ``allowed`` region, as the proposal will
    be) and may return a fresh encoding: the frame is answered on it instead, and ``recheck``
    is told that answer too (its flags say what the fresh encoding did not mend). Returns the
    embedding answered on, SAM's answer (not held to ``allowed``) and its box."""
    pred, box = answer_frame(backend, emb, prev_mask, memory, config)
    if recheck is None:
        return emb, pred, box

    def tell(answer: Prediction) -> Embedding | None:
        held = limit_growth(answer, allowed) if allowed is not None else answer
        return recheck(index, held.iou, quality_flags(held.mask, held.iou, prev_mask, config))

    fresh = tell(pred)
    if fresh is None:
        return emb, pred, box
    pred, box = answer_frame(backend, fresh, prev_mask, memory, config)
    tell(pred)
    return fresh, pred, box
