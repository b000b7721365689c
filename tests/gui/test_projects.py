"""Projects in the window: autosave of untitled work, save as, reopen with masks, the learner
(taught keys, curve, proposers) and place, an older project's head re-taught from its
masks, recent files, a moved-away video refused with a message."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from gui_clip import blob_mask

from app.projects import read_recent, saved_projects, untitled_path
from app.state import FrameMask, Status
from evosam.project import SCHEMA_VERSION, load_project

TIMEOUT_MS = 60000


def save_as(qtbot, win, path: Path) -> None:
    """Save as ``path`` on the save worker and wait until it is written (an autosave of the
    untitled project may report first)."""
    target = str(path.with_name(path.name + ".evosam"))
    with qtbot.waitSignal(win.projects.saved, timeout=TIMEOUT_MS, check_params_cb=lambda saved: saved == target):
        assert win.projects.save_as(path) is not None


def confirm(qtbot, win, frame: int) -> None:
    win.player.seek(frame)
    with qtbot.waitSignal(win.teaching.taught, timeout=TIMEOUT_MS):
        win.controller.apply(frame, win.label, FrameMask(blob_mask(frame), Status.CONFIRMED), "Confirm")


def test_untitled_work_autosaves(qtbot, window):
    assert window.projects.untitled and window.projects.path == untitled_path(window.projects.ref)
    window.controller.apply(1, "vessel", FrameMask(blob_mask(1)), "Brush")
    with qtbot.waitSignal(window.projects.saved, timeout=TIMEOUT_MS):
        window.projects.tick()
    saved = load_project(window.projects.path)
    assert np.array_equal(saved.masks[(1, "vessel")].unpack().mask, blob_mask(1))


def test_save_as_moves_the_untitled_work_out_of_the_autosave(qtbot, window, tmp_path):
    """After Save as, the untitled autosave is gone (its work is in the saved project), so
    reopening the video offers the saved project alone."""
    untitled = window.projects.path
    window.controller.apply(1, "vessel", FrameMask(blob_mask(1)), "Brush")
    with qtbot.waitSignal(window.projects.saved, timeout=TIMEOUT_MS):
        window.projects.tick()
    assert (untitled / "project.json").is_file()
    save_as(qtbot, window, tmp_path / "case7")
    assert not untitled.exists()
    saved = load_project(tmp_path / "case7.evosam")
    assert np.array_equal(saved.masks[(1, "vessel")].unpack().mask, blob_mask(1))
    assert [p.path for p in saved_projects(window.projects.ref)] == [tmp_path / "case7.evosam"]


def test_save_as_then_reopen_restores_masks_learner_and_place(qtbot, window, tmp_path, clip):
    confirm(qtbot, window, 0)
    confirm(qtbot, window, 2)
    window.state.add_label("vein")
    window.controller.apply(3, "vein", FrameMask(blob_mask(3)), "Brush")
    save_as(qtbot, window, tmp_path / "case12")
    path = tmp_path / "case12.evosam"
    assert (path / "project.json").is_file() and str(path) == read_recent()[0]
    keys, report = window.teaching.taught_keys, window.teaching.report("vessel")
    assert len(keys) == 2 and len(report.curve) == 2
    window.player.seek(1)
    window.controller.apply(1, "vessel", FrameMask(blob_mask(1)), "Brush")
    with qtbot.waitSignals([window.projects.opened, window.teaching.adopted], timeout=TIMEOUT_MS):
        window.projects.open(path)  # saves the change first, then reopens
    state = window.state
    assert state.entry(0, "vessel").status == Status.CONFIRMED and state.entry(1, "vessel") is not None
    assert [lab.name for lab in state.labels] == ["vessel", "vein"] and state.entry(3, "vein") is not None
    assert window.player.current == 1 and not state.can_undo
    assert window.timeline.bar.marks[0] == "confirmed"
    # the project's learner, not re-taught: the same keys, curve and proposer; the dock shows them
    assert window.teaching.taught_keys == keys and window.teaching.report("vessel") == report
    assert window.learning_panel.report == report and "2 frames taught" in window.learning_panel.summary.text()
    window.player.seek(0)
    update = wait_head(qtbot, window, window.reject)  # a reopened frame is un-taught exactly
    assert update.taught == keys - {(window.teaching.video, 0, "vessel")}


def wait_head(qtbot, win, trigger):
    with qtbot.waitSignal(win.teaching.head_updated, timeout=TIMEOUT_MS) as updated:
        trigger()
    return updated.args[0]


def set_feature_version(path: Path, version: int) -> None:
    """Rewrite a head state file as if an EvoSAM computing another feature version wrote it."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    arrays["meta"] = np.frombuffer(json.dumps({**meta, "feature_version": version}).encode(), np.uint8)
    np.savez(path, **arrays)


@pytest.mark.parametrize("older", ["schema 2", "feature version"])
def test_an_older_project_opens_and_its_head_is_retaught(qtbot, window, window_on, tmp_path, clip, older):
    """A schema 2 project (one head for every label, of older features), or a learner file of
    another feature version: the masks open, and the head is re-taught from the confirmed ones."""
    confirm(qtbot, window, 0)
    confirm(qtbot, window, 2)
    window.controller.apply(1, "vessel", FrameMask(blob_mask(1)), "Brush")  # proposed: it does not teach
    save_as(qtbot, window, tmp_path / "old")
    keys = window.teaching.taught_keys
    bare = window.teaching.latest.learner.head_of("vessel")
    window.close()
    path = tmp_path / "old.evosam"
    manifest = json.loads((path / "project.json").read_text())
    head_file = path / manifest["head"]["file"]
    if older == "schema 2":
        manifest["schema_version"] = 2
        del manifest["head"]["kind"]
        (path / "project.json").write_text(json.dumps(manifest))
        bare.save(head_file)  # a single head, as schema 2 projects stored it
    set_feature_version(head_file, 2)
    win = window_on(clip)
    assert not win.teaching.taught_keys
    with qtbot.waitSignal(win.teaching.adopted, timeout=TIMEOUT_MS) as adopted:
        win.projects.open(path)
    message = adopted.args[0]
    if older == "schema 2":
        assert message == "Re-teaching the head from 2 confirmed masks (older project)"
    else:
        assert message.startswith("Re-teaching the head from 2 confirmed masks (its saved head was refused: ")
        assert "feature version 2" in message and "teach the head again" in message
    assert win.statusBar().currentMessage() == message
    assert win.state.entry(1, "vessel").status == Status.PROPOSED and len(win.state.snapshot()) == 3
    qtbot.waitUntil(lambda: win.teaching.taught_keys == keys, timeout=TIMEOUT_MS)
    assert len(win.learning_panel.report.curve) == 2
    with qtbot.waitSignal(win.projects.saved, timeout=TIMEOUT_MS, check_params_cb=lambda saved: saved == str(path)):
        assert win.projects.save() is not None  # written again as the current schema, with the learner
    saved = json.loads((path / "project.json").read_text())
    assert saved["schema_version"] == SCHEMA_VERSION and saved["head"]["kind"] == "learner"


def test_a_changed_video_is_refused_with_a_message(qtbot, window, tmp_path, clip):
    window.controller.apply(0, "vessel", FrameMask(blob_mask(0)), "Brush")
    save_as(qtbot, window, tmp_path / "p")
    first = sorted(clip.iterdir())[0]
    shutil.copy(sorted(clip.iterdir())[1], first)  # the frames changed since
    clip_id = window.controller.clip
    with qtbot.waitSignal(window.controller.failed, timeout=TIMEOUT_MS) as failed:
        window.projects.open(tmp_path / "p.evosam")
    assert "not the video this project annotates" in str(failed.args[0])
    assert "not the video this project annotates" in window.statusBar().currentMessage()
    assert window.controller.clip == clip_id  # the open clip stays


def test_a_reopened_project_shows_its_learning_curve_while_the_model_loads(
    qtbot, window, litemedsam, embeddings, tmp_path, clip
):
    """``main.py --project``: the window shows the project before the model has loaded (a first
    start converts it for minutes); the dock shows what the saved head learned meanwhile."""
    from app.main_window import MainWindow, open_source

    for frame in (0, 1, 3):
        confirm(qtbot, window, frame)
    save_as(qtbot, window, tmp_path / "case12")
    curve = [s.sam for _, s in window.teaching.report("vessel").curve]
    window.close()
    path = tmp_path / "case12.evosam"
    loading = threading.Event()
    win = MainWindow(lambda: loading.wait(120) and litemedsam, prefetch_ms=0, cache=embeddings)
    qtbot.addWidget(win)
    try:
        win.set_video(open_source(clip), clip, project=load_project(path), project_path=path)
        win.show()
        panel = win.learning_panel
        qtbot.waitUntil(lambda: len(plotted(panel.sam_curve)) == 3, timeout=20000)
        assert plotted(panel.sam_curve) == pytest.approx(curve)
        assert "3 frames taught" in panel.summary.text() and "Confirm masks" not in panel.summary.text()
        assert "No model" not in win.model_info.text()  # still loading: this came from the saved head
    finally:
        loading.set()
    with qtbot.waitSignal(win.teaching.adopted, timeout=TIMEOUT_MS):
        pass
    assert plotted(panel.sam_curve) == pytest.approx(curve)
    win.close()


def plotted(curve) -> list[float]:
    """A plotted curve's y values (pyqtgraph gives None for an empty one)."""
    ys = curve.getData()[1]
    return [] if ys is None else list(ys)


def test_opening_a_video_that_has_a_saved_project_says_so_and_offers_it(qtbot, window, window_on, tmp_path, clip):
    from PySide6.QtWidgets import QMessageBox

    confirm(qtbot, window, 0)
    save_as(qtbot, window, tmp_path / "case12")
    window.close()
    win = window_on(clip)  # the video again, not the project
    assert win.state.entry(0, "vessel") is None  # blank until the user says
    assert "case12.evosam" in win.statusBar().currentMessage()
    offer = win.findChild(QMessageBox, "saved_project_offer")
    assert offer is not None and offer.isVisible() and "case12.evosam" in offer.text() and "1 mask" in offer.text()
    with qtbot.waitSignal(win.projects.opened, timeout=TIMEOUT_MS):
        offer.button(QMessageBox.StandardButton.Open).click()
    assert win.state.entry(0, "vessel").status == Status.CONFIRMED and win.projects.path == tmp_path / "case12.evosam"


def test_reopening_a_video_resumes_its_untitled_autosave(qtbot, window, window_on, clip):
    window.controller.apply(1, "vessel", FrameMask(blob_mask(1)), "Brush")
    autosave = window.projects.path
    window.close()  # the last save writes the untitled project
    win = window_on(clip)
    assert win.projects.path == autosave and win.projects.untitled
    assert np.array_equal(win.state.get(1, "vessel").mask, blob_mask(1))
    assert "Resumed the autosaved work" in win.statusBar().currentMessage()
