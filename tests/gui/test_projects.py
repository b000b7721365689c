"""Projects in the window: autosave of untitled work, save as, reopen with masks, head and
place, recent files, a moved-away video refused with a message."""

from __future__ import annotations

import shutil

import numpy as np
from gui_clip import blob_mask

from app.projects import read_recent, untitled_path
from app.state import FrameMask, Status
from evosam.project import load_project

TIMEOUT_MS = 60000


def confirm(qtbot, win, frame: int) -> None:
    win.player.seek(frame)
    with qtbot.waitSignal(win.teaching.taught, timeout=TIMEOUT_MS):
        win._apply(frame, win.label, FrameMask(blob_mask(frame), Status.CONFIRMED), "Confirm")


def test_untitled_work_autosaves(qtbot, window):
    assert window.projects.untitled and window.projects.path == untitled_path(window.projects._ref)
    window._apply(1, "vessel", FrameMask(blob_mask(1)), "Brush")
    with qtbot.waitSignal(window.projects.saved, timeout=TIMEOUT_MS):
        window.projects.tick()
    saved = load_project(window.projects.path)
    assert np.array_equal(saved.masks[(1, "vessel")].unpack().mask, blob_mask(1))


def test_save_as_then_reopen_restores_masks_head_and_place(qtbot, window, tmp_path, clip):
    confirm(qtbot, window, 0)
    confirm(qtbot, window, 2)
    window.state.add_label("vein")
    window._apply(3, "vein", FrameMask(blob_mask(3)), "Brush")
    assert window.projects.save_as(tmp_path / "case12")
    path = tmp_path / "case12.evosam"
    assert (path / "project.json").is_file() and str(path) == read_recent()[0]
    head_frames = window.teaching.head.taught_frames
    window.player.seek(1)
    window._apply(1, "vessel", FrameMask(blob_mask(1)), "Brush")
    with qtbot.waitSignal(window.projects.opened, timeout=TIMEOUT_MS):
        window.projects.open(path)  # saves the change first, then reopens
    state = window.state
    assert state.entry(0, "vessel").status == Status.CONFIRMED and state.entry(1, "vessel") is not None
    assert [lab.name for lab in state.labels] == ["vessel", "vein"] and state.entry(3, "vein") is not None
    assert window.player.current == 1 and not state.can_undo
    assert window.timeline.bar.marks[0] == "confirmed"
    qtbot.waitUntil(lambda: window.teaching.head is not None and window.teaching._pending_head is None,
                    timeout=TIMEOUT_MS)
    assert window.teaching.head.taught_frames == head_frames == 2  # the project's head, not re-taught


def test_a_changed_video_is_refused_with_a_message(qtbot, window, tmp_path, clip):
    window._apply(0, "vessel", FrameMask(blob_mask(0)), "Brush")
    assert window.projects.save_as(tmp_path / "p")
    first = sorted(clip.iterdir())[0]
    shutil.copy(sorted(clip.iterdir())[1], first)  # the frames changed since
    clip_id = window._clip_id
    with qtbot.waitSignal(window.io_worker.job_finished, timeout=TIMEOUT_MS):
        window.projects.open(tmp_path / "p.evosam")
    assert "not the video this project annotates" in window.statusBar().currentMessage()
    assert window._clip_id == clip_id  # the open clip stays
