"""Workers: errors travel as exceptions, waiting for pending jobs honours its timeout, and
project saves (Ctrl+S, Save as, a clip switch, closing) run on the save worker."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from gui_clip import blob_mask

from app.jobs import Job, Worker
from app.main_window import open_source
from app.state import FrameMask
from evosam.errors import InputError

TIMEOUT_MS = 60000


@dataclass
class Bare:
    closed: bool = False

    def close(self) -> None:
        self.closed = True


class Fails(Job[Bare]):
    def run(self, ctx: Bare) -> None:
        raise InputError("bad input")


class Waits(Job[Bare]):
    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def run(self, ctx: Bare) -> str:
        self.release.wait(30)
        return "done"


def test_a_failing_job_reports_the_exception(qtbot):
    ctx = Bare()
    worker = Worker(ctx, name="TestWorker")
    job = Fails()
    with qtbot.waitSignal(job.error, timeout=TIMEOUT_MS) as failed, qtbot.waitSignal(worker.job_finished):
        worker.submit(job)
    assert isinstance(failed.args[0], InputError) and str(failed.args[0]) == "bad input"
    assert job.failure is failed.args[0]
    worker.stop()
    assert ctx.closed  # the context is closed on the worker's thread when it ends


def test_finish_pending_honours_its_timeout(qtbot):
    worker = Worker(Bare(), name="TestWorker")
    release = threading.Event()
    job = Waits(release)
    with qtbot.waitSignal(job.started, timeout=TIMEOUT_MS):
        worker.submit(job)
    assert worker.finish_pending(50) is False  # the job still runs: the wait gave up
    release.set()
    assert worker.finish_pending(TIMEOUT_MS) is True
    worker.stop()
    late = worker.submit(Waits(release))  # e.g. a timer firing after closing: never restarts the thread
    assert late.cancelled and not worker.isRunning()


def test_saves_run_on_the_save_worker(qtbot, window, tmp_path, clip, monkeypatch):
    import evosam.project.autosave as autosave

    on_gui_thread: list[bool] = []
    real = autosave.save_project

    def recording(path, project):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return real(path, project)

    monkeypatch.setattr(autosave, "save_project", recording)
    projects = window.projects
    window.controller.apply(0, "vessel", FrameMask(blob_mask(0)), "Brush")
    target = str(tmp_path / "p.evosam")
    with qtbot.waitSignal(projects.saved, timeout=TIMEOUT_MS, check_params_cb=lambda saved: saved == target):
        projects.save_as(tmp_path / "p")  # Save as
    window.controller.apply(1, "vessel", FrameMask(blob_mask(1)), "Brush")
    with qtbot.waitSignal(projects.saved, timeout=TIMEOUT_MS, check_params_cb=lambda saved: saved == target):
        projects.save()  # Ctrl+S
    window.controller.apply(2, "vessel", FrameMask(blob_mask(2)), "Brush")
    window.set_video(open_source(clip), clip)  # a clip switch saves the previous clip's work
    qtbot.waitUntil(lambda: len(on_gui_thread) >= 3, timeout=TIMEOUT_MS)
    assert not any(on_gui_thread)
