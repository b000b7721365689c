"""Review in the window: the timeline shows each proposal's review level, N walks the queue
least sure first, and accepting a run confirms many proposals as one undo step that teaches."""

from __future__ import annotations

from gui_clip import FRAMES, blob_mask
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.review import RunChoice
from app.state import FrameMask, Status

TIMEOUT_MS = 60000
# frame -> (predicted IoU, flags) of the proposals put on the synthetic clip
PROPOSALS = {0: (0.95, ()), 1: (0.6, ()), 2: (0.0, ("lost",)), 3: (0.85, ())}


def propose(window) -> None:
    for frame, (iou, flags) in PROPOSALS.items():
        mask = blob_mask(frame) if "lost" not in flags else blob_mask(frame) & False
        window.controller.apply(frame, window.label, FrameMask(mask, Status.PROPOSED, iou, flags), "Propagate", "run")


def test_timeline_shows_confident_unsure_and_lost(qtbot, window):
    assert FRAMES == len(PROPOSALS)
    propose(window)
    marks = window.timeline.bar.marks
    assert [marks[f] for f in sorted(PROPOSALS)] == ["confident", "unsure", "lost", "confident"]
    window.player.seek(1)
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert marks[1] == "confirmed"


def test_n_walks_the_queue_least_sure_first(qtbot, window):
    propose(window)
    window.player.seek(0)
    seen = []
    for _ in range(5):
        QTest.keyClick(window, Qt.Key.Key_N)
        seen.append(window.player.current)
    # confidences: 2 lost (0), 1 (0.6), 3 (0.85), 0 (0.95); then the queue starts again
    assert seen == [2, 1, 3, 0, 2]
    assert "Review 1 of 4" in window.statusBar().currentMessage() and "frame 2" in window.statusBar().currentMessage()


def test_accepting_a_run_is_one_undo_step_and_teaches(qtbot, window):
    propose(window)
    with qtbot.waitSignal(window.teaching.taught, timeout=TIMEOUT_MS):
        assert window.controller.accept_run(RunChoice(0, 3, 0.7)) == 2  # frames 0 and 3
    state = window.state
    assert [state.get(f, "vessel").status for f in range(4)] == [Status.CONFIRMED, Status.PROPOSED,
                                                                 Status.PROPOSED, Status.CONFIRMED]  # fmt: skip
    assert window.timeline.bar.marks[3] == "confirmed"
    qtbot.waitUntil(lambda: window.teaching.report("vessel").taught_frames == 2, timeout=TIMEOUT_MS)
    window.undo()
    assert [state.get(f, "vessel").status for f in (0, 3)] == [Status.PROPOSED, Status.PROPOSED]
    qtbot.waitUntil(lambda: window.teaching.report("vessel").taught_frames == 0, timeout=TIMEOUT_MS)
    assert window.controller.accept_run(RunChoice(0, 3, 0.99)) == 0
    assert "No proposals" in window.statusBar().currentMessage()


def test_progress_shows_the_rate_and_the_time_left(qtbot, monkeypatch):
    from app import status
    from app.status import JobStatus

    clock = [100.0]
    monkeypatch.setattr(status.time, "monotonic", lambda: clock[0])
    widget = JobStatus()
    qtbot.addWidget(widget)
    widget.show_job("Propagating", True, 0, "frames")
    widget.set_progress(0, 50)
    assert "frames/s" not in widget.text.text()
    clock[0] += 4.0
    widget.set_progress(10, 50)  # 10 frames in 4 s: 2.5 frames/s, 40 left: 16 s
    assert "Propagating… 4 s · 2.5 frames/s · 16 s left" == widget.text.text()
    assert widget.bar.format() == "10/50"
    widget.show_job("Exporting", True)  # a job without a unit: no rate
    widget.set_progress(3, 9)
    assert "/s" not in widget.text.text()


def test_the_view_follows_the_propagation(qtbot, window):
    window.controller.apply(0, window.label, FrameMask(blob_mask(0), Status.CONFIRMED), "Confirm")
    window.player.seek(0)
    with qtbot.waitSignal(window.propagation_finished, timeout=TIMEOUT_MS):
        QTest.keyClick(window, Qt.Key.Key_P)
    assert not window.controller.propagation.running  # over when it says so: P may start the next at once
    assert window.player.current == FRAMES - 1
    window.act.follow.setChecked(False)
    window.controller.apply(1, window.label, FrameMask(blob_mask(1), Status.CONFIRMED), "Confirm")
    window.player.seek(1)
    with qtbot.waitSignal(window.propagation_finished, timeout=TIMEOUT_MS):
        QTest.keyClick(window, Qt.Key.Key_P)
    assert window.player.current == 1
