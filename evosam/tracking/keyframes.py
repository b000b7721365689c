"""Keyframe embeddings: SAM's image encoder on keyframes only, their embedding carried to
the frames between by optical flow (the idea of Deep Feature Flow, Zhu et al., CVPR 2017).

A carried frame's embedding is the keyframe's, resampled at embedding resolution along the
flow from the frame back to the keyframe; SAM's decoder reads it as it reads an encoded one.
A frame becomes a keyframe (is encoded) when the carried embedding would be stale: too many
frames since the keyframe, too much motion, a flow that does not explain the frame (its warp
error), or, told by the tracker after decoding (``recheck``), an answer whose predicted IoU
fell below the keyframe's or that the quality gate flags.

When the embedder knows the walk (a recorded video: every frame it will visit), it also
encodes the keyframe ``max_interval`` frames *ahead* and carries each frame between from
the nearer of the two keyframes (the other when the nearer's flow is stale): the same
number of encodings, half the distance carried.

What is carried: ``Embedding.features`` (C, h, w) and each of ``Embedding.extra``'s maps
(SAM 2's high-resolution features) at its own grid size, all over the same padded model
input; the padding cells keep the keyframe's values. Carried embeddings never go into an
embedding cache (a cache holds encodings).
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from evosam.flow import gray_flow, gray_warp_error, remap_maps, small_gray
from evosam.learning import HeadRefiner, Refiner
from evosam.models import Embedding, Prediction, PromptableModel
from evosam.tracking.session import Tracker, TrackSession

FrameReader = Callable[[int], np.ndarray]
Encoder = Callable[[int], Embedding]  # index -> the frame's real encoding (cached by the caller)


@dataclass(frozen=True)
class KeyframeConfig:
    """When a carried embedding is stale and the frame is encoded instead. Tuned on frames
    that are not scored (docs/benchmarks.md, "Keyframe embeddings (issue 19)")."""

    max_interval: int = 8  # encode at least every this many frames
    # the keyframe carried to the frame differs from it by more than this (grey levels 0-255,
    # median, at ``flow_side``): encode
    max_warp_error: float = 2.5
    max_motion: float = 3.0  # mean displacement from the keyframe, in embedding cells, above this: encode
    iou_drop: float = 0.05  # a carried answer's predicted IoU this far below the reference: encode, answer again
    # the reference: the best predicted IoU of the last this many keyframes' answers (1: the
    # keyframe's own; more keeps a poor keyframe answer from lowering the bar for its frames)
    reference_keys: int = 3
    recheck_flags: bool = True  # a carried answer the quality gate flags: encode, answer again
    # an IoU drop on a frame carried nearly exactly (from a keyframe at most ``recheck_gap``
    # frames away, its warp error at most ``settled_error`` x ``max_warp_error``) is the
    # object's, not the carry's: no recheck for it (flags still recheck; 0: recheck any)
    recheck_gap: int = 2
    settled_error: float = 0.5
    # flags that the last encoded frame's answer had too (a fresh encoding did not mend
    # them, e.g. SAM answering the instrument that crosses the organ): no recheck for a
    # carried answer flagged with those only (False: recheck every flagged answer)
    skip_unmended: bool = True
    flow_side: int = 320  # the keyframe-to-frame flow is computed at this longest side (pixels)
    # box prompts on a carried frame are decoded on the keyframe's encoding (moved there along
    # the flow) and the answer carried back; False: decoded on the carried embedding
    decode_on_key: bool = True
    # with ``decode_on_key``: a box this close (x its longest side) to one already decoded on
    # the keyframe reuses that answer
    reuse_box: float = 0.03
    # with the walk known: encode the keyframe ``max_interval`` frames ahead too, and carry each
    # frame from the nearer keyframe (False: from the one behind only)
    look_ahead: bool = True
    # with ``decode_on_key``: the learning head's probability on a carried frame is computed on
    # the keyframe and carried back too (``evosam.tracking.carried_head``); False: on the frame
    carry_head: bool = True


@dataclass
class KeyframeStats:
    """What a walk cost: frames ``encoded`` (by index, in order), ``carried``, and how many
    of those were encoded after all (``rechecked``); seconds in the encoder, the flow, the warp."""

    encoded: list[int] = field(default_factory=list)
    carried: int = 0
    rechecked: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"encode": 0.0, "flow": 0.0, "warp": 0.0})
    log: list[tuple[int, str, float, float]] = field(default_factory=list)  # index, why, warp error, motion


@dataclass
class _Key:
    index: int
    embedding: Embedding
    gray: np.ndarray
    scale: float


@dataclass(frozen=True)
class CarriedEmbedding(Embedding):
    """A keyframe's embedding carried to another frame: ``features`` and ``extra`` resampled
    along the flow (what a reader of the embedding's cells sees; what the decoder reads
    without ``decode_on_key``); ``key`` the keyframe's own encoding; ``flow`` float32
    (h, w, 2) the frame's backward flow to the keyframe, (dx, dy) in frame pixels on a grid
    covering the frame (``frame[y, x]`` ~ ``keyframe[y + dy, x + dx]``)."""

    key: Embedding | None = None
    flow: np.ndarray | None = None
    key_index: int = -1  # the keyframe's frame index (-1: unknown)


def sampling_grid(flow: np.ndarray, emb: Embedding, side: int) -> torch.Tensor:
    """``grid_sample``'s grid (1, side, side, 2) over a (side, side) map of ``emb``'s padded
    square model input: each valid cell samples the keyframe where the backward ``flow``
    (float32 (h, w, 2) on any grid covering the frame, (dx, dy) in frame pixels) points,
    clamped to the valid cells; padding cells sample themselves."""
    (fh, fw), (ih, iw), input_side = emb.frame_size, emb.input_size, input_side_of(emb)
    gh, gw = max(1, round(ih * side / input_side)), max(1, round(iw * side / input_side))
    cell = input_side / side  # model-input pixels per cell
    shrink = gw <= flow.shape[1] and gh <= flow.shape[0]
    per_cell = cv2.resize(flow, (gw, gh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    per_cell = per_cell.reshape(gh, gw, 2)
    centres = (np.arange(side, dtype=np.float32) + 0.5) * cell
    ux, uy = np.meshgrid(centres, centres)
    ux[:gh, :gw] = np.clip(ux[:gh, :gw] + per_cell[..., 0] * (iw / fw), centres[0], centres[gw - 1])
    uy[:gh, :gw] = np.clip(uy[:gh, :gw] + per_cell[..., 1] * (ih / fh), centres[0], centres[gh - 1])
    grid = np.stack([ux, uy], axis=-1) * (2.0 / input_side) - 1.0  # align_corners=False coordinates
    return torch.from_numpy(grid[None].astype(np.float32))


def warp_embedding(emb: Embedding, flow: np.ndarray, key_index: int = -1) -> CarriedEmbedding:
    """The keyframe embedding ``emb`` (of frame ``key_index``) carried to a frame whose
    backward flow to the keyframe is ``flow`` (float32 (h, w, 2), any grid covering the frame,
    (dx, dy) frame pixels: ``frame[y, x]`` ~ ``keyframe[y + dy, x + dx]``): every map
    bilinearly resampled."""
    maps = [resample(t, sampling_grid(flow, emb, t.shape[-1])) for t in (emb.features, *emb.extra)]
    return CarriedEmbedding(
        maps[0], emb.frame_size, emb.input_size, emb.model_name, tuple(maps[1:]), emb, flow, key_index
    )


def resample(t: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """(B, C, n, n) maps sampled bilinearly at ``grid`` (1, n, n, 2) (``sampling_grid``)."""
    grid = grid.to(t.device, t.dtype).expand(t.shape[0], -1, -1, -1)
    return F.grid_sample(t, grid, mode="bilinear", padding_mode="border", align_corners=False)


def mean_motion(flow: np.ndarray, emb: Embedding) -> float:
    """Mean length of the backward ``flow`` (frame pixels) in cells of ``emb``'s embedding."""
    cell = input_side_of(emb) / emb.features.shape[-1] * emb.frame_size[1] / emb.input_size[1]
    return float(np.mean(np.hypot(flow[..., 0], flow[..., 1]))) / cell


def input_side_of(emb: Embedding) -> int:
    """The side of ``emb``'s padded square model input in pixels: the resized frame's longest
    side (SAM's ResizeLongestSide)."""
    return max(emb.input_size)


class KeyframeEmbedder:
    """An ``Embedder`` (``embedder(index) -> Embedding``) that encodes keyframes only.

    ``read_frame(index)``: RGB uint8 (H, W, 3); ``encode(index)``: the frame's real encoding
    (a cache lookup or the encoder). ``recheck(index, iou, flags)``: after the tracker decoded
    the embedding of ``index``, a fresh encoding when the answer on a carried embedding looks
    stale (decode again with it), else None. One owner thread, like the model.

    ``walk``: the indices the walk will visit, in order (with ``config.look_ahead``, the
    keyframe ahead is taken among them); None: only the keyframe behind."""

    def __init__(
        self,
        read_frame: FrameReader,
        encode: Encoder,
        config: KeyframeConfig | None = None,
        walk: Sequence[int] | None = None,
    ) -> None:
        self.read_frame, self.encode = read_frame, encode
        self.config = config or KeyframeConfig()
        self.stats = KeyframeStats()
        self._key: _Key | None = None  # the keyframe behind (the latest one reached)
        self._ahead: _Key | None = None  # the keyframe ahead, encoded before the walk reaches it
        walk = list(walk) if walk is not None and self.config.look_ahead else []
        self._walk, self._position = walk, {index: p for p, index in enumerate(walk)}
        self._last: tuple[int, Embedding, bool] | None = None  # index, embedding, carried
        self._carried = (0, float("inf"))  # the last carried embedding's distance (frames), warp error
        self._key_ious: deque[float] = deque(maxlen=max(1, self.config.reference_keys))
        self._unmended: frozenset[str] = frozenset()  # the flags of the last encoded frame's answer

    def seed(self, index: int, embedding: Embedding) -> None:
        """Make an embedding encoded elsewhere the keyframe behind. ``propagate_video`` does
        not seed a walk with its prompt frame: a walk carried from it drifts (docs/benchmarks.md,
        "The prompt frame is not a keyframe")."""
        self._set_key(index, embedding)

    def __call__(self, index: int) -> Embedding:
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        if self._ahead is not None and self._ahead.index == index:  # reached: it is the one behind now
            self._key, self._ahead = self._ahead, None
        if self._key is not None and self._key.index == index:
            self._last = (index, self._key.embedding, False)
            return self._key.embedding
        carried = self._carry(index)
        if carried is None:
            return self._encode(index)
        self.stats.carried += 1
        self._last = (index, carried, True)
        return carried

    def recheck(self, index: int, iou: float, flags: Sequence[str]) -> Embedding | None:
        """Told the answer on ``index``'s embedding: a keyframe's IoU joins the reference (the
        best of the last ``reference_keys`` keyframes') and its flags are the unmended ones; a
        carried frame whose answer is flagged (with a flag the last encoded answer lacked,
        under ``skip_unmended``) or whose IoU fell ``iou_drop`` below the reference is encoded
        (and becomes the keyframe): its embedding, else None."""
        if self._last is None or self._last[0] != index:
            return None
        if not self._last[2]:
            if self._key is not None and self._key.index == index:
                self._unmended = frozenset(flags)
                if np.isfinite(iou):
                    self._key_ious.append(float(iou))
            return None
        cfg = self.config
        reference = max(self._key_ious) if self._key_ious else float("nan")
        distance, error = self._carried
        settled = distance <= cfg.recheck_gap and error <= cfg.settled_error * cfg.max_warp_error
        dropped = iou < reference - cfg.iou_drop and not settled
        unmended = cfg.skip_unmended and set(flags) <= self._unmended
        if (cfg.recheck_flags and flags and not unmended) or dropped:
            self.stats.rechecked += 1
            self.stats.log.append(
                (index, "recheck " + (",".join(flags) or f"iou {iou:.2f}"), float("nan"), float("nan"))
            )
            return self._encode(index)
        if cfg.recheck_flags and flags:  # flagged as the last encoded answer was: left as it is
            self.stats.log.append((index, "unmended " + ",".join(flags), float("nan"), float("nan")))
        return None

    def _carry(self, index: int) -> Embedding | None:
        """A keyframe's embedding carried to ``index`` (the nearer keyframe's, else the
        other's), or None when both would be stale."""
        key, cfg = self._key, self.config
        if key is None:
            self.stats.log.append((index, "first", float("nan"), float("nan")))
            return None
        keys = [k for k in (key, self._ahead_of(index)) if k is not None and abs(index - k.index) < cfg.max_interval]
        if not keys:
            self.stats.log.append((index, "interval", float("nan"), float("nan")))
            return None
        started = time.perf_counter()
        gray, scale = small_gray(self.read_frame(index), cfg.flow_side)  # once, for either keyframe
        self.stats.seconds["flow"] += time.perf_counter() - started
        for k in sorted(keys, key=lambda k: abs(index - k.index)):
            carried, error = self._carry_from(k, index, gray, scale)
            if carried is not None:
                self._carried = (abs(index - k.index), error)
                return carried
        return None

    def _ahead_of(self, index: int) -> _Key | None:
        """The keyframe ahead of ``index`` on the walk: ``max_interval`` walk positions after
        the keyframe behind, or the walk's last frame if that comes first (so the frames
        after the last whole interval have a keyframe on both sides too), encoded now if it
        is not yet; None without a walk, or on its last frame."""
        here = self._position.get(index)
        if here is None or self._key is None:
            return None
        if self._ahead is not None and self._position[self._ahead.index] > here:
            return self._ahead
        behind = self._position.get(self._key.index, here - 1)  # the prompt's frame lies just before the walk
        target = min(max(behind + self.config.max_interval, here + 1), len(self._walk) - 1)
        if target <= here:
            return None
        ahead = self._walk[target]
        self.stats.log.append((ahead, "ahead", float("nan"), float("nan")))
        self._ahead = self._make_key(ahead, self._encode_timed(ahead))
        return self._ahead

    def _carry_from(self, key: _Key, index: int, gray: np.ndarray, scale: float) -> tuple[Embedding | None, float]:
        """``key``'s embedding carried to ``index`` (its ``small_gray`` ``gray`` at ``scale``),
        or None when the flow says it is stale; and the warp error (inf without a flow)."""
        cfg = self.config
        started = time.perf_counter()
        if gray.shape != key.gray.shape:
            return None, float("inf")
        flow = gray_flow(key.gray, gray)
        error = gray_warp_error(key.gray, gray, flow)
        flow /= scale  # frame pixels
        moved = mean_motion(flow, key.embedding)
        self.stats.seconds["flow"] += time.perf_counter() - started
        stale = "warp error" if error > cfg.max_warp_error else "motion" if moved > cfg.max_motion else ""
        self.stats.log.append((index, stale or "carried", error, moved))
        if stale:
            return None, error
        started = time.perf_counter()
        carried = warp_embedding(key.embedding, flow, key.index)
        self.stats.seconds["warp"] += time.perf_counter() - started
        return carried, error

    def _encode(self, index: int) -> Embedding:
        emb = self._encode_timed(index)
        self._set_key(index, emb)
        return emb

    def _encode_timed(self, index: int) -> Embedding:
        started = time.perf_counter()
        emb = self.encode(index)
        self.stats.seconds["encode"] += time.perf_counter() - started
        self.stats.encoded.append(index)
        return emb

    def _set_key(self, index: int, emb: Embedding) -> None:
        self._key = self._make_key(index, emb)
        self._last = (index, emb, False)

    def _make_key(self, index: int, emb: Embedding) -> _Key:
        gray, scale = small_gray(self.read_frame(index), self.config.flow_side)
        return _Key(index, emb, gray, scale)


def carry_box(box: Sequence[float], flow: np.ndarray, frame_size: tuple[int, int]) -> tuple[float, ...]:
    """A box (x0, y0, x1, y1) of the frame moved to the keyframe: each edge moved by the
    median backward ``flow`` (grid covering the frame, frame pixels) over a band of the box
    along that edge (``EDGE_BAND`` of the box's size), clipped to the frame.

    The median of a band, not the extent of every moved pixel: an extent takes the flow's
    outliers at the box's edges, so a box carried frame after frame grew into the
    neighbours of a large structure (the liver walk in docs/benchmarks.md)."""
    (fh, fw), (gh, gw) = frame_size, flow.shape[:2]
    sx, sy = gw / fw, gh / fh
    c0, c1 = int(np.clip(np.floor(box[0] * sx), 0, gw - 1)), int(np.clip(np.ceil(box[2] * sx), 0, gw - 1))
    r0, r1 = int(np.clip(np.floor(box[1] * sy), 0, gh - 1)), int(np.clip(np.ceil(box[3] * sy), 0, gh - 1))
    part = flow[r0 : r1 + 1, c0 : c1 + 1]
    band = max(1, int(round(EDGE_BAND * min(part.shape[:2]))))
    x0 = float(np.clip(box[0] + np.median(part[:, :band, 0]), 0, fw - 1))
    x1 = float(np.clip(box[2] + np.median(part[:, -band:, 0]), 0, fw - 1))
    y0 = float(np.clip(box[1] + np.median(part[:band, :, 1]), 0, fh - 1))
    y1 = float(np.clip(box[3] + np.median(part[-band:, :, 1]), 0, fh - 1))
    return (x0, y0, max(x1, x0 + 2.0), max(y1, y0 + 2.0))


EDGE_BAND = 0.1  # ``carry_box``: the band along each edge whose median flow moves it (x the box's size)


def frame_maps(flow: np.ndarray, frame_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap``'s maps (float32 (H, W) each) that carry a keyframe image to the frame."""
    return remap_maps(flow, frame_size)


def carry_prediction(
    pred: Prediction, emb: CarriedEmbedding, maps: tuple[np.ndarray, np.ndarray], features: bool = True
) -> Prediction:
    """SAM's answer on the keyframe carried to ``emb``'s frame: logits along the frame's
    ``maps`` (``frame_maps``), the low-resolution logits and (with ``features``) the decoder
    features along the flow at their own grid (padded model input). Without ``features``
    the decoder features are left out (an empty (C, 0, 0) array): nobody will read them."""
    logits = cv2.remap(pred.logits, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    grid = sampling_grid(emb.flow, emb.key, pred.low_res_logits.shape[-1])
    low = resample(torch.from_numpy(pred.low_res_logits)[None, None], grid)[0, 0].numpy()
    feats = pred.decoder_features
    if features:
        feats = resample(torch.from_numpy(feats)[None], sampling_grid(emb.flow, emb.key, feats.shape[-1]))[0].numpy()
    else:
        feats = np.zeros((feats.shape[0], 0, 0), np.float32)
    return dataclasses.replace(pred, logits=logits, low_res_logits=low, decoder_features=feats)


Maps = tuple[np.ndarray, np.ndarray]  # ``cv2.remap``'s maps, float32 (H, W) each


@dataclass(frozen=True)
class KeyframeAnswer:
    """A box on a carried frame, answered on the keyframe: the keyframe's ``index``, the box
    moved there (x0, y0, x1, y1 keyframe pixels), SAM's answer on the keyframe, and the
    ``maps`` (``frame_maps``) that carry a keyframe image to the frame."""

    index: int
    box: tuple[float, ...]
    prediction: Prediction
    maps: Maps


class KeyframeModel:
    """A ``PromptableModel`` around ``model`` for keyframe walks: box prompts on a
    ``CarriedEmbedding`` are answered on the keyframe's own encoding (the boxes moved there
    along the flow, the answer carried back), so the decoder reads only real encodings;
    point and mask prompts, and everything else, go to ``model`` unchanged (on the carried
    features). ``decode_on_key=False``: every prompt decodes the carried features.
    ``reuse_box``: see ``KeyframeConfig``. ``carry_features()``: whether carried answers need
    their decoder features (a refiner reads them; resampling them costs more than the rest)."""

    def __init__(self, model: PromptableModel, decode_on_key: bool = True, reuse_box: float = 0.0) -> None:
        self.model, self.decode_on_key, self.reuse_box = model, decode_on_key, reuse_box
        self.carry_features: Callable[[], bool] = lambda: True
        # the answers decoded on the last two keyframes (behind and ahead), oldest first
        self._answers: list[tuple[Embedding, list[tuple[tuple[float, ...], Prediction]]]] = []
        self.decoded = self.reused = 0  # boxes decoded on keyframes, and answered from an earlier decoding
        # the carried embedding answered last, its ``frame_maps``, and per box asked: (the box
        # moved to the keyframe, the keyframe's answer to it)
        self._carried: (
            tuple[CarriedEmbedding, Maps, dict[tuple[float, ...], tuple[tuple[float, ...], Prediction]]] | None
        )
        self._carried = None

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def device(self) -> torch.device:
        return self.model.device

    def embed(self, frame: np.ndarray) -> Embedding:
        return self.model.embed(frame)

    def embed_batch(self, frames: Sequence[np.ndarray]) -> list[Embedding]:
        return self.model.embed_batch(frames)

    def predict(self, embedding: Embedding, box=None, points=None, mask_prompt=None) -> Prediction:
        if box is not None and points is None and mask_prompt is None and self._on_key(embedding):
            return self.predict_boxes(embedding, [box])[0]
        self._carried = None
        return self.model.predict(embedding, box=box, points=points, mask_prompt=mask_prompt)

    def predict_boxes(self, embedding: Embedding, boxes: Sequence) -> list[Prediction]:
        from evosam.propagate import predict_boxes

        if not self.decode_on_key or not boxes:
            self._carried = None
            return predict_boxes(self.model, embedding, list(boxes))
        boxes = [tuple(float(v) for v in b) for b in boxes]
        if not self._on_key(embedding):  # a keyframe: its answers may serve the frames carried from it
            self._carried = None
            return self._on_keyframe(embedding, boxes)
        moved = [carry_box(b, embedding.flow, embedding.frame_size) for b in boxes]
        answers = self._on_keyframe(embedding.key, moved)
        if self._carried is None or self._carried[0] is not embedding:
            self._carried = (embedding, frame_maps(embedding.flow, embedding.frame_size), {})
        self._carried[2].update(zip(boxes, zip(moved, answers, strict=True), strict=True))
        features = self.carry_features()
        return [carry_prediction(p, embedding, self._carried[1], features) for p in answers]

    def keyframe_answer(self, box: Sequence[float]) -> KeyframeAnswer | None:
        """Where the last decoding read a carried embedding and asked ``box``: the
        keyframe's answer to it (``KeyframeAnswer``); else None (it read a real encoding)."""
        if self._carried is None:
            return None
        embedding, maps, asked = self._carried
        found = asked.get(tuple(float(v) for v in box))
        return None if found is None else KeyframeAnswer(embedding.key_index, found[0], found[1], maps)

    def _on_keyframe(self, key: Embedding, boxes: list[tuple[float, ...]]) -> list[Prediction]:
        """SAM's answers to ``boxes`` on the keyframe's encoding ``key``: an earlier answer
        to a box within ``reuse_box`` of one, the rest decoded in one call."""
        from evosam.propagate import predict_boxes

        known = next((answers for k, answers in self._answers if k is key), None)
        if known is None:
            known = []
            self._answers = [*self._answers[-1:], (key, known)]
        found = [self._known(b, known) for b in boxes]
        todo = [b for b, f in zip(boxes, found, strict=True) if f is None]
        new = iter(predict_boxes(self.model, key, todo))
        out = [f if f is not None else next(new) for f in found]
        known.extend((b, p) for b, p, f in zip(boxes, out, found, strict=True) if f is None)
        self.decoded, self.reused = self.decoded + len(todo), self.reused + len(boxes) - len(todo)
        return out

    def _known(self, box: tuple[float, ...], known: list[tuple[tuple[float, ...], Prediction]]) -> Prediction | None:
        if self.reuse_box <= 0:
            return None
        for b, pred in known:
            tol = max(1.0, self.reuse_box * max(b[2] - b[0], b[3] - b[1]))
            if max(abs(u - v) for u, v in zip(box, b, strict=True)) <= tol:
                return pred
        return None

    def __getattr__(self, name: str):
        return getattr(self.model, name)  # describe(), spec, ... of the wrapped model

    def _on_key(self, embedding: Embedding) -> bool:
        return self.decode_on_key and isinstance(embedding, CarriedEmbedding) and embedding.key is not None


def keyframe_session(
    model: PromptableModel,
    read_frame: FrameReader,
    encode: Encoder,
    tracker: Tracker,
    config: KeyframeConfig,
    walk: Sequence[int] | None = None,
) -> tuple[TrackSession, KeyframeEmbedder]:
    """A ``TrackSession`` whose frames are encoded only where ``config`` says (its embedder,
    which counts what it did, is returned too); ``walk``: the frames it will track, in order
    (lets it encode the keyframe ahead, ``KeyframeEmbedder``)."""
    embedder = KeyframeEmbedder(read_frame, encode, config, walk)
    wrapped = KeyframeModel(model, config.decode_on_key, config.reuse_box)
    from evosam.tracking.carried_head import CarriedHead  # it imports this module

    session = TrackSession(wrapped, read_frame, embedder, tracker, recheck=embedder.recheck, encode=encode)
    # a ``CarriedHead`` reads the keyframe's answer, never a carried answer's decoder features
    wrapped.carry_features = lambda: any(not isinstance(r, CarriedHead) for r in session.refiners.values())
    if config.decode_on_key and config.carry_head:

        def carried_head(refine: Refiner) -> Refiner:
            """``refine`` with its head computed on keyframes where it is a ``HeadRefiner``."""
            return CarriedHead(refine, wrapped, read_frame) if isinstance(refine, HeadRefiner) else refine

        session.adapt_refiner = carried_head
    return session, embedder
