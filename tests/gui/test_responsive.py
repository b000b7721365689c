"""The GUI thread keeps ticking while the model worker propagates."""

from __future__ import annotations

import time

import pytest
from gui_clip import FRAMES, blob_mask
from PySide6.QtCore import Qt, QTimer

from app.state import FrameMask

BOUND_S = 0.25  # generous for two shared CPU cores; the product target is 0.05


@pytest.mark.fresh_embeddings  # the model really runs while the GUI thread is timed
def test_event_loop_gap_during_propagation(qtbot, window, record_property):
    window.state.apply(0, "vessel", FrameMask(blob_mask(0)), "seed")
    gaps: list[float] = []
    last = [time.perf_counter()]

    def _on_tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(_on_tick)
    last[0] = time.perf_counter()
    timer.start()
    with qtbot.waitSignal(window.propagation_finished, timeout=120000) as done:
        window.propagate()
    timer.stop()
    assert done.args[0].frames_done == FRAMES - 1
    worst = max(gaps)
    record_property("max_event_loop_gap_ms", round(worst * 1000, 1))
    print(f"\nevent loop during propagation: {len(gaps)} ticks, longest gap {worst * 1000:.1f} ms")
    assert worst < BOUND_S
