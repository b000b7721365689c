"""The annotator's learner: one head per label, exact un-teaching and re-teaching from kept
samples, leave-out evidence and the gate it feeds, profiles, reset, save/load. Numerics of
the head: ``test_head.py``."""

import json

import cv2
import numpy as np
import pytest

from evosam.errors import InputError
from evosam.head import EvoHead
from evosam.head.evidence import BANK, LITE, SAM, SOLID, SPECK, Choice, LeaveOut, choose, solid_label, weighted_dice
from evosam.learning import SAM_ONLY, Learner, despeckled, teaching_box
from evosam.masks import dice
from tests.unit.test_head import SMALL, fake_frame


@pytest.fixture(scope="module")
def frames():
    return [fake_frame(s) for s in range(6)]


def teach(learner: Learner, key, item, label=None, video=None, index=None):
    frame, mask, pred = item
    return learner.teach(key, frame, pred, mask, teaching_box(mask), label, video, index)


def test_teach_then_untaught_is_exact_and_keys_replace(frames):
    learner = Learner("litemedsam", SMALL)
    reference = Learner("litemedsam", SMALL)
    for i, item in enumerate(frames[:3]):
        teach(learner, ("clip", i, "vessel"), item)
    for i in (0, 2):
        teach(reference, ("clip", i, "vessel"), frames[i])
    assert learner.untaught(("clip", 1, "vessel")) and not learner.untaught(("clip", 1, "vessel"))
    # the frame's statistics are recomputed from its kept samples: bit for bit what teaching added
    np.testing.assert_allclose(learner.head.total().G, reference.head.total().G, rtol=0, atol=1e-9)
    assert learner.taught_keys == [("clip", 0, "vessel"), ("clip", 2, "vessel")]
    record = teach(learner, ("clip", 0, "vessel"), frames[3])  # the user edited frame 0's confirmed mask
    assert record.replaced and learner.head.taught_frames == 2


def test_a_burst_taught_without_rescoring_reads_as_one_rescored_each_time(frames):
    """``teach(rescore=False)`` defers the leave-out scoring to the next reading: the
    report, the choices and the refiner then equal those of teaching every frame with it."""
    each, burst = Learner("litemedsam", SMALL), Learner("litemedsam", SMALL)
    for i, item in enumerate(frames):
        frame, mask, pred = item
        teach(each, ("clip", i, "vessel"), item, video="clip", index=4 * i)
        burst.teach(("clip", i, "vessel"), frame, pred, mask, teaching_box(mask), None, "clip", 4 * i, rescore=False)
    assert burst._stale == {burst.label}  # nothing scored yet
    assert burst.report() == each.report() and not burst._stale
    for where in ("near", "far", "other"):
        assert burst.choice(where=where) == each.choice(where=where)
    assert (burst.refiner("default", "clip") is None) == (each.refiner("default", "clip") is None)
    frame, mask, pred = frames[0]
    burst.teach(("clip", 40, "vessel"), frame, pred, mask, teaching_box(mask), None, "clip", 40, rescore=False)
    copy = Learner("litemedsam", SMALL)
    copy.adopt(burst)  # a snapshot taken mid-burst scores itself when read
    assert copy.report().curve == burst.report().curve


def test_a_videos_statistics_summed_from_its_blocks_equal_its_frames(frames):
    """Scored afresh (a project opened), a video's statistics are its blocks' sum: the same
    as its frames' within rounding."""
    learner = Learner("litemedsam", SMALL)
    for i, item in enumerate(frames):
        teach(learner, ("clip", 8 * i, "vessel"), item, video="clip", index=8 * i)  # blocks of 10 frames
    fresh = Learner("litemedsam", SMALL)
    fresh.adopt(learner)  # no cached groups
    video = fresh._video_stats("default", "clip")
    head = fresh.head_of("default")
    frames_sum = head.total()
    np.testing.assert_allclose(video.G, frames_sum.G, rtol=1e-12, atol=1e-9)
    assert video.frames == len(frames) and fresh.report() == learner.report()


def test_labels_learn_apart(frames):
    learner = Learner("litemedsam", SMALL)
    teach(learner, 0, frames[0], label="artery")
    teach(learner, 1, frames[1], label="artery")
    before = learner.head_of("gallbladder")
    assert before.taught_frames == 0
    teach(learner, 2, frames[2], label="gallbladder")
    assert learner.head_of("artery").taught_frames == 2 and learner.head_of("gallbladder").taught_frames == 1
    alone = Learner("litemedsam", SMALL)
    teach(alone, 0, frames[0], label="artery")
    teach(alone, 1, frames[1], label="artery")
    np.testing.assert_array_equal(learner.head_of("artery").total().G, alone.head_of("artery").total().G)
    learner.reset("gallbladder")
    assert set(learner.heads) == {"artery"} and learner.taught_keys == [0, 1]


def test_first_confirmation_keeps_sams_mask(frames):
    learner = Learner("litemedsam", SMALL)
    first = teach(learner, 0, frames[0])
    frame, mask, pred = frames[0]
    assert first.dice_sam == pytest.approx(dice(pred.mask, mask))
    assert first.dice_head == pytest.approx(first.dice_sam)  # nothing taught yet: SAM's mask
    # one frame: no frame can be scored as unseen, so proposals stay SAM's own
    assert learner.choice().proposer == SAM and learner.refiner() is None
    second = teach(learner, 1, frames[1])
    f1, m1, p1 = frames[1]
    assert second.dice_head == pytest.approx(dice(p1.mask, m1))  # the gate still chose SAM then
    assert second.taught_frames == 2 and second.teach_ms > 0


def test_leave_out_scores_are_the_head_that_never_saw_the_frame(frames):
    learner = Learner("litemedsam", SMALL)
    for i in range(3):
        teach(learner, i, frames[i], video="clip", index=100 * i)  # far apart: one block each
    curve = dict(learner.report().curve)
    other = Learner("litemedsam", SMALL)
    for i in (0, 2):
        teach(other, i, frames[i], video="clip", index=100 * i)
    ev = learner.evidence()[1].evidence
    head = other.head  # exactly the head without frame 1
    w, w_lin = head._solved(None)
    score = head.roi_scores(np.ascontiguousarray(ev.base.T), w, w_lin)
    assert curve[1].head == pytest.approx(weighted_dice(score > head.config.threshold, ev.target, ev.weight))
    assert curve[1].sam == pytest.approx(weighted_dice(ev.sam_logit > 0, ev.target, ev.weight))


def test_a_videos_own_frames_weigh_more_in_its_proposals_and_their_evidence(frames):
    # frames 0-2 of video a, 3-4 of video b (whose annotator drew the lines 2 px thicker), far apart
    thick = [(f, cv2.dilate(m.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0, p) for f, m, p in frames[3:5]]
    items = frames[:3] + thick
    learner = Learner("litemedsam", SMALL)
    for i in range(5):
        teach(learner, i, items[i], video="a" if i < 3 else "b", index=100 * i)
    stats = {i: learner.head.evidence_stats(learner.evidence()[i].evidence).stats for i in range(5)}
    # frame 1 scored as unseen: the head without it, with video a's other frames weighted
    without = Learner("litemedsam", SMALL)
    for i in (0, 2, 3, 4):
        teach(without, i, items[i], video="a" if i < 3 else "b", index=100 * i)
    ev = learner.evidence()[1].evidence

    def unseen_dice(head: EvoHead) -> float:
        score = head.roi_scores(np.ascontiguousarray(ev.base.T), *head._solved(None))
        return weighted_dice(score > head.config.threshold, ev.target, ev.weight)

    weighted = unseen_dice(without.head.for_video(stats[0] + stats[2]))
    assert dict(learner.report().curve)[1].head == pytest.approx(weighted)
    assert weighted > unseen_dice(without.head) + 0.1  # video a's own thin lines win over b's thick ones
    # a refiner for video a proposes with a's frames weighted; placed on another video it drops them
    refine = learner.refiner(video="a")
    assert refine is not None and learner.choice().uses_head
    assert refine.video_head is not None and refine.video_head.weights() is not None
    np.testing.assert_allclose(
        refine.video_head.weights(), learner.head.for_video(stats[0] + stats[1] + stats[2]).weights(), atol=1e-6
    )
    assert refine.on_video("a") is refine and refine.on_video("c").video_head is None
    frame, mask, pred = frames[5]
    box = teaching_box(mask)
    expected_mask = refine.video_head.propose(frame, pred, box, refine.choice_at(None), refine.profile)
    np.testing.assert_array_equal(refine(frame, pred, box), expected_mask)
    other = learner.refiner(video="c")  # a video with no taught frame: the head as it is
    assert other is not None and other.video_head is None


def test_neighbours_are_left_out_together(frames):
    learner = Learner("litemedsam", SMALL)
    teach(learner, 0, frames[0], video="clip", index=1)
    teach(learner, 1, frames[1], video="clip", index=2)  # the next frame: a near copy, no evidence
    assert all(s is not None and s.head is None for _, s in learner.report().curve)
    assert learner.choice().proposer == SAM and "unseen" in learner.choice().reason


def test_choose_needs_evidence_and_a_margin():
    assert choose([]).proposer == SAM
    better = [LeaveOut(0.5, 0.7, (0.6,)), LeaveOut(0.6, 0.8, (0.7,))]
    assert choose(better[:1]).proposer == SAM  # one frame is not enough
    chosen = choose(better)
    assert chosen.proposer == "head" and chosen.chosen_dice == pytest.approx(0.75) and chosen.frames == 2
    worse = [LeaveOut(0.7, 0.6, (0.65,)), LeaveOut(0.8, 0.805, (0.7,))]
    assert choose(worse).proposer == SAM
    assert weighted_dice(np.array([True, False]), np.array([True, True]), np.array([1.0, 3.0])) == pytest.approx(0.4)


def test_profiles_reset_save_load(frames, tmp_path):
    learner = Learner("litemedsam", SMALL)
    teach(learner, ("c", 0, "a"), frames[0], label="a", video="c", index=0)
    learner.set_profile("site B")
    teach(learner, ("c", 50, "a"), frames[1], label="a", video="c", index=50)
    teach(learner, ("c", 90, "b"), frames[2], label="b", video="c", index=90)
    assert {n: s.frames for n, s in learner.head_of("a").profiles.items()} == {"default": 1, "site B": 1}
    for name in ("all", "auto", "site B", SAM_ONLY):
        learner.set_predict_with(name)
    assert learner.choice("a").proposer == SAM and "SAM only" in learner.choice("a").reason
    learner.set_predict_with("all")
    with pytest.raises(InputError, match="unknown profile"):
        learner.set_predict_with("nowhere")
    with pytest.raises(InputError, match="reserved"):
        learner.set_profile("auto")
    path = tmp_path / "learner.npz"
    learner.save(path)
    report = learner.report("a")
    learner.reset()
    assert learner.head.taught_frames == 0 and learner.taught_keys == [] and learner.refiner("a") is None
    learner.load(path)
    assert learner.taught_keys == [("c", 0, "a"), ("c", 50, "a"), ("c", 90, "b")]
    assert learner.report("a") == report  # the curve and the choice come back
    assert learner.untaught(("c", 0, "a")) and learner.head_of("a").taught_frames == 1  # still exact per frame
    other = Learner("sam_vit_b", SMALL)
    with pytest.raises(InputError):
        other.load(path)


def test_a_single_head_file_goes_to_the_current_label(frames, tmp_path):
    head = EvoHead("litemedsam", SMALL)
    frame, mask, pred = frames[0]
    head = head.taught(head.frame_stats(frame, pred, mask, teaching_box(mask)))
    head.save(tmp_path / "head.npz")
    learner = Learner("litemedsam", SMALL)
    learner.set_label("vessel")
    learner.load(tmp_path / "head.npz")
    assert learner.head_of("vessel").taught_frames == 1 and learner.taught_keys == []
    assert learner.refiner("vessel") is not None


def test_empty_or_mismatched_masks_are_refused(frames):
    learner = Learner("litemedsam", SMALL)
    frame, mask, pred = frames[0]
    with pytest.raises(InputError, match="empty"):
        teaching_box(np.zeros_like(mask))
    with pytest.raises(InputError, match="does not match"):
        learner.teach(0, frame, pred, mask[:-1], teaching_box(mask))
    assert learner.head.taught_frames == 0


def test_near_and_far_proposers(frames):
    learner = Learner("litemedsam", SMALL)
    for i in range(3):
        teach(learner, i, frames[i], video="clip", index=i)  # three neighbours: one block
    report = learner.report()
    assert report.choice.proposer == SAM and report.choice.frames == 0  # nothing scored at a distance
    assert report.near.frames == 3  # each frame left out alone
    refine = learner.refiner(video="clip")
    if report.near.uses_head:  # next to the taught frames the head may propose, never far from them
        assert refine is not None and refine.choice_at(2) == report.near and refine.choice_at(40) == report.choice
        assert refine.choice_at(None) == report.choice
        frame, mask, pred = frames[3]
        np.testing.assert_array_equal(refine(frame, pred, teaching_box(mask), 40), pred.mask)
    else:
        assert refine is None


def test_solid_labels_propose_without_specks_vessel_trees_keep_them(frames, tmp_path):
    # a label is solid when its confirmed masks have (almost) nothing in specks
    assert solid_label([0.0, 0.0, 0.004]) and not solid_label([0.004, 0.003, 0.0])
    assert not solid_label([]) and not solid_label([float("nan")])
    head_choice = Choice("head", 1.0, 3, 0.5, 0.7, "the head beats SAM")
    assert despeckled(head_choice, True).despeckle == SPECK and despeckled(head_choice, False).despeckle == 0
    assert despeckled(Choice(), True).despeckle == 0  # SAM's own mask is never touched
    # the speck share is measured on each confirmed mask, kept and saved with its samples
    learner = Learner("litemedsam", SMALL)
    teach(learner, "solid", frames[0], label="a")
    frame, mask, pred = frames[1]
    dotted = np.zeros_like(mask)
    dotted[10:30, 10:40] = True
    dotted[1:3, 1:3] = dotted[-3:-1, -3:-1] = True  # two 4 px specks beside a 600 px blob
    learner.teach("dotted", frame, pred, dotted, teaching_box(dotted), "b")
    specks = {k: t.evidence.specks for k, t in learner.evidence().items()}
    assert specks["solid"] == 0.0 and specks["dotted"] == pytest.approx(8 / 608) and 8 / 608 > SOLID
    path = tmp_path / "learner.npz"
    learner.save(path)
    loaded = Learner("litemedsam", SMALL)
    loaded.load(path)
    assert {k: t.evidence.specks for k, t in loaded.evidence().items()} == specks
    # a file from before speck shares were kept opens, its shares unknown (specks are kept)
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    for entry in meta["taught"]:
        del entry["specks"]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez_compressed(path, **arrays)
    loaded.load(path)
    assert all(np.isnan(t.evidence.specks) for t in loaded.evidence().values())
    assert loaded.choice("a").despeckle == 0


def test_the_gate_removes_the_heads_specks_where_the_choice_says(frames):
    head = EvoHead("litemedsam", SMALL)
    frame, mask, pred = frames[0]
    head = head.taught(head.frame_stats(frame, pred, mask, teaching_box(mask)))
    blob = np.zeros_like(mask)
    blob[10:30, 10:40] = True  # 600 px: a 4 px piece is a speck
    prob = np.where(blob, 0.9, 0.1).astype(np.float32)
    prob[1:3, 1:3] = 0.9
    choice = Choice("head", 1.0, 3, 0.5, 0.7, "the head beats SAM")
    assert head.gated(prob, pred, choice)[1:3, 1:3].all()
    np.testing.assert_array_equal(head.gated(prob, pred, despeckled(choice, True)), blob)


def test_the_lite_view_learns_the_same_frames_without_the_bank(frames, tmp_path):
    """Each label's LITE view equals a head of the bank-free features taught the same frames
    (its channels are a subset of the kept samples'), un-teaches exactly and is saved; a file
    without it (written before it was kept) rebuilds it from the samples."""
    learner = Learner("litemedsam", SMALL)
    lite_config = SMALL.lite()
    alone = EvoHead("litemedsam", lite_config)
    for i, item in enumerate(frames[:3]):
        teach(learner, i, item, label="a", video="v", index=20 * i)
        frame, mask, pred = item
        alone = alone.taught(alone.frame_stats(frame, pred, mask, teaching_box(mask)))
    lite = learner.head_of("a", LITE)
    assert lite.config.features.n_base == SMALL.features.n_base - SMALL.features.n_bank * 2 + 3
    np.testing.assert_allclose(lite.total().G, alone.total().G, rtol=1e-6, atol=1e-6)
    assert all(s.lite is not None for _, s in learner.report("a").curve if s is not None and s.head is not None)
    path = tmp_path / "views.npz"
    learner.save(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if "_l" not in k or k.startswith("e")}
    meta = json.loads(bytes(arrays["meta"]).decode())
    for entry in meta["heads"]:
        entry["lite"] = []
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    older = tmp_path / "older.npz"
    np.savez(older, **arrays)
    for p in (path, older):
        loaded = Learner("litemedsam", SMALL)
        loaded.load(p)
        np.testing.assert_allclose(loaded.head_of("a", LITE).total().G, lite.total().G, rtol=1e-9, atol=1e-9)
        assert loaded.report("a") == learner.report("a")
    learner.untaught(1)
    learner.untaught(2)
    first = EvoHead("litemedsam", lite_config)
    frame, mask, pred = frames[0]
    first = first.taught(first.frame_stats(frame, pred, mask, teaching_box(mask)))
    np.testing.assert_allclose(learner.head_of("a", LITE).total().G, first.total().G, rtol=1e-6, atol=1e-6)
    learner.untaught(0)
    assert "a" not in learner.lite_heads


def test_choose_picks_the_view_with_the_better_evidence():
    bank_better = [LeaveOut(0.5, 0.8, (0.6,), 0.7, (0.6,)), LeaveOut(0.5, 0.8, (0.6,), 0.7, (0.6,))]
    lite_better = [LeaveOut(0.5, 0.7, (0.6,), 0.8, (0.6,)), LeaveOut(0.5, 0.7, (0.6,), 0.8, (0.6,))]
    assert choose(bank_better).view == BANK and "filter bank" not in choose(bank_better).reason
    chosen = choose(lite_better)
    assert chosen.view == LITE and chosen.proposer == "head" and chosen.chosen_dice == pytest.approx(0.8)
    assert "without the filter bank" in chosen.reason
    assert choose([LeaveOut(0.5, 0.7), LeaveOut(0.5, 0.7)]).view == BANK  # no LITE evidence: the BANK view
