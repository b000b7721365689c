"""The annotator end to end on the real LiteMedSAM: box -> mask, confirm, propagate, undo, brush."""

from __future__ import annotations

import numpy as np
import pytest
from gui_clip import FRAMES, blob_box, blob_mask, write_clip
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.canvas import Tool
from app.state import FrameMask, Status
from evosam.masks import dice
from evosam.review import confidence_level, review_confidence

TIMEOUT_MS = 60000  # generous: two busy CPU cores


def view_pos(win, x: float, y: float) -> QPoint:
    """Viewport position of frame pixel (x, y)."""
    return win.canvas.mapFromScene(QPointF(x, y))


def drag(win, points: list[tuple[float, float]]) -> None:
    """Left-drag through frame pixels ``points`` with real mouse events on the canvas."""
    vp = win.canvas.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_pos(win, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, view_pos(win, *p))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_pos(win, *points[-1]))


def draw_box(qtbot, win, frame: int) -> None:
    x0, y0, x1, y1 = blob_box(frame)
    with qtbot.waitSignal(win.annotation_changed, timeout=TIMEOUT_MS):
        drag(win, [(x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2), (x1, y1)])


def test_box_gives_mask_then_confirm(qtbot, window):
    draw_box(qtbot, window, 0)
    fm = window.current_mask()
    assert fm is not None and fm.status == Status.PROPOSED
    assert dice(fm.mask, blob_mask(0)) > 0.85
    assert window.timeline.bar.marks[0] == confidence_level(review_confidence(fm.iou, fm.flags))
    QTest.keyClick(window, Qt.Key.Key_Return)
    assert window.current_mask().status == Status.CONFIRMED
    assert window.timeline.bar.marks[0] == "confirmed"
    QTest.keyClick(window, Qt.Key.Key_Delete)
    assert window.current_mask().status == Status.REJECTED
    window.undo()
    assert window.current_mask().status == Status.CONFIRMED


def test_propagate_forward_then_undo(qtbot, window):
    window.player.seek(1)
    draw_box(qtbot, window, 1)
    window.confirm()
    with qtbot.waitSignal(window.propagation_finished, timeout=TIMEOUT_MS) as done:
        QTest.keyClick(window, Qt.Key.Key_P)
    summary = done.args[0]
    assert (summary.frames_done, summary.frames_total, summary.cancelled) == (2, 2, False)
    for f in (2, 3):
        fm = window.state.get(f, "vessel")
        assert fm is not None and fm.status == Status.PROPOSED
        assert dice(fm.mask, blob_mask(f)) > 0.8, f
        assert window.timeline.bar.marks[f] == confidence_level(review_confidence(fm.iou, fm.flags))
    window.undo()  # one step removes the whole propagation run
    assert window.state.get(2, "vessel") is None and window.state.get(3, "vessel") is None
    assert window.state.get(1, "vessel").status == Status.CONFIRMED
    window.redo()
    assert window.state.get(3, "vessel") is not None


@pytest.mark.fresh_embeddings  # the encoder really runs, in batches
def test_propagation_job_batches_the_encoder_and_fills_the_cache(qtbot, window):
    """The window's propagation embeds its walk a batch ahead (8 frames per encoder call on
    CUDA; here 2, on the CPU) into the app's embedding cache; a second run, frame by frame,
    takes every embedding from that cache and gives the same masks."""
    from app.workers import PropagateJob

    def run(batch: int) -> list:
        job = PropagateJob("vessel", range(1, FRAMES), blob_mask(0))
        job.batch = batch
        got: list = []
        job.frame_done.connect(got.append)
        with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS):
            window.controller.submit(job)
        return got

    batched = run(2)
    c, video = window.controller, window.source.fingerprint()
    assert all((c.model_name, video, i) in c.cache for i in range(1, FRAMES))
    single = run(1)  # now every embedding comes from the cache
    assert [r.index for r in batched] == list(range(1, FRAMES)) == [r.index for r in single]
    for a, b in zip(batched, single, strict=True):
        assert np.array_equal(a.mask, b.mask)


def test_redetection_marks_a_blank_stretch_lost_and_finds_the_blob_after_it(qtbot, window_on, tmp_path):
    """Tools ▸ Re-detect after camera jumps (off by default): a run through two black frames
    (the camera taken out) proposes nothing there and says so (flagged lost, red on the
    timeline), then finds the blob again; without it the run proposes masks on the black frames."""
    win = window_on(write_clip(tmp_path / "jump", 8, still_tissue=True, blank=(4, 5)))
    assert not win.act.redetect.isChecked() and win.controller.propagation.tracker == "sam-flow"
    draw_box(qtbot, win, 0)
    win.confirm()
    with qtbot.waitSignal(win.propagation_finished, timeout=TIMEOUT_MS):
        win.propagate()
    assert win.state.get(4, "vessel").mask.any()  # sam-flow carries a mask into the black frame
    win.undo()
    win.player.seek(0)
    win.act.redetect.trigger()
    with qtbot.waitSignal(win.propagation_finished, timeout=TIMEOUT_MS) as done:
        job = win.propagate()
    assert job.tracker == "sam-redetect" and done.args[0].frames_done == 7
    for f in (4, 5):
        lost = win.state.get(f, "vessel")
        assert lost is not None and "lost" in lost.flags and not lost.mask.any(), f
        assert win.timeline.bar.marks[f] == "lost", f
    for f in (1, 2, 3):
        assert dice(win.state.get(f, "vessel").mask, blob_mask(f)) > 0.8, f
    found = [dice(win.state.get(f, "vessel").mask, blob_mask(f)) for f in (6, 7)]
    assert "refound" in win.state.get(6, "vessel").flags and min(found) > 0.6, found  # found again: look there


@pytest.mark.fresh_embeddings  # frames must take real model time for the race to be one-sided
def test_propagation_can_be_cancelled(qtbot, window):
    window.state.apply(0, "vessel", FrameMask(blob_mask(0)), "test")
    job = window.propagate()
    window.job_status.cancel_button.click()
    qtbot.waitUntil(lambda: job not in window.controller.jobs.jobs, timeout=TIMEOUT_MS)
    assert job.cancelled
    assert len([f for f in range(1, FRAMES) if window.state.get(f, "vessel") is not None]) <= 1
    assert not window.controller.propagation.running


def test_brush_eraser_undo_redo(qtbot, window):
    QTest.keyClick(window, Qt.Key.Key_D)
    assert window.canvas.tool == "brush"
    window.brush_size.setValue(5)
    drag(window, [(20, 20), (60, 20)])
    painted = window.current_mask().mask
    assert painted[20, 20:61].all() and painted[25, 40] and not painted[40, 40]
    QTest.keyClick(window, Qt.Key.Key_E)
    drag(window, [(40, 10), (40, 30)])
    erased = window.current_mask().mask
    assert not erased[20, 38:43].any() and erased[20, 25]
    window.undo()
    assert np.array_equal(window.current_mask().mask, painted)
    window.undo()
    assert window.current_mask() is None
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(window.current_mask().mask, painted)
    window.clear_mask()
    assert window.current_mask() is None
    QTest.keyClick(window, Qt.Key.Key_B)
    assert window.canvas.tool == "box" and window.act.box.isChecked()


def test_player_steps_and_shortcut_help(qtbot, window):
    QTest.keyClick(window, Qt.Key.Key_Right)
    assert window.player.current == 1 and "frame 1 (0–3)" in window.timeline.readout.text()
    QTest.keyClick(window, Qt.Key.Key_Left)
    assert window.player.current == 0
    with qtbot.waitSignal(window.player.frame_changed, timeout=20000):
        window.player.play()
    window.player.pause()
    window.act.shortcuts.trigger()
    box = window.findChild(QMessageBox, "shortcuts_dialog")
    assert box is not None and "Shift+P" in box.text() and "Ctrl+Shift+Z" in box.text()


def test_propagation_stops_at_confirmed_and_keeps_painted_masks(qtbot, window):
    window.state.apply(0, "vessel", FrameMask(blob_mask(0), Status.CONFIRMED), "test")
    window.state.apply(3, "vessel", FrameMask(blob_mask(3), Status.CONFIRMED), "test")
    painted = np.zeros_like(blob_mask(2))
    painted[10:20, 10:20] = True
    window.state.apply(2, "vessel", FrameMask(painted, edited=True), "test")
    with qtbot.waitSignal(window.propagation_finished, timeout=TIMEOUT_MS) as done:
        window.propagate()
    assert (done.args[0].frames_done, done.args[0].frames_total) == (2, 2)  # frames 1 and 2, not 3
    assert dice(window.state.get(1, "vessel").mask, blob_mask(1)) > 0.8
    assert np.array_equal(window.state.get(2, "vessel").mask, painted)
    assert np.array_equal(window.state.get(3, "vessel").mask, blob_mask(3))
    window.player.seek(1)
    assert window.propagate(backward=True) is None  # the confirmed frame 0 is next: nothing to do


def test_fast_propagation_encodes_keyframes_only(qtbot, window_on, tmp_path):
    """Tools ▸ Fast propagation (keyframes), on by default: a run through 11 frames encodes its keyframes only
    (the app's cache holds encodings only) and proposes every frame close to the blob;
    unchecked again, the next run encodes every frame."""
    from evosam.models.cache import EmbeddingCache

    win = window_on(write_clip(tmp_path / "long", 12, still_tissue=True), EmbeddingCache(64 * 2**20))
    c, video = win.controller, win.source.fingerprint()
    draw_box(qtbot, win, 0)
    win.confirm()
    assert win.act.fast_propagation.isChecked()
    with qtbot.waitSignal(win.propagation_finished, timeout=TIMEOUT_MS) as done:
        job = win.propagate()
    assert job.keyframes is not None and done.args[0].frames_done == 11
    encoded = [i for i in range(1, 12) if (c.model_name, video, i) in c.cache]
    assert 2 <= len(encoded) <= 5, encoded  # keyframes (every 8 frames, the last, rechecks), not all 11
    for f in range(1, 12):
        assert dice(win.state.get(f, "vessel").mask, blob_mask(f)) > 0.8, f
    win.undo()
    win.player.seek(0)  # the view followed the run to its end
    win.act.fast_propagation.trigger()  # off: every frame is encoded again
    with qtbot.waitSignal(win.propagation_finished, timeout=TIMEOUT_MS):
        job = win.propagate()
    assert job.keyframes is None
    assert all((c.model_name, video, i) in c.cache for i in range(1, 12))


@pytest.mark.fresh_embeddings  # frames must take real model time for the race to be one-sided
def test_box_drawn_during_propagation_is_answered_before_it_ends(qtbot, window):
    window.player.seek(1)
    window.state.apply(1, "vessel", FrameMask(blob_mask(1)), "seed")
    events: list[str] = []
    window.propagation_finished.connect(lambda _summary: events.append("propagation finished"))
    window.annotation_changed.connect(lambda frames: events.append(f"changed {frames}"))
    window.propagate()  # frames 2 and 3, one after the other on the model thread
    window.controller.add_label("artery")
    window.prompt_box(blob_box(1))  # urgent: runs between the two propagated frames
    with qtbot.waitSignal(window.propagation_finished, timeout=TIMEOUT_MS):
        pass
    prompt_at = events.index("changed [1]")
    assert prompt_at < events.index("propagation finished")
    assert sum(e.startswith("changed") for e in events[prompt_at + 1 :]) >= 1  # frames kept coming after it
    assert window.state.get(1, "artery") is not None and window.state.get(3, "vessel") is not None


def test_shift_p_propagates_backward(qtbot, window):
    window.player.seek(1)
    window.state.apply(1, "vessel", FrameMask(blob_mask(1)), "seed")
    with qtbot.waitSignal(window.propagation_finished, timeout=TIMEOUT_MS) as done:
        QTest.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert (done.args[0].frames_done, done.args[0].frames_total) == (1, 1)
    assert dice(window.state.get(0, "vessel").mask, blob_mask(0)) > 0.8


def test_point_tool_removes_and_adds(qtbot, window):
    from PySide6.QtCore import Qt as _Qt

    draw_box(qtbot, window, 0)
    before = window.current_mask().mask.copy()
    QTest.keyClick(window, _Qt.Key.Key_V)
    assert window.canvas.tool.value == "point"
    cy, cx = np.argwhere(before).mean(0)
    vp = window.canvas.viewport()
    with qtbot.waitSignal(window.annotation_changed, timeout=TIMEOUT_MS):
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, view_pos(window, cx, cy))
    after = window.current_mask().mask
    assert not after[int(cy), int(cx)] and after.sum() < before.sum()  # a negative point removed the piece there
    assert window.controller.prompts.points[(0, "vessel")] == [
        (pytest.approx(cx, abs=1), pytest.approx(cy, abs=1), False)
    ]
    with qtbot.waitSignal(window.annotation_changed, timeout=TIMEOUT_MS):
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_pos(window, cx, cy))
    assert window.current_mask().mask[int(cy), int(cx)]  # a positive point added it back
    window.undo()
    window.undo()
    assert np.array_equal(window.current_mask().mask, before)


def test_masks_record_what_made_them(qtbot, window):
    draw_box(qtbot, window, 0)
    assert window.state.entry(0, "vessel").source == "litemedsam"
    window.set_tool(Tool.BRUSH)
    window.player.seek(2)
    drag(window, [(20, 20), (30, 30)])
    assert window.state.entry(2, "vessel").source == "user"
