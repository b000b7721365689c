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


def test_a_burst_of_teachings_is_scored_and_reported_once(qtbot):
    """Teachings queued behind one another on the head worker: each but the last returns
    no update (its leave-out scoring is left to the next), the last reports every record of
    the burst, and its report equals that of teaching the frames one by one, each scored.
    Nothing but the worker holds the jobs: it keeps each alive until its signals arrived
    (without that, this test crashed the process in 10 of 10 runs)."""
    from app.teaching_jobs import TeachInput, TeachJob, head_worker
    from evosam.learning import Learner, teaching_box
    from tests.unit.test_head import SMALL, fake_frame

    items = []
    for i in range(4):
        frame, mask, pred = fake_frame(i)
        items.append(TeachInput(("clip", 4 * i, "vessel"), 0, frame, mask, teaching_box(mask), pred))
    release = threading.Event()

    class Hold(Job):
        def run(self, ctx):
            ctx.learner = Learner("litemedsam", SMALL)
            ctx.learner.set_label("vessel")
            release.wait(30)

    worker = head_worker()
    results = []
    for job in [Hold(), *(TeachJob("vessel", item) for item in items)]:  # the worker keeps them alive
        job.result.connect(results.append)
        worker.submit(job)
    del job
    release.set()
    qtbot.waitUntil(lambda: len(results) == 1 + len(items), timeout=60000)
    worker.stop()
    results = results[1:]  # the hold's
    assert results[:-1] == [None] * (len(items) - 1)
    update = results[-1]
    assert [r.key for r in update.records] == [it.key for it in items] and update.record == update.records[-1]
    each = Learner("litemedsam", SMALL)
    for it in items:
        each.teach(it.key, it.frame, it.prediction, it.mask, it.box, "vessel", "clip", it.key[1])
    assert update.report == each.report("vessel") and update.taught == frozenset(each.taught_keys)


def test_teaching_an_old_frame_does_not_evict_the_cached_ones(litemedsam, clip):
    """``TeachInputJob`` encodes a frame the cache let go without caching it: a run of
    confirmations walked in order would otherwise evict each next frame it needs."""
    from app.teaching_jobs import TeachInputJob
    from app.workers import ModelContext
    from evosam.models.cache import EmbeddingCache

    source = open_source(clip)
    one = litemedsam.embed(source.frame(0)).nbytes
    ctx = ModelContext(litemedsam, cache=EmbeddingCache(2 * one), reader=source, video_key="clip")
    for i in (1, 2):
        ctx.embedding(i)
    item = TeachInputJob(("clip", 0, "vessel"), 0, 0, blob_mask(0)).run(ctx)
    assert item.prediction.mask.any()
    assert [ctx.embedding_key(i) in ctx.cache for i in (0, 1, 2)] == [False, True, True]
    TeachInputJob(("clip", 1, "vessel"), 0, 1, blob_mask(1)).run(ctx)  # a cached frame is read from the cache
    assert [ctx.embedding_key(i) in ctx.cache for i in (0, 1, 2)] == [False, True, True]
    source.close()
