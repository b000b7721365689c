"""Garbage collection runs on the GUI thread only while a ``MainThreadCollector`` lives."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from app.collector import MainThreadCollector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def _make_cycles(count: int) -> weakref.ref:
    """Cyclic garbage made on this thread; a weak reference to the first piece."""
    first = _Node()
    ref = weakref.ref(first)
    del first
    for _ in range(count):
        _Node()
    return ref


@pytest.fixture
def collecting_threads():
    """The names of the threads that ran a collection while the test ran."""
    names: list[str] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            names.append(threading.current_thread().name)

    gc.collect()
    gc.callbacks.append(note)
    yield names
    gc.callbacks.remove(note)


def _on_a_worker(count: int) -> weakref.ref:
    out: list[weakref.ref] = []
    worker = threading.Thread(target=lambda: out.append(_make_cycles(count)), name="worker")
    worker.start()
    worker.join()
    return out[0]


def test_without_it_a_worker_thread_collects(collecting_threads):
    """The hazard itself: CPython collects on the thread whose allocations cross the threshold."""
    assert gc.isenabled()
    _on_a_worker(20 * gc.get_threshold()[0])
    assert "worker" in collecting_threads


def test_it_collects_on_the_gui_thread_only(qapp, qtbot, collecting_threads):
    collector = MainThreadCollector(interval_ms=20)
    try:
        assert not gc.isenabled()
        piece = _on_a_worker(20 * gc.get_threshold()[0])
        assert collecting_threads == []  # the worker allocated far past the threshold, collected nothing
        assert piece() is not None
        qtbot.waitUntil(lambda: piece() is None, timeout=5000)  # the timer's collection freed it
        assert set(collecting_threads) == {threading.main_thread().name}
        assert max(collector.pauses) > 0.0
    finally:
        collector.stop()
    assert gc.isenabled()
