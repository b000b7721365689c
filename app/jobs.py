"""Jobs and the worker threads that run them, one at a time, in order.

A ``Worker`` thread owns one context object (the model, the project files, the learner):
only its jobs touch it, on that thread. Each ``Job`` reports through its own Qt signals
(``started``, ``progress``, ``result``, ``error``, ``finished``), which reach GUI-thread
receivers as queued calls; ``result`` carries a value that says what it belongs to (which
clip, frame, label), ``error`` the exception itself. A job can be cancelled with
:meth:`Job.cancel` (before it starts, or between steps while it runs). Jobs return new
objects; only the GUI thread changes the annotation state.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from PySide6.QtCore import QObject, QThread, Signal

from evosam.errors import EvoSamError

log = logging.getLogger(__name__)
WORKER_NICE = 5  # worker threads (and the math threads they start) yield the CPU to the GUI thread


class Context(Protocol):
    """What a worker owns for its jobs; ``close()`` runs on its thread when it ends."""

    def close(self) -> None: ...


C = TypeVar("C", bound=Context)


def describe_error(exc: BaseException) -> str:
    """One line for the user: an ``EvoSamError``'s message, else ``TypeName: message``."""
    return str(exc) if isinstance(exc, EvoSamError) else f"{type(exc).__name__}: {exc}"


class Job(QObject, Generic[C]):
    """One unit of work on a ``Worker[C]``. Subclasses implement ``run(ctx)`` (worker thread)
    and return their result object; an exception raised there travels through ``error``."""

    started = Signal()
    progress = Signal(int, int)  # done, total
    result = Signal(object)
    error = Signal(object)  # the exception
    finished = Signal()  # always last, after result, error or cancellation

    text = "Working"  # shown in the status bar while the job runs
    unit = ""  # what its progress counts ("frames"): the status bar then shows the rate and time left

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()
        self.clip = 0  # the clip it was submitted for (set before it is queued)
        self.failure: BaseException | None = None  # set on the worker thread before ``finished``

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self, ctx: C) -> object:  # pragma: no cover - abstract
        raise NotImplementedError


_WAKE = object()  # queue item that only wakes the thread for urgent jobs


@dataclass(frozen=True)
class _Marker:
    """Queue item that tells when every job queued before it has run."""

    done: threading.Event


def lower_thread_priority(increment: int) -> None:
    """Raise the calling thread's nice value by ``increment`` (Linux: nice is per thread, and
    threads it creates inherit it); a no-op where that is not possible."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except (AttributeError, OSError):
        pass


class Worker(QThread, Generic[C]):
    """A thread that owns ``context`` and runs jobs on it one at a time, in submission order,
    except that *urgent* jobs run first, and also whenever a long job calls
    :meth:`run_urgent` between its steps. ``job_started(job)`` and ``job_finished(job)``
    report every job (for a status display)."""

    job_started = Signal(object)
    job_finished = Signal(object)

    def __init__(self, context: C, parent: QObject | None = None, name: str = "Worker") -> None:
        super().__init__(parent)
        self._queue: queue.Queue[Job | object | None] = queue.Queue()
        self._urgent: deque[Job] = deque()
        self._context = context  # touched by this thread only, once it runs
        self._pending: list[Job] = []
        self._lock = threading.Lock()
        self._stopped = False  # once stopped, it takes no more jobs (a late timer must not restart it)
        self.setObjectName(name)
        # A queued ``job_finished`` holds its job until the GUI thread takes it, after the job's
        # own queued signals (``result``...): a job nobody else keeps is not destroyed while
        # those are still on their way (its sender gone, delivering them crashed the process).
        self.job_finished.connect(self._delivered)

    def submit(self, job: Job[C], urgent: bool = False) -> Job[C]:
        """Queue ``job`` (GUI thread); starts the thread on first use. Returns the job.
        ``urgent``: run before queued jobs and between the steps of a running one; only for
        short jobs that leave the context as they found it (prompts, not a video switch).
        After :meth:`stop` a job is cancelled instead (it never runs, nor reports)."""
        if self._stopped:
            job.cancel()
            return job
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

    def queued(self, kind: type) -> int:
        """Jobs of ``kind`` submitted and not finished nor cancelled (the running one included);
        any thread."""
        with self._lock:
            return sum(isinstance(job, kind) and not job.cancelled for job in self._pending)

    def _delivered(self, job: Job) -> None:  # GUI thread: the job's signals have all arrived
        pass

    def cancel_all(self) -> None:
        with self._lock:
            for job in self._pending:
                job.cancel()

    def finish_pending(self, timeout_ms: int) -> bool:
        """Wait (GUI thread, at most ``timeout_ms``) until the queued jobs have run; returns
        whether they did."""
        if not self.isRunning():
            return True
        done = threading.Event()
        self._queue.put(_Marker(done))
        return done.wait(timeout_ms / 1000)

    def stop(self) -> None:
        """Cancel every job not started and end the thread (GUI thread). Waits for the job in
        progress however long it takes (a big model on a CPU: a minute): destroying a thread
        that still runs would abort the process."""
        self._stopped = True
        self.cancel_all()
        if self.isRunning():
            self._queue.put(None)
            self.wait()

    def run(self) -> None:  # worker thread
        lower_thread_priority(WORKER_NICE)
        try:
            while (item := self._queue.get()) is not None:
                self.run_urgent()
                if isinstance(item, Job):
                    self._run_one(item)
                elif isinstance(item, _Marker):
                    item.done.set()
        finally:
            self._context.close()

    def run_urgent(self) -> None:  # worker thread
        """Run the urgent jobs queued meanwhile (a long job calls this between its steps)."""
        while self._urgent:
            self._run_one(self._urgent.popleft())

    def _run_one(self, job: Job[C]) -> None:
        try:
            self._execute(job)
        finally:
            with self._lock:
                self._pending.remove(job)

    def _execute(self, job: Job[C]) -> None:
        if job.cancelled:
            job.finished.emit()
            self.job_finished.emit(job)
            return
        job.started.emit()
        self.job_started.emit(job)
        try:
            out = job.run(self._context)
        except Exception as exc:  # an EvoSamError, a bug or a torch failure: report it, keep the thread alive
            if not isinstance(exc, EvoSamError):
                log.exception("job %s failed", type(job).__name__)
            job.failure = exc
            job.error.emit(exc)
        else:
            job.result.emit(out)
        job.finished.emit()
        self.job_finished.emit(job)
