"""Canvas navigation, timeline seeking, labels, stale results and error messages."""

from __future__ import annotations

from gui_clip import FRAMES, blob_box, blob_mask
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.main_window import open_source
from app.state import FrameMask, Status


def test_zoom_keeps_point_under_cursor_and_right_drag_pans(qtbot, window):
    canvas = window.canvas
    anchor = canvas.mapFromScene(QPointF(100, 80))
    scale = canvas.transform().m11()
    canvas.zoom(4.0, anchor)
    assert abs(canvas.transform().m11() - 4 * scale) < 1e-6
    here = canvas.mapToScene(anchor)
    assert abs(here.x() - 100) < 2 and abs(here.y() - 80) < 2
    bar = canvas.horizontalScrollBar()
    before = bar.value()
    vp = canvas.viewport()
    QTest.mousePress(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 200))
    QTest.mouseMove(vp, QPoint(250, 200))
    QTest.mouseRelease(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, QPoint(250, 200))
    assert bar.value() == before + 50
    assert window.current_mask() is None  # panning never draws
    window.act.fit.trigger()
    assert abs(canvas.transform().m11() - scale) < 1e-6
    QTest.keyClick(window, Qt.Key.Key_H)
    assert not canvas.overlay_visible()
    QTest.keyClick(window, Qt.Key.Key_H)
    assert canvas.overlay_visible()


def test_space_tap_on_canvas_plays_and_pauses(qtbot, window):
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Space)
    assert window.player.playing
    QTest.keyClick(window.canvas, Qt.Key.Key_Space)
    assert not window.player.playing


def test_timeline_click_seeks(qtbot, window):
    bar = window.timeline.bar
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(bar.width() - 2, 5))
    assert window.player.current == FRAMES - 1
    assert f"frame {FRAMES - 1} (0–{FRAMES - 1})" in window.timeline.readout.text()


def test_labels_keep_separate_masks(qtbot, window):
    window.state.apply(0, "vessel", FrameMask(blob_mask(0)), "test")
    window.controller.add_label("artery")
    assert window.label == "artery" and window.labels.list.count() == 2
    assert window.current_mask() is None
    assert window.canvas.other_mask_count() == 1  # the vessel mask drawn as context
    window.labels.list.setCurrentRow(0)
    assert window.label == "vessel" and window.current_mask() is not None
    assert window.canvas.other_mask_count() == 0


def test_results_for_a_closed_clip_are_dropped(qtbot, window, clip):
    job = window.prompt_box(blob_box(0))
    window.set_video(open_source(clip), clip)
    qtbot.waitUntil(lambda: job not in window.controller.jobs.jobs, timeout=60000)
    qtbot.waitUntil(window.controller.idle, timeout=60000)
    assert list(window.state.items()) == []


def test_model_error_is_shown_not_raised(qtbot, window):
    window.prompt_box((500.0, 500.0, 600.0, 600.0))  # outside the 240 x 160 frame
    qtbot.waitUntil(lambda: any(b.isVisible() for b in window.findChildren(QMessageBox)), timeout=60000)
    box = next(b for b in window.findChildren(QMessageBox) if b.isVisible())
    assert "outside" in box.text()
    assert window.current_mask() is None and (0, "vessel") not in window.controller.prompts.boxes
    assert "No model" not in window.model_info.text()


def test_export_writes_confirmed_masks_only(qtbot, window, tmp_path):
    import json

    from pycocotools import mask as rle

    from evosam.imageio import read_mask, read_rgb

    window.state.apply(0, "vessel", FrameMask(blob_mask(0), Status.CONFIRMED), "test")
    window.state.apply(1, "vessel", FrameMask(blob_mask(1)), "test")  # proposed: not exported
    window.controller.add_label("a/b")
    window.state.apply(2, "a/b", FrameMask(blob_mask(2), Status.CONFIRMED), "test")
    with qtbot.waitSignal(window.exported, timeout=60000) as done:
        window.export("png", tmp_path / "out")
    assert (done.args[0].masks, done.args[0].frames, done.args[0].cancelled) == (2, 2, False)
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    vessel = [f for f in files if f.startswith("vessel/")]
    assert vessel == ["vessel/images/000000.png", "vessel/masks/000000.png"] and len(files) == 4
    assert (read_mask(tmp_path / "out" / "vessel" / "masks" / "000000.png") == blob_mask(0)).all()
    assert read_rgb(tmp_path / "out" / "vessel" / "images" / "000000.png").shape == (*blob_mask(0).shape, 3)
    with qtbot.waitSignal(window.exported, timeout=60000):
        window.export("coco", tmp_path / "coco.json")
    coco = json.loads((tmp_path / "coco.json").read_text())
    masks = [rle.decode(a["segmentation"]) for a in coco["annotations"]]
    assert len(masks) == 2 and any((m.astype(bool) == blob_mask(0)).all() for m in masks)
    with qtbot.waitSignal(window.exported, timeout=60000) as done:
        window.export("video", tmp_path / "review.mp4")
    assert (tmp_path / "review.mp4").stat().st_size > 0 and not done.args[0].cancelled


def test_model_load_failure_is_reported_and_prompts_explain_it(qtbot, clip):
    from app.main_window import MainWindow
    from evosam.errors import CheckpointError

    def broken():
        raise CheckpointError("x.pth: not a PyTorch checkpoint file")

    win = MainWindow(broken, prefetch_ms=0)
    qtbot.addWidget(win)
    win.set_video(open_source(clip), clip)
    qtbot.waitUntil(lambda: win.model_info.text() == "No model loaded", timeout=90000)  # a loaded CI machine
    qtbot.waitUntil(win.controller.idle, timeout=90000)
    with qtbot.waitSignal(
        win.statusBar().messageChanged, timeout=90000, check_params_cb=lambda m: m.startswith("no model loaded: x.pth")
    ):
        win.prompt_box(blob_box(0))
    win.close()


def test_playback_shows_frames_decoded_ahead_and_stops_at_the_end(qtbot, window):
    decoded: list[int] = []
    window.read_ahead.frame_ready.connect(lambda index, _rgb: decoded.append(index))
    with qtbot.waitSignal(window.player.playing_changed, timeout=20000, check_params_cb=lambda playing: not playing):
        window.player.play()
    assert window.player.current == FRAMES - 1
    assert sorted(decoded) == list(range(1, FRAMES))  # the GUI thread decoded none of them


def test_open_runs_in_the_background_and_reports_bad_paths(qtbot, window, clip, tmp_path):
    clip_id = window.controller.clip
    window.open_path(str(clip))
    qtbot.waitUntil(lambda: window.controller.clip == clip_id + 1, timeout=30000)
    assert window.state.frame_count == FRAMES and window.player.current == 0
    window.open_path(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(
        lambda: any(b.isVisible() and "missing.mp4" in b.text() for b in window.findChildren(QMessageBox)),
        timeout=30000,
    )
    assert window.controller.clip == clip_id + 1


def test_idle_window_embeds_the_current_frame_and_the_next_ones(qtbot, litemedsam, clip):
    from app.main_window import MainWindow, open_source
    from evosam.models.cache import EmbeddingCache

    cache = EmbeddingCache(64 * 2**20)
    win = MainWindow(lambda: litemedsam, prefetch_ms=20, cache=cache)
    qtbot.addWidget(win)
    win.set_video(open_source(clip), clip)
    win.show()
    qtbot.waitUntil(win.controller.idle, timeout=30000)
    win.player.seek(1)  # the user stops on frame 1: frames 1, 2, 3 get embedded (the clip ends there)
    key = win.source.fingerprint()
    qtbot.waitUntil(lambda: all(("litemedsam", key, i) in cache for i in (1, 2, 3)), timeout=90000)
    win.close()


def test_menu_options_are_kept_for_the_next_session(qtbot, window_on, clip):
    """Fast propagation, Re-detect, Follow propagation and Show masks come back as the user left them
    (``<config>/preferences.json``); a damaged file reads as the defaults."""
    from app.preferences import preferences_file

    first = window_on(clip)
    assert first.act.fast_propagation.isChecked() and first.act.follow.isChecked()  # the defaults
    assert first.controller.propagation.keyframes is not None
    assert not first.act.redetect.isChecked() and first.controller.propagation.tracker == "sam-flow"
    first.act.fast_propagation.trigger()
    first.act.follow.trigger()
    first.act.redetect.trigger()
    first.close()
    second = window_on(clip)
    assert not second.act.fast_propagation.isChecked() and second.controller.propagation.keyframes is None
    assert second.act.redetect.isChecked() and second.controller.propagation.tracker == "sam-redetect"
    assert not second.act.follow.isChecked() and second.act.show_masks.isChecked()
    second.close()
    preferences_file().write_text("{not json", encoding="utf-8")
    third = window_on(clip)
    assert third.act.fast_propagation.isChecked() and third.controller.propagation.keyframes is not None
    assert third.act.follow.isChecked()
