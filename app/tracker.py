"""The jobs the controller submitted and has not seen finish: what the status bar shows,
whether the controller is busy, and which clip a job was submitted for."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.jobs import Job, Worker


class JobTracker(QObject):
    """``changed()`` when a job started or finished; ``progress(done, total)`` of the running
    ones; ``failed(exception)`` when one failed; ``finished(job)`` after each (its
    ``failure`` set when it failed). Jobs are marked with ``clip`` when submitted."""

    changed = Signal()
    progress = Signal(int, int)
    failed = Signal(object)
    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clip = 0  # the clip shown now; jobs submitted are marked with it
        self._jobs: list[Job] = []  # submitted, not finished
        self._running: list[Job] = []  # started, not finished (nested when a prompt runs inside a propagation)

    def watch(self, worker: Worker) -> None:
        """Follow ``worker``'s jobs (only those submitted here count)."""
        worker.job_started.connect(self._on_started)
        worker.job_finished.connect(self._on_finished)

    def submit(self, job: Job, worker: Worker, urgent: bool = False) -> Job:
        """Queue ``job`` on ``worker`` (watched), marked with the current clip."""
        self._jobs.append(job)
        job.clip = self.clip
        job.progress.connect(self.progress)
        job.error.connect(self.failed)
        return worker.submit(job, urgent)

    @property
    def jobs(self) -> tuple[Job, ...]:
        """Submitted and not finished, oldest first."""
        return tuple(self._jobs)

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def idle(self) -> bool:
        """Whether every job submitted here has finished (its results delivered)."""
        return not self._jobs

    @property
    def running(self) -> Job | None:
        """The innermost running job (a prompt answered inside a propagation), or None."""
        return self._running[-1] if self._running else None

    @property
    def queued(self) -> int:
        return len(self._jobs) - len(self._running)

    def _on_started(self, job: Job) -> None:
        if job in self._jobs:
            self._running.append(job)
            self.changed.emit()

    def _on_finished(self, job: Job) -> None:
        if job not in self._jobs:
            return
        self._jobs.remove(job)
        if job in self._running:
            self._running.remove(job)
        self.finished.emit(job)
        self.changed.emit()
