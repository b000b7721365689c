"""The review run of ``scripts/review_run.sh`` in the window: after a propagation the view
stands on its last proposal, and the first N still shows the least sure proposal (it used to
continue the queue from that frame's rank: 'Review 44 of 80' on the 81-frame clip)."""

from __future__ import annotations

from gui_clip import blob_mask
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.review import proposal_confidences
from app.state import FrameMask, Status

TIMEOUT_MS = 60000
# frame -> predicted IoU of the proposals put on the synthetic clip: least sure 1, then 3, 2, 0
PROPOSALS = {0: 0.95, 1: 0.5, 2: 0.9, 3: 0.7}


def test_first_n_on_a_proposal_shows_the_least_sure(qtbot, window):
    for frame, iou in PROPOSALS.items():
        window.controller.apply(
            frame, window.label, FrameMask(blob_mask(frame), Status.PROPOSED, iou), "Propagate", "run"
        )
    window.player.seek(2)  # a proposal of rank 3 of 4, shown without N (where a propagation ended)
    seen = []
    for _ in range(4):
        QTest.keyClick(window, Qt.Key.Key_N)
        seen.append(window.player.current)
        if len(seen) == 1:
            assert window.statusBar().currentMessage().startswith("Review 1 of 4 (least sure first): frame 1,")
    assert seen == [1, 3, 2, 0]  # then N walks the queue in order


def test_first_n_after_a_propagation_shows_the_least_sure(qtbot, window):
    window.controller.apply(0, window.label, FrameMask(blob_mask(0), Status.CONFIRMED), "Confirm")
    window.player.seek(0)
    with qtbot.waitSignal(window.propagation_finished, timeout=TIMEOUT_MS):
        QTest.keyClick(window, Qt.Key.Key_P)
    conf = proposal_confidences(window.state, window.label)
    least = min(conf, key=lambda f: (conf[f], f))
    QTest.keyClick(window, Qt.Key.Key_N)
    assert window.player.current == least
    assert window.statusBar().currentMessage().startswith(f"Review 1 of {len(conf)} (least sure first)")
