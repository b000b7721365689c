"""Counts of one read singular in the engine's lines: the Learning dock's reason (from
``evosam.head.evidence.choose``) and the line ``evosam export`` prints."""

from __future__ import annotations

from evosam.commands.export import wrote_line
from evosam.head.evidence import MIN_FRAMES, LeaveOut, choose


def test_choose_one_unseen_frame_is_singular() -> None:
    reason = choose([LeaveOut(sam=0.8, head=0.9)]).reason
    assert reason.startswith("1 frame scored as unseen") and f"(needs {MIN_FRAMES})" in reason


def test_choose_sam_as_good_counts_frames() -> None:
    two = choose([LeaveOut(sam=0.9, head=0.5), LeaveOut(sam=0.9, head=0.5)]).reason
    assert "on 2 unseen frames (SAM 0.90, with the head 0.50)" in two
    assert "SAM alone" not in two  # the dock already names the proposer: "Proposes with SAM alone: ..."


def test_choose_head_beats_sam_counts_frames() -> None:
    two = choose([LeaveOut(sam=0.5, head=0.9), LeaveOut(sam=0.5, head=0.9)]).reason
    assert "beats SAM on 2 unseen frames (" in two


def test_export_line_singular_and_plural() -> None:
    assert wrote_line("out.json", 1) == "out.json: wrote 1 mask"
    assert wrote_line("out.json", 0) == "out.json: wrote 0 masks"
    assert wrote_line("out", 3, 1) == "out: wrote 3 masks, 1 frame"
    assert wrote_line("out", 1, 2) == "out: wrote 1 mask, 2 frames"
