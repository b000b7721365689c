"""The window's file dialogs: where they open, what they propose, the extension a typed name
gets (the path choice itself is ``app.dialogs``' pure functions)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gui_clip import blob_mask
from gui_dialogs import answer, file_name_edit

from app.state import FrameMask, Status

TIMEOUT_MS = 60000


def confirmed_mask(win, frame: int = 0) -> None:
    win.controller.apply(frame, win.label, FrameMask(blob_mask(frame), Status.CONFIRMED), "Confirm")


@pytest.mark.parametrize(
    ("action", "proposed", "typed", "written"),
    [
        ("export_coco", "clip.json", "reviewed", "reviewed.json"),
        ("export_video", "clip_overlay.mp4", "review", "review.mp4"),
        ("export_coco", "clip.json", "kept.json", "kept.json"),
    ],
)
def test_export_dialog_proposes_a_name_beside_the_video_and_adds_the_extension(
    qtbot, window, clip, tmp_path, action, proposed, typed, written
):
    confirmed_mask(window)
    seen = {}

    def respond(dialog):
        seen.update(folder=Path(dialog.directory().absolutePath()), name=file_name_edit(dialog).text())
        file_name_edit(dialog).setText(str(tmp_path / "out" / typed))  # a folder the test owns, whatever opens
        dialog.accept()

    (tmp_path / "out").mkdir()
    with qtbot.waitSignal(window.exported, timeout=TIMEOUT_MS) as done:
        answer(window.act.all[action].trigger, respond)
    assert seen == {"folder": clip.parent, "name": proposed}
    assert done.args[0].out == tmp_path / "out" / written and (tmp_path / "out" / written).is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [written]


def test_export_targets_lie_beside_the_project_or_the_video(tmp_path):
    from app.dialogs import bundled_folder, export_target, with_suffix, work_folder

    video = tmp_path / "cases" / "case12.mp4"
    video.parent.mkdir()
    video.write_bytes(b"")
    frames = tmp_path / "cases" / "case13"
    frames.mkdir()
    project = tmp_path / "projects" / "case12.evosam"
    project.mkdir(parents=True)
    assert export_target("coco", video) == tmp_path / "cases" / "case12.json"
    assert export_target("video", frames) == tmp_path / "cases" / "case13_overlay.mp4"
    assert export_target("png", video, project, untitled=False) == tmp_path / "projects" / "case12_masks"
    assert export_target("png", video, project, untitled=True) == tmp_path / "cases" / "case12_masks"  # autosave folder
    assert work_folder(None) == Path.home() == work_folder(bundled_folder() / "sample.mp4")
    assert work_folder(tmp_path / "gone" / "v.mp4") == Path.home()
    assert with_suffix("coco", "/x/review") == Path("/x/review.json")
    assert with_suffix("video", "/x/review.v2") == Path("/x/review.v2.mp4")
    assert with_suffix("video", "/x/review.MP4") == Path("/x/review.MP4")
    assert with_suffix("png", "/x/dataset") == Path("/x/dataset")


def test_frames_are_numbered_from_0_as_in_exports_and_the_cli(qtbot, window):
    """Frame 2 in the window is 000002.png in an export and ``--start 2`` on the command line."""
    assert window.timeline.readout.text().startswith("frame 0 (0–3) · ")
    window.player.seek(2)
    assert window.timeline.readout.text().startswith("frame 2 (0–3) · ")
    seen = {}

    def respond(dialog):
        seen.update(text=dialog.labelText(), value=dialog.intValue(), low=dialog.intMinimum(), high=dialog.intMaximum())
        dialog.setIntValue(3)
        dialog.accept()

    answer(window.act.jump.trigger, respond)
    assert seen == {"text": "Frame (0–3):", "value": 2, "low": 0, "high": 3}
    assert window.player.current == 3
    window.player.seek(2)
    with qtbot.waitSignal(window.teaching.taught, timeout=TIMEOUT_MS):
        confirmed_mask(window, 2)
    with qtbot.waitSignal(window.teaching.head_updated, timeout=TIMEOUT_MS):
        window.teaching.unteach_last()
    assert window.statusBar().currentMessage().startswith("Un-taught frame 2 (vessel)")


def test_the_overlay_video_shows_proposed_masks_too_as_the_cli_does(qtbot, window, tmp_path):
    """``evosam export --format video`` draws confirmed and proposed masks; so does the window,
    and the dialog and the status bar say which masks went in."""
    for frame in (1, 2):
        window.controller.apply(frame, "vessel", FrameMask(blob_mask(frame)), "Propagation")  # proposed only
    titles = []

    def respond(dialog):
        titles.append(dialog.windowTitle())
        file_name_edit(dialog).setText(str(tmp_path / "review.mp4"))
        dialog.accept()

    with qtbot.waitSignal(window.exported, timeout=TIMEOUT_MS) as done:
        answer(window.act.export_video.trigger, respond)
    assert titles == ["Export overlay video (confirmed and proposed masks)"]
    assert (done.args[0].masks, done.args[0].frames) == (2, 4)
    assert "2 masks (confirmed and proposed)" in window.statusBar().currentMessage()
    assert window.act.export_video.statusTip().endswith("with the confirmed and proposed masks drawn on it")
    assert window.export("coco", tmp_path / "c.json") is None  # COCO takes confirmed masks only, as the CLI
    assert window.statusBar().currentMessage().startswith("No confirmed masks to export")


OPENERS = {
    "open video": lambda win: win.act.open.trigger(),
    "open frame folder": lambda win: win.act.open_folder.trigger(),
    "open project": lambda win: win.act.open_project.trigger(),
    "save project as": lambda win: win.act.save_as.trigger(),
    "load head": lambda win: win.learning_panel.buttons["load"].click(),
    "export dataset": lambda win: win.act.export.trigger(),
}


@pytest.mark.parametrize("which", list(OPENERS))
def test_file_dialogs_open_beside_the_video_with_readable_columns(qtbot, window, clip, which):
    from PySide6.QtWidgets import QFileDialog, QTreeView

    seen = {}

    def respond(dialog):
        tree = dialog.findChild(QTreeView, "treeView")
        seen.update(
            folder=Path(dialog.directory().absolutePath()),
            size=(dialog.width() >= 900, dialog.height() >= 560),
            detail=dialog.viewMode() == QFileDialog.ViewMode.Detail,
            name_column=tree.header().sectionSize(0) >= 360,
        )
        dialog.reject()

    confirmed_mask(window)  # something to export
    answer(lambda: OPENERS[which](window), respond)
    assert seen == {"folder": clip.parent, "size": (True, True), "detail": True, "name_column": True}
