"""Every gesture in the window changes something or says why not: a point outside the mask,
a box off the frame, the label a box goes to, Clear while a box is answered, plural counts."""

from __future__ import annotations

import numpy as np
from gui_clip import blob_box, blob_mask
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsSimpleTextItem
from test_annotate import drag, view_pos

from app.canvas import Tool
from app.state import FrameMask, Status

TIMEOUT_MS = 60000


def speckled(frame: int) -> np.ndarray:
    """The blob with 4x4 px holes every 8 px (a noisy mask): bool (H, W)."""
    mask = blob_mask(frame).copy()
    yy, xx = np.mgrid[: mask.shape[0], : mask.shape[1]]
    mask[(yy % 8 < 4) & (xx % 8 < 4)] = False
    return mask


def click(win, x: float, y: float, shift: bool = False) -> None:
    modifier = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    QTest.mouseClick(win.canvas.viewport(), Qt.MouseButton.LeftButton, modifier, view_pos(win, x, y))


def test_a_negative_point_in_a_gap_of_the_mask_says_why_it_changes_nothing(qtbot, window):
    mask = speckled(0)
    assert not mask[80:84, 88:92].any() and mask[84:88, 88:92].all()  # a hole in the middle of the blob
    window.controller.apply(0, "vessel", FrameMask(mask), "Brush")
    window.set_tool(Tool.POINT)
    click(window, 90, 82, shift=True)
    qtbot.waitUntil(window.controller.idle, timeout=TIMEOUT_MS)
    assert np.array_equal(window.current_mask().mask, mask)
    message = window.statusBar().currentMessage()
    assert "already outside the mask" in message and "on the mask" in message, message
    assert window.controller.prompts.points.get((0, "vessel"), []) == []  # no red dot that did nothing
    click(window, 90, 86, shift=True)  # on the mask: the piece there goes
    qtbot.waitUntil(lambda: not window.current_mask().mask[86, 90], timeout=TIMEOUT_MS)
    window.undo()
    window.undo()  # the gap's click made no undo step
    assert window.current_mask() is None


def visible(win, kind):
    return [i for i in win.canvas.scene().items() if isinstance(i, kind) and i.isVisible()]


def test_the_box_being_drawn_shows_the_label_it_goes_to(qtbot, window):
    window.controller.add_label("gallbladder")
    color = QColor(*window.state.label("gallbladder").color)
    x0, y0, x1, y1 = blob_box(0)
    vp = window.canvas.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_pos(window, x0, y0))
    QTest.mouseMove(vp, view_pos(window, x1, y1))
    assert [t.text() for t in visible(window, QGraphicsSimpleTextItem)] == ["gallbladder"]
    dashed = [r for r in visible(window, QGraphicsRectItem) if r.pen().style() == Qt.PenStyle.DashLine]
    assert [r.pen().color() for r in dashed] == [color]
    assert window.statusBar().currentMessage().startswith("box → label 'gallbladder'")
    with qtbot.waitSignal(window.annotation_changed, timeout=TIMEOUT_MS):
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_pos(window, x1, y1))
    assert window.state.get(0, "gallbladder") is not None and window.state.get(0, "vessel") is None
    assert [t.text() for t in visible(window, QGraphicsSimpleTextItem)] == ["gallbladder"]  # with its mask
    window.labels.list.setCurrentRow(0)  # vessel: no box on this frame
    assert visible(window, QGraphicsSimpleTextItem) == []


def dashed(win):
    return [r for r in visible(win, QGraphicsRectItem) if r.pen().style() == Qt.PenStyle.DashLine]


def test_a_box_off_the_frame_or_a_click_says_why_it_draws_nothing(qtbot, window):
    window.canvas.zoom(0.5)  # room around the frame
    drag(window, [(-60, -50), (-30, -20), (-10, -5)])
    assert window.current_mask() is None and dashed(window) == []
    assert "outside the frame" in window.statusBar().currentMessage()
    drag(window, [(100, 80), (100.5, 80.5)])  # a stray click with the box tool
    assert window.current_mask() is None and dashed(window) == []
    assert "drag from one corner" in window.statusBar().currentMessage()
    window.set_tool(Tool.POINT)
    click(window, -20, -20)
    assert "outside the frame" in window.statusBar().currentMessage()


def test_clear_while_a_box_is_answered_removes_the_box_and_drops_its_answer(qtbot, window):
    x0, y0, x1, y1 = blob_box(0)
    drag(window, [(x0, y0), (x1, y1)])  # the model answers on its thread
    QTest.keyClick(window, Qt.Key.Key_Backspace)
    assert dashed(window) == [] and visible(window, QGraphicsSimpleTextItem) == []
    qtbot.waitUntil(window.controller.idle, timeout=TIMEOUT_MS)
    assert window.current_mask() is None and dashed(window) == []
    assert not window.state.can_undo  # the dropped answer made no edit


def test_counts_of_one_are_singular(qtbot, window, tmp_path):
    window.player.seek(2)
    window.controller.apply(2, "vessel", FrameMask(blob_mask(2), Status.CONFIRMED), "Confirm")
    with qtbot.waitSignal(window.propagation_finished, timeout=TIMEOUT_MS):
        window.propagate()  # frame 3 alone
    assert window.statusBar().currentMessage() == "Propagation done: 1 frame."
    with qtbot.waitSignal(window.exported, timeout=TIMEOUT_MS):
        window.export("png", tmp_path / "dataset")
    assert window.statusBar().currentMessage().startswith("Exported 1 mask (confirmed) and 1 frame ")


def test_a_slow_model_load_shows_its_seconds_ticking(qtbot, litemedsam, embeddings):
    """A first start converts the model for OpenVINO (minutes on a loaded machine): the status
    bar counts the seconds instead of promising a time it may not keep."""
    import threading

    from app.entry import load_status
    from app.main_window import MainWindow

    text = load_status("first start: converting the model for OpenVINO, about 25 s, once")
    assert text == "Converting the model for OpenVINO (first start, once)" and load_status("") == "Loading model"
    loading = threading.Event()
    win = MainWindow(lambda: loading.wait(60) and litemedsam, prefetch_ms=0, cache=embeddings, load_text=text)
    qtbot.addWidget(win)
    win.show()
    shown = win.job_status.text

    def seconds() -> int:
        """The seconds the status shows (0 before the first tick). A busy machine may skip a
        tick, so the test asks for a count that goes up, not for each value."""
        head, _, tail = shown.text().rpartition("… ")
        return int(tail[:-2]) if head == text and tail.endswith(" s") and tail[:-2].isdigit() else 0

    try:
        qtbot.waitUntil(lambda: seconds() >= 1, timeout=10000)
        first = seconds()
        qtbot.waitUntil(lambda: seconds() > first, timeout=10000)
    finally:
        loading.set()
    qtbot.waitUntil(lambda: "LiteMedSAM" in win.model_info.text(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: shown.text() == "", timeout=10000)  # cleared once the load's job ends (an event later)
    win.close()
