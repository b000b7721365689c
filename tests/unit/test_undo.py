"""The engine's annotation state (``evosam.annotations``): packing, undo/redo and merged steps, checks."""

from __future__ import annotations

import numpy as np
import pytest

from evosam.annotations import AnnotationState, FrameMask, PackedMask, Status


def square(size=(20, 30), x0=5, y0=4, side=6) -> np.ndarray:
    m = np.zeros(size, bool)
    m[y0 : y0 + side, x0 : x0 + side] = True
    return m


def test_frame_mask_is_read_only_and_packs_losslessly():
    fm = FrameMask(square(), Status.CONFIRMED, 0.9, ("low_iou",))
    with pytest.raises(ValueError):
        fm.mask[0, 0] = True
    back = PackedMask.pack(fm).unpack()
    assert np.array_equal(back.mask, fm.mask) and (back.status, back.iou, back.flags) == (fm.status, 0.9, ("low_iou",))


def test_undo_redo_and_merged_steps():
    st = AnnotationState(5, (20, 30))
    st.apply(0, "vessel", FrameMask(square()), "box")
    st.apply(0, "vessel", st.get(0, "vessel").with_status(Status.CONFIRMED), "confirm")
    for f in (1, 2, 3):  # one propagation run = one undo step
        st.apply(f, "vessel", FrameMask(square(x0=5 + f)), "propagation", merge_key="run-1")
    assert sorted(st.entries("vessel")) == [0, 1, 2, 3]
    assert [c.key[0] for c in st.undo()] == [1, 2, 3]
    assert sorted(st.entries("vessel")) == [0]
    st.undo()
    assert st.get(0, "vessel").status == Status.PROPOSED
    st.redo()
    st.redo()
    assert np.array_equal(st.get(3, "vessel").mask, square(x0=8))
    st.undo()
    st.apply(4, "vessel", FrameMask(square()), "box")  # a new edit clears the redo stack
    assert not st.can_redo


def test_apply_checks_frame_label_and_shape():
    st = AnnotationState(2, (20, 30))
    with pytest.raises(ValueError):
        st.apply(2, "vessel", FrameMask(square()), "x")
    with pytest.raises(KeyError):
        st.apply(0, "nerve", FrameMask(square()), "x")
    with pytest.raises(ValueError):
        st.apply(0, "vessel", FrameMask(np.zeros((3, 3), bool)), "x")
    with pytest.raises(ValueError):
        st.add_label("vessel")


def test_state_keeps_masks_packed_and_unpacks_on_demand():
    st = AnnotationState(30, (20, 30))
    for f in range(30):
        st.apply(f, "vessel", FrameMask(square(x0=f % 20)), "propagation", merge_key="run")
    assert all(isinstance(e, PackedMask) for e in st.entries("vessel").values())
    assert np.array_equal(st.get(0, "vessel").mask, square(x0=0))  # long evicted from the unpacked few
    shown, bits = st.get(5, "vessel"), st.entry(5, "vessel").data
    st.apply(5, "vessel", shown.with_status(Status.CONFIRMED), "confirm")
    assert st.entry(5, "vessel").status == Status.CONFIRMED and st.entry(5, "vessel").data is bits  # not re-packed
    assert st.get(5, "vessel").mask is shown.mask  # the confirmed value is the one on screen, not re-unpacked
