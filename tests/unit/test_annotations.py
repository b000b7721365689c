"""evosam.annotations: records with provenance, packing, restoring a state (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from evosam.annotations import AnnotationState, FrameMask, Label, PackedMask, Status, provenance


def line_mask(size=(9, 13)) -> np.ndarray:
    m = np.zeros(size, bool)
    m[4, 1:12] = True  # a 1-pixel vessel along row y=4
    return m


def test_provenance_survives_status_changes_edits_and_packing():
    fm = FrameMask(line_mask(), Status.PROPOSED, 0.8, ("low_iou",), source=provenance("litemedsam", 3))
    assert fm.source == "litemedsam+head:3" and provenance("litemedsam") == "litemedsam"
    confirmed = fm.with_status(Status.CONFIRMED)
    assert confirmed.source == fm.source and confirmed.status == Status.CONFIRMED
    edited = confirmed.with_mask(~line_mask())
    assert edited.edited and edited.source == fm.source and edited.iou is None and edited.flags == ()
    packed = PackedMask.pack(edited)
    assert packed.source == fm.source and packed.unpack().source == fm.source
    assert np.array_equal(packed.unpack().mask, ~line_mask())
    assert (
        packed.with_status("rejected").status == Status.REJECTED and packed.with_status("rejected").data is packed.data
    )
    positional = FrameMask(line_mask(), Status.CONFIRMED, None, (), True)  # old positional calls still work
    assert positional.edited and positional.source == ""


def test_from_mask_and_restored_state():
    p = PackedMask.from_mask(line_mask(), Status.CONFIRMED, "user", edited=True)
    assert (p.status, p.source, p.edited, p.shape) == (Status.CONFIRMED, "user", True, (9, 13))
    labels = [Label("vessel", (1, 2, 3)), Label("nerve", [4, 5, 6])]
    state = AnnotationState.restored(3, (9, 13), labels, {(2, "nerve"): p})
    assert state.label("nerve").color == (4, 5, 6) and not state.can_undo
    assert state.snapshot() == {(2, "nerve"): p} and state.get(2, "nerve").source == "user"
    for bad in ({(3, "nerve"): p}, {(0, "artery"): p}, {(0, "vessel"): PackedMask.from_mask(np.ones((2, 2), bool))}):
        with pytest.raises(ValueError, match="does not fit the clip"):
            AnnotationState.restored(3, (9, 13), labels, bad)


@pytest.mark.parametrize("color", [(1, 2), (0, 0, 256), (0.5, 1, 2), "abc", None])
def test_label_colour_is_checked(color):
    with pytest.raises(ValueError, match="expected .r, g, b."):
        Label("vessel", color)


def test_app_state_reexports_the_engine_records():
    app_state = pytest.importorskip("app.state")
    assert app_state.FrameMask is FrameMask and app_state.AnnotationState is AnnotationState
