"""The model worker and its jobs: SAM backends are not thread-safe, so one thread owns the
backend, the embedding cache and its own frame reader (its ``ModelContext``), and runs
model jobs one after another (see ``app.jobs``). The file worker (``FileContext``) opens
videos and exports, so that they never wait behind the model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.budget import EMBEDDING_CACHE_BYTES
from app.jobs import Job, Worker
from evosam.ahead import default_batch
from evosam.errors import EvoSamError
from evosam.learning import Refiner, beside
from evosam.models import Embedding, Points, SamBackend
from evosam.models.cache import EmbeddingCache
from evosam.points import refine_with_points
from evosam.propagate import PropagationConfig
from evosam.tracking import DEFAULT_TRACKER, TRACKERS, Prompt, propagate_video
from evosam.tracking.keyframes import KeyframeConfig

Box = tuple[float, float, float, float]


class FrameReader(Protocol):
    """What the worker needs from a video source (``evosam.video.VideoSource`` fits)."""

    frame_count: int

    def frame(self, index: int) -> np.ndarray: ...

    def close(self) -> None: ...


@dataclass
class ModelContext:
    """What jobs may touch; lives on the worker thread only."""

    backend: SamBackend | None = None
    load_error: str = ""
    cache: EmbeddingCache = field(default_factory=lambda: EmbeddingCache(EMBEDDING_CACHE_BYTES))
    reader: FrameReader | None = None
    video_key: Hashable = None
    between_steps: Callable[[], None] = lambda: None  # long jobs call this between steps (runs urgent jobs)
    # a propagation's read-ahead thread shares the reader with the jobs run between its steps
    reader_lock: threading.Lock = field(default_factory=threading.Lock)

    def require_backend(self) -> SamBackend:
        if self.backend is None:
            raise EvoSamError(f"no model loaded{': ' + self.load_error if self.load_error else ''}")
        return self.backend

    def frame(self, index: int) -> np.ndarray:
        """RGB uint8 (H, W, 3) of the open video (OpenCV readers are not thread-safe: one read at a time)."""
        if self.reader is None:
            raise EvoSamError("no video is open")
        with self.reader_lock:
            return self.reader.frame(index)

    @property
    def frame_count(self) -> int:
        if self.reader is None:
            raise EvoSamError("no video is open")
        return self.reader.frame_count

    def embedding_key(self, index: int) -> Hashable:
        """The embedding cache's key of frame ``index`` of the open video for the loaded model."""
        return (self.require_backend().name, self.video_key, index)

    def embedding(self, index: int, keep: bool = True) -> Embedding:
        """Frame ``index``'s embedding, from the cache or encoded (and cached unless ``keep``
        is False: teaching a run of confirmations, see ``EmbeddingCache.get_or_compute``)."""
        backend = self.require_backend()
        if self.reader is None:
            raise EvoSamError("no video is open")
        return self.cache.get_or_compute(self.embedding_key(index), lambda: backend.embed(self.frame(index)), keep)

    def close(self) -> None:
        """The worker ends: close its reader."""
        if self.reader is not None:
            self.reader.close()
            self.reader = None


@dataclass
class FileContext:
    """The file worker's: its jobs (opening videos, exports) take what they need with them."""

    def close(self) -> None:
        pass


ModelJob = Job[ModelContext]
FileJob = Job[FileContext]


@dataclass(frozen=True)
class ModelLoaded:
    """The loaded model: ``name`` in the registry, whether it takes point prompts, ``describe()``."""

    name: str
    point_prompts: bool
    description: str


class LoadModelJob(ModelJob):
    """Builds the backend with ``factory`` on the worker thread; result: ``ModelLoaded``."""

    text = "Loading model"

    def __init__(self, factory: Callable[[], SamBackend], text: str = text) -> None:
        super().__init__()
        self._factory = factory
        self.text = text

    def run(self, ctx: ModelContext) -> ModelLoaded:
        try:
            ctx.backend = self._factory()
        except EvoSamError as exc:
            ctx.load_error = str(exc)
            raise
        backend = ctx.backend
        return ModelLoaded(backend.name, backend.spec.point_prompts, backend.describe())


class SetVideoJob(ModelJob):
    """Switches the worker's frame reader to a newly opened video; ``key`` names it in the cache."""

    text = "Opening video"

    def __init__(self, open_reader: Callable[[], FrameReader], key: Hashable) -> None:
        super().__init__()
        self._open, self._key = open_reader, key

    def run(self, ctx: ModelContext) -> Hashable:
        if ctx.reader is not None:
            ctx.reader.close()
            ctx.reader = None
        ctx.reader, ctx.video_key = self._open(), self._key
        return self._key


@dataclass(frozen=True)
class OpenedVideo:
    """A video opened for the GUI thread (which takes it over) from ``path``; ``resume``: its
    untitled autosave, if it holds newer work (``AnnotationController.set_video``)."""

    source: FrameReader
    path: str
    resume: bool = True


class OpenVideoJob(FileJob):
    """File worker: opens a video for the GUI thread; result: ``OpenedVideo``."""

    text = "Opening video"

    def __init__(self, open_source: Callable[[], FrameReader], path: str, resume: bool = True) -> None:
        super().__init__()
        self._open, self.path, self.resume = open_source, path, resume

    def run(self, ctx: FileContext) -> OpenedVideo:
        return OpenedVideo(self._open(), self.path, self.resume)


class EmbedJob(ModelJob):
    """Computes (and caches) a frame's embedding ahead of a prompt; result: the frame index."""

    text = "Embedding frame"

    def __init__(self, frame: int) -> None:
        super().__init__()
        self.frame = frame

    def run(self, ctx: ModelContext) -> int:
        ctx.embedding(self.frame)
        return self.frame


@dataclass(frozen=True)
class PredictResult:
    """A mask proposed for ``label`` on ``frame`` from ``box`` (x0, y0, x1, y1): bool (H, W);
    ``clip``: the clip it was asked on; ``prompt``: ``box`` or ``point``."""

    frame: int
    label: str
    box: Box | None
    mask: np.ndarray
    iou: float
    clip: int = 0
    prompt: str = "box"
    ticket: int = 0  # the submitter's number of the prompt it answers


class PredictJob(ModelJob):
    """Box prompt on one frame, refined by ``refine`` (the head) when given; result: ``PredictResult``.

    With a head, SAM's own mask is emitted first as ``draft`` (a ``PredictResult``), so the
    user sees an answer as soon as the decoder has one; the refined mask follows as ``result``."""

    draft = Signal(object)
    text = "Segmenting"

    def __init__(self, frame: int, label: str, box: Box, refine: Refiner | None = None) -> None:
        super().__init__()
        self.frame, self.label, self.box, self.refine = frame, label, box, refine
        self.ticket = 0  # the submitter's number, carried by the results

    def run(self, ctx: ModelContext) -> PredictResult:
        emb = ctx.embedding(self.frame)
        backend = ctx.require_backend()
        pred = backend.predict(emb, box=self.box)
        sam = self._result(pred.mask, float(pred.iou))
        if self.refine is None:
            return sam
        self.draft.emit(sam)
        return self._result(beside(self.refine, backend)(ctx.frame(self.frame), pred, self.box, self.frame), sam.iou)

    def _result(self, mask: np.ndarray, iou: float) -> PredictResult:
        return PredictResult(self.frame, self.label, self.box, mask, iou, self.clip, "box", self.ticket)


class PointJob(ModelJob):
    """Clicked points refine ``label``'s mask on ``frame`` (see ``evosam.points``): ``points``
    (x, y, positive) frame pixels, ``box`` the label's box prompt there or None, ``mask`` the
    current bool (H, W) mask or None; result: ``PredictResult``."""

    text = "Refining with points"

    def __init__(
        self, frame: int, label: str, box: Box | None, points: list[tuple[float, float, bool]], mask: np.ndarray | None
    ) -> None:
        super().__init__()
        self.frame, self.label, self.box, self.mask = frame, label, box, mask
        self.ticket = 0  # the submitter's number, carried by the result
        self.points = Points(np.array([p[:2] for p in points], float), np.array([int(p[2]) for p in points]))

    def run(self, ctx: ModelContext) -> PredictResult:
        emb = ctx.embedding(self.frame)
        mask = refine_with_points(ctx.require_backend(), emb, self.box, self.points, self.mask)
        return PredictResult(self.frame, self.label, self.box, mask, float("nan"), self.clip, "point", self.ticket)


@dataclass(frozen=True)
class PropagationSummary:
    """How run ``run`` of ``label`` ended."""

    run: int
    label: str
    frames_done: int
    frames_total: int
    flagged: int
    cancelled: bool


@dataclass(frozen=True)
class PropagatedFrame:
    """One frame's mask (bool (H, W)) of propagation run ``run`` of ``label``."""

    run: int
    label: str
    index: int
    mask: np.ndarray
    iou: float
    flags: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


class PropagateJob(ModelJob):
    """Propagates ``init_mask`` (bool (H, W), on the frame before ``frames[0]``) through
    ``frames``; emits ``frame_done(PropagatedFrame)`` per frame and ``PropagationSummary`` last.
    ``run``: the submitter's number for this run (its results say it); ``keyframes``: encode
    keyframes only (``evosam.tracking.keyframes``), None: every frame; ``tracker``: a
    registered tracker's name (``evosam.tracking.TRACKERS``), built with ``config``."""

    frame_done = Signal(object)
    text = "Propagating"
    unit = "frames"

    def __init__(
        self,
        label: str,
        frames: range,
        init_mask: np.ndarray,
        config: PropagationConfig | None = None,
        refine: Refiner | None = None,
        run: int = 0,
        keyframes: KeyframeConfig | None = None,
        tracker: str = DEFAULT_TRACKER,
    ) -> None:
        super().__init__()
        self.label, self.frames, self.refine, self.run_id = label, frames, refine, run
        self.keyframes, self.tracker = keyframes, tracker
        self.init_mask = np.array(init_mask, dtype=bool)
        self.config = config or PropagationConfig()
        self.batch: int | None = None  # frames per encoder call (None: ``default_batch``, 8 on CUDA, 1 on a CPU)

    def run(self, ctx: ModelContext) -> PropagationSummary:
        backend = ctx.require_backend()
        if ctx.reader is None:
            raise EvoSamError("no video is open")
        total, done, flagged = len(self.frames), 0, 0
        self.progress.emit(0, total)
        start = self.frames.start - self.frames.step
        # frames are decoded a batch ahead on a reader thread; a batch's uncached frames go
        # through the encoder in one call (8 on CUDA), and land in the app's embedding cache
        results = propagate_video(
            ctx,
            Prompt(start, mask=self.init_mask, label=self.label),
            backend,
            self.refine,
            frames=self.frames,
            tracker=TRACKERS[self.tracker](config=self.config),
            batch=self.batch or default_batch(backend),
            should_stop=lambda: self.cancelled,
            cache=ctx.cache,
            cache_key=ctx.embedding_key,
            keyframes=self.keyframes,
        )
        for res in results:
            if res.index == start:  # the start mask, the user's own
                continue
            out = PropagatedFrame(self.run_id, self.label, res.index, res.mask, res.iou, tuple(res.flags))
            done += 1
            flagged += out.flagged
            self.frame_done.emit(out)
            self.progress.emit(done, total)
            ctx.between_steps()  # a box prompt drawn meanwhile is answered now, not after the whole run
        return PropagationSummary(self.run_id, self.label, done, total, flagged, self.cancelled)


def model_worker(cache: EmbeddingCache | None = None, parent: QObject | None = None) -> Worker[ModelContext]:
    """The one thread for every model call; long jobs answer urgent ones between their steps."""
    ctx = ModelContext(cache=EmbeddingCache(EMBEDDING_CACHE_BYTES) if cache is None else cache)
    worker = Worker(ctx, parent, "ModelWorker")
    ctx.between_steps = worker.run_urgent
    return worker


def file_worker(parent: QObject | None = None) -> Worker[FileContext]:
    """The thread that opens videos and exports (never behind the model)."""
    return Worker(FileContext(), parent, "FileWorker")
