"""The single model worker thread and the jobs it runs, in order.

SAM backends are not thread-safe, so one ``ModelWorker`` thread owns the backend, the
embedding cache and its own frame reader, and runs ``Job`` objects one after another.
Each job reports through its own Qt signals (``started``, ``progress``, ``result``,
``error``, ``finished``), which reach GUI-thread receivers as queued calls, and can be
cancelled with :meth:`Job.cancel` (before it starts, or between frames while it runs).
Jobs return new objects; only the GUI thread changes the annotation state.

The continual-learning head's jobs (``app.teaching_jobs``) are ``Job`` subclasses too; they
run on a second ``ModelWorker`` that owns the learner and return new head snapshots.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from app.budget import EMBEDDING_CACHE_BYTES
from evosam.ahead import default_batch
from evosam.errors import EvoSamError
from evosam.learning import Refiner, beside
from evosam.models import Embedding, Points, SamBackend
from evosam.models.cache import EmbeddingCache
from evosam.points import refine_with_points
from evosam.propagate import FrameResult, PropagationConfig
from evosam.tracking import Prompt, propagate_video
from evosam.tracking.sam_flow import SamFlowTracker

log = logging.getLogger(__name__)
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

    def embedding(self, index: int) -> Embedding:
        backend = self.require_backend()
        if self.reader is None:
            raise EvoSamError("no video is open")
        return self.cache.get_or_compute(self.embedding_key(index), lambda: backend.embed(self.frame(index)))


class Job(QObject):
    """One unit of model work. Subclasses implement ``run(ctx)`` (worker thread) and return
    their result object; raising ``EvoSamError`` reports its message through ``error``."""

    started = Signal()
    progress = Signal(int, int)  # done, total
    result = Signal(object)
    error = Signal(str)
    finished = Signal()  # always last, after result, error or cancellation

    text = "Working"  # shown in the status bar while the job runs

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()
        self.tag: object = None  # the submitter's mark (e.g. which clip), to recognise stale results

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self, ctx: ModelContext) -> object:  # pragma: no cover - abstract
        raise NotImplementedError


class LoadModelJob(Job):
    """Builds the backend with ``factory`` on the worker thread; result: ``backend.describe()``."""

    text = "Loading model"

    def __init__(self, factory: Callable[[], SamBackend], text: str = text) -> None:
        super().__init__()
        self._factory = factory
        self.text = text
        self.model_name = ""  # the registry name, once loaded
        self.point_prompts = False  # whether the model was trained with point prompts

    def run(self, ctx: ModelContext) -> str:
        try:
            ctx.backend = self._factory()
        except EvoSamError as exc:
            ctx.load_error = str(exc)
            raise
        self.model_name = ctx.backend.name
        self.point_prompts = ctx.backend.spec.point_prompts
        return ctx.backend.describe()


class SetVideoJob(Job):
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


class OpenVideoJob(Job):
    """Opens a video for the GUI thread (which takes it over); result: ``(source, path)``."""

    text = "Opening video"

    def __init__(self, open_source: Callable[[], FrameReader], path: str) -> None:
        super().__init__()
        self._open, self.path = open_source, path

    def run(self, ctx: ModelContext) -> tuple[FrameReader, str]:
        return self._open(), self.path


class EmbedJob(Job):
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
    """A mask proposed for ``label`` on ``frame`` from ``box`` (x0, y0, x1, y1): bool (H, W)."""

    frame: int
    label: str
    box: Box
    mask: np.ndarray
    iou: float


class PredictJob(Job):
    """Box prompt on one frame, refined by ``refine`` (the head) when given; result: ``PredictResult``.

    With a head, SAM's own mask is emitted first as ``draft`` (a ``PredictResult``), so the
    user sees an answer as soon as the decoder has one; the refined mask follows as ``result``."""

    draft = Signal(object)
    text = "Segmenting"

    def __init__(self, frame: int, label: str, box: Box, refine: Refiner | None = None) -> None:
        super().__init__()
        self.frame, self.label, self.box, self.refine = frame, label, box, refine

    def run(self, ctx: ModelContext) -> PredictResult:
        emb = ctx.embedding(self.frame)
        backend = ctx.require_backend()
        pred = backend.predict(emb, box=self.box)
        if self.refine is None:
            return PredictResult(self.frame, self.label, self.box, pred.mask, float(pred.iou))
        self.draft.emit(PredictResult(self.frame, self.label, self.box, pred.mask, float(pred.iou)))
        mask = beside(self.refine, backend)(ctx.frame(self.frame), pred, self.box, self.frame)
        return PredictResult(self.frame, self.label, self.box, mask, float(pred.iou))


class PointJob(Job):
    """Clicked points refine ``label``'s mask on ``frame`` (see ``evosam.points``): ``points``
    (x, y, positive) frame pixels, ``box`` the label's box prompt there or None, ``mask`` the
    current bool (H, W) mask or None; result: ``PredictResult``."""

    text = "Refining with points"

    def __init__(self, frame: int, label: str, box: Box | None, points: list[tuple[float, float, bool]],
                 mask: np.ndarray | None) -> None:
        super().__init__()
        self.frame, self.label, self.box, self.mask = frame, label, box, mask
        self.points = Points(np.array([p[:2] for p in points], float), np.array([int(p[2]) for p in points]))

    def run(self, ctx: ModelContext) -> PredictResult:
        emb = ctx.embedding(self.frame)
        mask = refine_with_points(ctx.require_backend(), emb, self.box, self.points, self.mask)
        return PredictResult(self.frame, self.label, self.box, mask, float("nan"))


@dataclass(frozen=True)
class PropagationSummary:
    label: str
    frames_done: int
    frames_total: int
    flagged: int
    cancelled: bool


class PropagateJob(Job):
    """Propagates ``init_mask`` (bool (H, W), on the frame before ``frames[0]``) through
    ``frames``; emits ``frame_done(FrameResult)`` per frame and ``PropagationSummary`` last."""

    frame_done = Signal(object)
    text = "Propagating"

    def __init__(
        self,
        label: str,
        frames: range,
        init_mask: np.ndarray,
        config: PropagationConfig | None = None,
        refine: Refiner | None = None,
    ) -> None:
        super().__init__()
        self.label, self.frames, self.refine = label, frames, refine
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
            ctx, Prompt(start, mask=self.init_mask, label=self.label), backend, self.refine,
            frames=self.frames, tracker=SamFlowTracker(self.config), batch=self.batch or default_batch(backend),
            should_stop=lambda: self.cancelled, cache=ctx.cache, cache_key=ctx.embedding_key,
        )
        for res in results:
            if res.index == start:  # the start mask, the user's own
                continue
            res = FrameResult(res.index, res.mask, res.iou, res.box, res.flags)  # drop the heavy Prediction
            done += 1
            flagged += res.flagged
            self.frame_done.emit(res)
            self.progress.emit(done, total)
            ctx.between_steps()  # a box prompt drawn meanwhile is answered now, not after the whole run
        return PropagationSummary(self.label, done, total, flagged, self.cancelled)


_WAKE = object()  # queue item that only wakes the thread for urgent jobs


@dataclass(frozen=True)
class _Marker:
    """Queue item that tells when every job queued before it has run."""

    done: threading.Event
WORKER_NICE = 5  # the model thread (and the math threads it starts) yield the CPU to the GUI thread


def lower_thread_priority(increment: int) -> None:
    """Raise the calling thread's nice value by ``increment`` (Linux: nice is per thread, and
    threads it creates inherit it); a no-op where that is not possible."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except (AttributeError, OSError):
        pass


class ModelWorker(QThread):
    """The one thread that runs model calls, one at a time, in submission order, except that
    *urgent* jobs (interactive prompts) run first, and also between the steps of a long job,
    so a box drawn during a propagation is answered within one frame's time. A second
    instance may run file jobs, which never touch the model, so that they do not wait behind
    it. ``job_started(job)`` and ``job_finished(job)`` report every job (for a status display)."""

    job_started = Signal(object)
    job_finished = Signal(object)

    def __init__(
        self, cache: EmbeddingCache | None = None, parent: QObject | None = None, name: str = "ModelWorker"
    ) -> None:
        super().__init__(parent)
        self._queue: queue.Queue[Job | object | None] = queue.Queue()
        self._urgent: deque[Job] = deque()
        cache = EmbeddingCache(EMBEDDING_CACHE_BYTES) if cache is None else cache
        self._ctx = ModelContext(cache=cache, between_steps=self._run_urgent)
        self._pending: list[Job] = []
        self._lock = threading.Lock()
        self.setObjectName(name)

    def submit(self, job: Job, urgent: bool = False) -> Job:
        """Queue ``job`` (GUI thread); starts the thread on first use. Returns the job.
        ``urgent``: run before queued jobs and between the steps of a running one; only for
        short jobs that leave the context as they found it (prompts, not a video switch)."""
        with self._lock:
            self._pending.append(job)
        if urgent:
            self._urgent.append(job)
            self._queue.put(_WAKE)
        else:
            self._queue.put(job)
        if not self.isRunning():
            self.start()
        return job

    def cancel_all(self) -> None:
        with self._lock:
            for job in self._pending:
                job.cancel()

    def finish_pending(self, timeout_ms: int) -> None:
        """Wait (GUI thread, at most ``timeout_ms``) until the queued jobs have run."""
        if not self.isRunning():
            return
        done = threading.Event()
        self._queue.put(_Marker(done))
        done.wait(timeout_ms / 1000)

    def stop(self) -> None:
        """Cancel every job and end the thread (GUI thread). Waits for the model call in
        progress however long it takes (a big model on a CPU: a minute): destroying a thread
        that still runs would abort the process."""
        self.cancel_all()
        if self.isRunning():
            self._queue.put(None)
            self.wait()

    def run(self) -> None:  # worker thread
        lower_thread_priority(WORKER_NICE)
        while (item := self._queue.get()) is not None:
            self._run_urgent()
            if isinstance(item, Job):
                self._run_one(item)
            elif isinstance(item, _Marker):
                item.done.set()
        if self._ctx.reader is not None:
            self._ctx.reader.close()

    def _run_urgent(self) -> None:  # worker thread
        while self._urgent:
            self._run_one(self._urgent.popleft())

    def _run_one(self, job: Job) -> None:
        try:
            self._execute(job)
        finally:
            with self._lock:
                self._pending.remove(job)

    def _execute(self, job: Job) -> None:
        if job.cancelled:
            job.finished.emit()
            self.job_finished.emit(job)
            return
        job.started.emit()
        self.job_started.emit(job)
        try:
            out = job.run(self._ctx)
        except EvoSamError as exc:
            job.error.emit(str(exc))
        except Exception as exc:  # a bug or a torch failure: report it, keep the thread alive
            log.exception("model job %s failed", type(job).__name__)
            job.error.emit(f"{type(exc).__name__}: {exc}")
        else:
            job.result.emit(out)
        job.finished.emit()
        self.job_finished.emit(job)
