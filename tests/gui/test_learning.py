"""Confirmations teach their label's head in the background; the gate keeps SAM's mask until
the head does better on unseen frames; one label's teaching leaves another's proposals alone;
the dock shows the current label's leave-out curve and proposer; SAM only; un-teach, reset,
save, load."""

from __future__ import annotations

from html import escape

import numpy as np
import pytest
from gui_clip import FRAMES, TickGaps, blob_mask, write_clip

from app.prompts import DRAFT_MESSAGE
from app.state import FrameMask, Status

TIMEOUT_MS = 60000
BOUND_S = 0.25  # generous for two shared CPU cores; the product target is 0.05
BOX = (50.0, 45.0, 150.0, 115.0)  # around the blob of frames 0..3


def confirm_truth(qtbot, win, frame: int):
    """Put the true blob on ``frame`` as a confirmed mask of the current label and wait until it is taught."""
    win.player.seek(frame)
    with qtbot.waitSignal(win.teaching.taught, timeout=TIMEOUT_MS) as taught:
        win.controller.apply(frame, win.label, FrameMask(blob_mask(frame), Status.CONFIRMED), "Confirm")
    return taught.args[0]


def wait_head(qtbot, win, trigger):
    with qtbot.waitSignal(win.teaching.head_updated, timeout=TIMEOUT_MS) as updated:
        trigger()
    return updated.args[0]


def box_on(qtbot, win, frame: int, box=BOX) -> np.ndarray:
    """The current label's proposal for ``box`` on ``frame``."""
    win.player.seek(frame)
    with qtbot.waitSignal(win.annotation_changed, timeout=TIMEOUT_MS):
        win.prompt_box(box)
    return win.current_mask().mask


def sam_mask(model, win, frame: int, box=BOX):
    """SAM's own prediction for ``box`` on ``frame``, from the embedding the window cached
    (``model``: the window's; the test thread calls it while the window waits for nothing)."""
    c = win.controller
    embedding = c.cache.get((c.model_name, win.source.fingerprint(), frame))
    assert embedding is not None, f"frame {frame} was not embedded"
    return model.predict(embedding, box=box)


def curve_xy(curve) -> tuple[list[float], list[float]]:
    """A plotted curve's points (pyqtgraph gives None for an empty one)."""
    xs, ys = curve.getData()
    return ([], []) if xs is None else (list(xs), list(ys))


def force_head(qtbot, win, tmp_path):
    """Make the current label propose with its head, ungated: save the label's head alone
    (a bare EvoHead file) and load it back (a head loaded without its frames is used as is)."""
    path = tmp_path / f"bare-{win.label}.npz"
    win.teaching.latest.learner.head_of(win.label).save(path)
    update = wait_head(qtbot, win, lambda: win.teaching.load(path))
    assert win.label in update.refiners
    return update


def test_confirm_teaches_its_label_and_the_gate_keeps_sams_mask(qtbot, window, litemedsam):
    teaching = window.teaching
    assert teaching.refiner_for("vessel") is None  # untaught: proposals are SAM's own
    record = confirm_truth(qtbot, window, 0)
    assert record.key == (teaching.video, 0, "vessel") and record.label == "vessel" and record.taught_frames == 1
    assert 0.0 <= record.dice_sam <= 1.0 and record.dice_head == pytest.approx(record.dice_sam)
    second = confirm_truth(qtbot, window, 1)
    assert second.taught_frames == 2
    # frames 0 and 1 are neighbours in time: neither is scored as unseen, so SAM's mask stays
    report = teaching.report("vessel")
    assert [k for k, _ in report.curve] == [(teaching.video, f, "vessel") for f in (0, 1)]
    assert all(s is not None and s.head is None for _, s in report.curve)
    assert report.choice.proposer == "sam" and teaching.refiner_for("vessel") is None
    text = window.learning_panel.summary.text()
    assert "2 frames taught" in text and escape(report.choice.reason) in text and "SAM alone" in text
    assert "Confirm masks" not in text
    panel = window.learning_panel
    assert curve_xy(panel.head_curve)[0] == [] and curve_xy(panel.sam_curve)[0] == [1, 2]
    mask = box_on(qtbot, window, 2)
    assert np.array_equal(mask, sam_mask(litemedsam, window, 2).mask)
    assert window.current_mask().source == "litemedsam"  # SAM's proposal, not the head's
    qtbot.waitUntil(window.controller.idle, timeout=TIMEOUT_MS)  # every job, teaching too, is seen to finish
    assert window.job_status.text.text() == ""


def test_one_frame_taught_reads_in_the_singular(qtbot, window):
    confirm_truth(qtbot, window, 0)
    text = window.learning_panel.summary.text()
    assert "1 frame taught" in text and "1 frames" not in text


def test_box_answer_shows_sams_mask_while_the_head_refines(qtbot, window, litemedsam, tmp_path):
    """With a head in use, a box is answered in two steps: SAM's mask on screen at once (the
    state untouched), then the head's refinement as the proposal."""
    confirm_truth(qtbot, window, 0)
    force_head(qtbot, window, tmp_path)
    window.player.seek(2)
    seen = []  # (draft, the state's mask then, the overlay outline then, the status bar then)
    canvas, status = window.canvas, window.statusBar()
    window.draft_shown.connect(
        lambda res: seen.append((res, window.current_mask(), canvas.outline(), status.currentMessage()))
    )
    mask = box_on(qtbot, window, 2)
    assert len(seen) == 1
    draft, state_then, outline, said = seen[0]
    sam = sam_mask(litemedsam, window, 2)
    assert np.array_equal(draft.mask, sam.mask) and draft.frame == 2 and draft.box == BOX
    assert state_then is None and not outline.isEmpty()  # shown, not yet applied
    assert said == DRAFT_MESSAGE and status.currentMessage() != DRAFT_MESSAGE  # cleared once refined
    assert np.array_equal(mask, window.teaching.refiner_for("vessel")(window.source.frame(2), sam, BOX, 2))
    assert window.current_mask().source == "litemedsam+head:1"


def test_teaching_one_label_leaves_another_labels_proposals_unchanged(qtbot, window, litemedsam, tmp_path):
    window.controller.add_label("vein")
    assert window.label == "vein"
    before = box_on(qtbot, window, 2)  # vein's proposal before anything is taught
    window.controller.select_label("vessel")
    confirm_truth(qtbot, window, 0)
    confirm_truth(qtbot, window, 1)
    assert window.teaching.refiner_for("vein") is None
    force_head(qtbot, window, tmp_path)  # vessel now proposes with its head
    vessel_head = window.teaching.refiner_for("vessel").head
    window.controller.select_label("vein")
    drafts = []
    window.draft_shown.connect(drafts.append)
    after = box_on(qtbot, window, 2)
    assert np.array_equal(after, before) and np.array_equal(after, sam_mask(litemedsam, window, 2).mask) and not drafts
    assert window.current_mask().source == "litemedsam"
    record = confirm_truth(qtbot, window, 3)  # teaching vein leaves vessel's head as it was
    assert record.label == "vein" and window.teaching.refiner_for("vessel").head is vessel_head
    assert window.teaching.report("vein").taught_frames == 1 and window.teaching.report("vessel").taught_frames == 2


def test_dock_shows_the_current_labels_report_and_sam_only(qtbot, window_on, litemedsam, tmp_path):
    """On a clip long enough for frames apart in time, each confirmation is scored as unseen
    by the head taught on the other: the dock draws both curves from the leave-out report."""
    win = window_on(write_clip(tmp_path / "long", 12))
    panel, teaching = win.learning_panel, win.teaching
    confirm_truth(qtbot, win, 0)
    confirm_truth(qtbot, win, 11)
    report = teaching.report("vessel")
    assert len(report.curve) == 2 and all(s is not None and s.head is not None for _, s in report.curve)
    xs, ys = curve_xy(panel.head_curve)
    assert xs == [1, 2] and ys == pytest.approx([s.head for _, s in report.curve])
    assert curve_xy(panel.sam_curve)[1] == pytest.approx([s.sam for _, s in report.curve])
    text = panel.summary.text()
    assert "<b>vessel</b>: 2 frames taught" in text and escape(report.choice.reason) in text
    assert "On 2 unseen frames" in text and "Confirm masks" not in text
    win.controller.add_label("vein")  # another label: its own, empty report
    assert panel.report.label == "vein" and "Confirm masks (Enter)" in panel.summary.text()
    assert curve_xy(panel.sam_curve)[0] == [] and not panel.buttons["unteach"].isEnabled()
    win.controller.select_label("vessel")
    assert panel.report == report
    force_head(qtbot, win, tmp_path)
    assert [panel.predict_with.itemData(i) for i in range(3)] == ["all", "auto", "sam"]
    update = wait_head(qtbot, win, lambda: panel.predict_with_selected.emit("sam"))
    assert update.predict_with == "sam" and update.refiners == {} and teaching.refiner_for("vessel") is None
    assert panel.predict_with.currentData() == "sam" and "SAM only" in panel.summary.text()
    assert np.array_equal(
        box_on(qtbot, win, 5, (70.0, 45.0, 170.0, 115.0)), sam_mask(litemedsam, win, 5, (70.0, 45.0, 170.0, 115.0)).mask
    )
    update = wait_head(qtbot, win, lambda: teaching.set_profiles(predict_with="all"))
    assert "vessel" in update.refiners  # the head kept learning: it is back


def test_undo_and_reject_unteach_exactly(qtbot, window):
    confirm_truth(qtbot, window, 0)
    confirm_truth(qtbot, window, 1)
    update = wait_head(qtbot, window, window.undo)  # un-confirms frame 1
    assert update.taught_frames == 1 and window.state.entry(1, "vessel") is None
    window.player.seek(0)
    update = wait_head(qtbot, window, window.reject)
    assert update.taught_frames == 0 and update.refiners == {} and not update.taught
    with qtbot.waitSignal(window.teaching.taught, timeout=TIMEOUT_MS):
        window.undo()  # confirmed again: taught again
    assert window.learning_panel.taught == 1


def test_unteach_last_reset_save_load(qtbot, window, tmp_path):
    confirm_truth(qtbot, window, 0)
    confirm_truth(qtbot, window, 1)
    keys = window.teaching.taught_keys
    path = tmp_path / "head.npz"
    wait_head(qtbot, window, lambda: window.teaching.save(path))
    assert path.is_file()
    update = wait_head(qtbot, window, window.teaching.unteach_last)
    assert update.taught_frames == 1 and window.state.entry(1, "vessel").status == Status.CONFIRMED
    assert wait_head(qtbot, window, window.teaching.reset).taught_frames == 0
    assert window.learning_panel.report.curve == []
    update = wait_head(qtbot, window, lambda: window.teaching.load(path))
    assert update.taught_frames == 2 and update.taught == keys  # every frame back, each can be un-taught
    assert len(window.learning_panel.report.curve) == 2


def test_profiles(qtbot, window):
    wait_head(qtbot, window, lambda: window.teaching.set_profiles(teach_into="site B"))
    record = confirm_truth(qtbot, window, 0)
    assert record.profile == "site B"
    panel = window.learning_panel
    assert panel.teach_into.currentText() == "site B"
    assert [panel.predict_with.itemData(i) for i in range(panel.predict_with.count())] == [
        "all",
        "auto",
        "sam",
        "site B",
    ]


def test_bad_head_file_is_a_message(qtbot, window, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a head")
    window.teaching.load(bad)
    qtbot.waitUntil(lambda: "bad.npz" in window.statusBar().currentMessage(), timeout=TIMEOUT_MS)


@pytest.mark.fresh_embeddings
def test_event_loop_gap_while_teaching(qtbot, window, record_property):
    with TickGaps() as ticks:
        for frame in range(FRAMES):
            confirm_truth(qtbot, window, frame)
    record_property("max_event_loop_gap_ms_teaching", round(ticks.worst * 1000, 1))
    print(f"\nevent loop while teaching {FRAMES} frames: longest gap {ticks.worst * 1000:.1f} ms")
    assert ticks.worst < BOUND_S
