"""The annotator's learner: teaching keyed confirmations, exact un-teaching and re-teaching,
prequential scores, profiles, reset, save/load. Numerics of the head: ``test_head.py``."""

import numpy as np
import pytest

from evosam.errors import InputError
from evosam.head import EvoHead
from evosam.learning import Learner, refiner, teaching_box
from evosam.masks import dice
from tests.unit.test_head import SMALL, fake_frame


@pytest.fixture(scope="module")
def frames():
    return [fake_frame(s) for s in range(4)]


def teach(learner: Learner, key, item):
    frame, mask, pred = item
    return learner.teach(key, frame, pred, mask, teaching_box(mask))


def head_stats(head: EvoHead) -> np.ndarray:
    return head.total().G


def test_teach_then_untaught_is_exact_and_keys_replace(frames):
    learner = Learner("litemedsam", SMALL)
    reference = Learner("litemedsam", SMALL)
    for i, item in enumerate(frames[:3]):
        teach(learner, ("clip", i, "vessel"), item)
    for i in (0, 2):
        teach(reference, ("clip", i, "vessel"), frames[i])
    assert learner.untaught(("clip", 1, "vessel")) and not learner.untaught(("clip", 1, "vessel"))
    np.testing.assert_allclose(head_stats(learner.head), head_stats(reference.head), rtol=0, atol=1e-9)
    assert learner.taught_keys == [("clip", 0, "vessel"), ("clip", 2, "vessel")]
    record = teach(learner, ("clip", 0, "vessel"), frames[3])  # the user edited frame 0's confirmed mask
    assert record.replaced and learner.head.taught_frames == 2


def test_records_are_prequential(frames):
    learner = Learner("litemedsam", SMALL)
    first = teach(learner, 0, frames[0])
    frame, mask, pred = frames[0]
    assert first.dice_sam == pytest.approx(dice(pred.mask, mask))
    assert first.dice_head == pytest.approx(first.dice_sam)  # nothing taught yet: the head answers SAM's mask
    head_before = learner.head
    second = teach(learner, 1, frames[1])
    frame, mask, pred = frames[1]
    expected = head_before.predict(frame, pred, teaching_box(mask))
    assert second.dice_head == pytest.approx(dice(expected, mask))  # measured before frame 1 was taught
    assert second.taught_frames == 2 and second.teach_ms > 0


def test_profiles_reset_save_load(frames, tmp_path):
    learner = Learner("litemedsam", SMALL)
    assert learner.refiner() is None
    teach(learner, 0, frames[0])
    learner.set_profile("site B")
    teach(learner, 1, frames[1])
    assert {n: s.frames for n, s in learner.head.profiles.items()} == {"default": 1, "site B": 1}
    for name in ("all", "auto", "site B"):
        learner.set_predict_with(name)
        assert learner.refiner() is not None
    with pytest.raises(InputError, match="unknown profile"):
        learner.set_predict_with("nowhere")
    with pytest.raises(InputError, match="reserved"):
        learner.set_profile("auto")
    path = tmp_path / "head.npz"
    learner.save(path)
    learner.reset()
    assert learner.head.taught_frames == 0 and learner.taught_keys == [] and learner.refiner() is None
    learner.load(path)
    assert learner.head.taught_frames == 2 and learner.taught_keys == []
    frame, mask, pred = frames[2]
    box = teaching_box(mask)
    expected = refiner(learner.head, "site B")(frame, pred, box)
    np.testing.assert_array_equal(learner.refiner()(frame, pred, box), expected)
    other = Learner("sam_vit_b", SMALL)
    with pytest.raises(InputError):
        other.load(path)


def test_empty_or_mismatched_masks_are_refused(frames):
    learner = Learner("litemedsam", SMALL)
    frame, mask, pred = frames[0]
    with pytest.raises(InputError, match="empty"):
        teaching_box(np.zeros_like(mask))
    with pytest.raises(InputError, match="does not match"):
        learner.teach(0, frame, pred, mask[:-1], teaching_box(mask))
    assert learner.head.taught_frames == 0
