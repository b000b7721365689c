"""Batch jobs on Ray: one actor per worker loads the model once and takes jobs from a queue.

``ray.init()`` starts Ray on this machine (its cores, nothing to install or start); an
``address`` joins a running cluster (``ray start --head`` on one node, ``ray start
--address=HEAD:6379`` on the others). Workers read the videos and write the outputs
themselves, so on a cluster ``source``, ``keyframes`` and the output folder must be paths
every node sees (a shared file system). Each job's progress reaches the caller as it runs.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import resource
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evosam.batch.densify import JobOutcome, densify_job
from evosam.batch.jobs import BatchJob
from evosam.errors import InputError
from evosam.tracking import DEFAULT_TRACKER


@dataclass(frozen=True)
class ModelSpec:
    """How a worker builds its model (``evosam.models.load_model``'s arguments)."""

    name: str
    checkpoint: str | None = None
    device: str = "auto"
    runtime: str = "auto"

    @property
    def model_id(self) -> str:
        """The model and its weights, for a job's signature."""
        return self.name if self.checkpoint is None else f"{self.name}:{Path(self.checkpoint).resolve()}"


@dataclass(frozen=True)
class Event:
    """A report from a worker: ``kind`` is ``progress`` (``done`` of ``total`` frames) or
    ``outcome`` (the job ended: ``outcome``)."""

    kind: str
    job: str
    done: int = 0
    total: int = 0
    outcome: JobOutcome | None = None


class DensifyWorker:
    """A Ray actor's state: the model (loaded on its first job that has work), the learner,
    where outputs go. ``run`` yields events for one job."""

    def __init__(
        self, spec: ModelSpec, out_root: str, head: str | None, tracker: str, batch: int | None, threads: int
    ) -> None:
        import torch

        _quiet_worker_logs()
        torch.set_num_threads(threads)  # Ray's default for a worker is 1
        self._spec, self._out, self._tracker, self._batch = spec, Path(out_root), tracker, batch
        self._model = None
        self._learner = None
        if head is not None:
            from evosam.head.persist import load_learner

            self._learner = load_learner(head, spec.name)

    def _load(self):
        if self._model is None:
            from evosam.models import load_model

            s = self._spec
            self._model = load_model(s.name, checkpoint=s.checkpoint, device=s.device, runtime=s.runtime)
        return self._model

    def run(self, job: dict[str, str], every: float = 0.5) -> Iterator[Event]:
        """Densify ``job`` (``BatchJob.to_json``), yielding progress at most every ``every``
        seconds, then its outcome. A bug in a job fails that job only."""
        name = job["name"]
        events: queue.Queue = queue.Queue()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= every or done == total:
                last[0] = now
                events.put(Event("progress", name, done, total))

        def work() -> None:
            try:
                outcome = densify_job(
                    BatchJob.from_json(job),
                    self._out,
                    self._load,
                    self._spec.model_id,
                    learner=self._learner,
                    tracker=self._tracker,
                    batch=self._batch,
                    on_progress=progress,
                )
            except Exception as exc:  # a bug: fail this job, keep the worker
                outcome = JobOutcome(name, "failed", error=f"internal error: {type(exc).__name__}: {exc}")
            events.put(Event("outcome", name, outcome=_with_worker(outcome)))

        thread = threading.Thread(target=work, name=f"densify-{name}", daemon=True)
        thread.start()
        while True:
            event = events.get()
            yield event
            if event.kind == "outcome":
                break
        thread.join()


def _with_worker(outcome: JobOutcome) -> JobOutcome:
    """The outcome stamped with this worker's pid and peak memory (MiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return dataclasses.replace(outcome, worker=f"pid {os.getpid()}, peak {rss:.0f} MiB")


def _quiet_worker_logs() -> None:
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger().setLevel(logging.ERROR)


def run_batch(
    jobs: list[BatchJob],
    out_root: Path,
    spec: ModelSpec,
    *,
    head: Path | None = None,
    address: str | None = None,
    workers: int | None = None,
    tracker: str = DEFAULT_TRACKER,
    batch: int | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> list[JobOutcome]:
    """Run ``jobs`` on Ray and return their outcomes in the jobs' order. ``workers``: actors
    to start (default: one per GPU of the cluster, else one per 2 CPUs, at most one per job);
    each gets an equal share of the CPUs (and one GPU where there are GPUs)."""
    ray = _import_ray()
    _init(ray, address)
    try:
        resources = ray.cluster_resources()
        count, cpus, gpus = _worker_shape(resources, workers, len(jobs))
        actor = ray.remote(num_cpus=cpus, num_gpus=gpus, max_restarts=1)(DensifyWorker)
        threads = max(1, int(cpus))
        opts = (spec, str(out_root.resolve()), None if head is None else str(head.resolve()), tracker, batch, threads)
        pool = [actor.remote(*opts) for _ in range(count)]
        outcomes = _drive(ray, pool, jobs, on_event or (lambda e: None))
    finally:
        ray.shutdown()
    return [outcomes[job.name] for job in jobs]


def _drive(ray: Any, pool: list, jobs: list[BatchJob], on_event: Callable[[Event], None]) -> dict[str, JobOutcome]:
    """Give each idle actor the next job; pass events on as they come; a worker that dies
    fails its job only."""
    waiting, idle = deque(jobs), list(pool)
    running: dict[Any, BatchJob] = {}
    owner: dict[Any, Any] = {}
    outcomes: dict[str, JobOutcome] = {}
    while waiting or running:
        while idle and waiting:
            job, worker = waiting.popleft(), idle.pop()
            stream = worker.run.remote(job.to_json())
            running[stream], owner[stream] = job, worker
        ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
        for stream in ready:
            job = running[stream]
            try:
                event = ray.get(next(stream))
            except StopIteration:
                event = None
            except ray.exceptions.RayError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                event = Event("outcome", job.name, outcome=JobOutcome(job.name, "failed", error=f"worker: {first}"))
            if event is not None:
                on_event(event)
                if event.kind == "outcome":
                    outcomes[job.name] = event.outcome
            if event is None or event.kind == "outcome":
                del running[stream]
                idle.append(owner.pop(stream))
    return outcomes


def _worker_shape(resources: dict[str, float], workers: int | None, jobs: int) -> tuple[int, float, float]:
    """(actors, CPUs each, GPUs each) for a cluster with ``resources``: an equal share each."""
    cpus, gpus = float(resources.get("CPU", 1)), float(resources.get("GPU", 0))
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: use 1 or more")
    count = workers or (int(gpus) if gpus >= 1 else max(1, int(cpus) // 2))
    count = max(1, min(count, jobs))
    return count, cpus / count, min(1.0, gpus / count)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError(
            "Ray is not installed: pip install 'evosam-annotator[batch]' (the offline bundle carries it)"
        ) from None
    return ray


def _init(ray: Any, address: str | None) -> None:
    """Start Ray here (``address`` None) or join a cluster; a one-line error when unreachable."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline machines: no usage report
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "this machine"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Ray at {where}: cannot start or connect ({first})") from None
    if sys.stderr.isatty() and address:
        print(f"joined the Ray cluster at {address}", file=sys.stderr)
