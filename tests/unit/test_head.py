"""The EvoSAM head: exact joint equivalence, exact un-teaching, SAM passthrough, profiles,
and learning on a real retinal crop. Persistence: ``test_head_persist.py``."""

from dataclasses import replace

import numpy as np
import pytest

from evosam.errors import InputError
from evosam.head import EvoHead, FeatureConfig, FrameStats, HeadConfig, Stats, solve
from evosam.masks import dice, prompt_box
from evosam.models import Prediction

SMALL = HeadConfig(features=FeatureConfig(expansion=64), samples=(200, 200, 200))
FULL_BOX = (0, 0, 47, 39)


def fake_frame(seed: int, h: int = 40, w: int = 48, colour=(90, 20, 30), background=(150, 220)):
    """RGB uint8 (h, w, 3) with a dark horizontal and vertical line, their mask bool (h, w),
    and a SAM-like prediction (noisy logit of the mask, random decoder features)."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(*background, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), bool)
    mask[rng.integers(5, h - 5), :] = True
    mask[:, rng.integers(5, w - 5)] = True
    frame[mask] = colour
    logits = np.where(mask, 2.0, -2.0).astype(np.float32) + rng.normal(0, 1, (h, w)).astype(np.float32)
    pred = Prediction(
        logits,
        0.9,
        np.zeros((256, 256), np.float32),
        rng.normal(0, 1, (32, 256, 256)).astype(np.float32),
        (213, 256),
        256,
    )
    return frame, mask, pred


@pytest.fixture(scope="module")
def frames():
    return [fake_frame(s) for s in range(5)]


def teach_all(head: EvoHead, items) -> EvoHead:
    for item in items:
        head = head.taught(item)
    return head


def stats_of(head: EvoHead, frames, profiles) -> list[FrameStats]:
    return [head.frame_stats(f, p, m, FULL_BOX, profile=name) for (f, m, p), name in zip(frames, profiles, strict=True)]


def joint_ridge(head: EvoHead, parts) -> np.ndarray:
    """Joint training, written independently: one weighted ridge on every frame's samples
    (z, y, w) stacked, solved with numpy's general solver (not Cholesky, not accumulated
    statistics)."""
    z = np.concatenate([q[0] for q in parts]).astype(np.float64)
    y = np.concatenate([q[1] for q in parts])
    w = np.concatenate([q[2] for q in parts])
    g = z.T @ (z * w[:, None])
    gamma = head.config.ridge * np.trace(g) / g.shape[0]
    return np.linalg.solve(g + gamma * np.eye(g.shape[0]), z.T @ (w * y))


def test_sequential_teaching_equals_joint_training_in_any_order(frames):
    head = EvoHead("litemedsam", SMALL)
    parts = [head.frame_samples(f, p, m, FULL_BOX) for f, m, p in frames]
    profiles = ["retina", "retina", "chole", "chole", "retina"]
    items = [FrameStats(name, Stats.from_samples(*q)) for name, q in zip(profiles, parts, strict=True)]
    w_joint = joint_ridge(head, parts)
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        taught = teach_all(EvoHead("litemedsam", SMALL), [items[i] for i in order])
        np.testing.assert_allclose(solve(taught.total(), SMALL.ridge), w_joint, rtol=1e-6, atol=1e-6)
        assert taught.taught_frames == 5
    # tasks learned one after another, then predicted with all profiles: the joint solution
    by_task = teach_all(EvoHead("litemedsam", SMALL), items[2:4] + items[:2] + items[4:])
    np.testing.assert_allclose(by_task.weights("all"), w_joint, rtol=1e-5, atol=1e-5)  # float32 weights


def test_a_videos_own_frames_count_video_weight_times(frames):
    head = EvoHead("litemedsam", SMALL)
    parts = [head.frame_samples(f, p, m, FULL_BOX) for f, m, p in frames]
    items = [FrameStats("default", Stats.from_samples(*q)) for q in parts]
    taught = teach_all(head, items)
    own = items[0].stats + items[1].stats  # frames 0 and 1 are of the video proposed on
    weight = SMALL.video_weight
    assert weight > 1
    weighted = [(z, y, w * (weight if i < 2 else 1.0)) for i, (z, y, w) in enumerate(parts)]
    on_video = taught.for_video(own)
    np.testing.assert_allclose(on_video.weights("all"), joint_ridge(head, weighted), rtol=1e-5, atol=1e-5)
    assert not np.allclose(on_video.weights("all"), taught.weights("all"), atol=1e-4)
    assert on_video.profiles == taught.profiles and on_video.total().frames == 5  # the head itself is unchanged
    # every frame of one video (a clip): the ridge scales with G, so the solution is the head's
    np.testing.assert_allclose(taught.for_video(taught.total()).weights("all"), taught.weights("all"), atol=1e-5)
    assert taught.for_video(None) is taught
    plain = teach_all(EvoHead("litemedsam", replace(SMALL, video_weight=1.0)), items)
    assert plain.for_video(own) is plain


def test_stats_from_stacked_samples_equal_sum_of_frames():
    rng = np.random.default_rng(0)
    zs = [rng.normal(size=(50, 7)) for _ in range(3)]
    ys = [rng.integers(0, 2, 50).astype(float) for _ in range(3)]
    ws = [rng.uniform(0.5, 2, 50) for _ in range(3)]
    summed = Stats.zeros(7)
    for z, y, w in zip(zs, ys, ws, strict=True):
        summed = summed + Stats.from_samples(z, y, w)
    stacked = Stats.from_samples(np.concatenate(zs), np.concatenate(ys), np.concatenate(ws))
    np.testing.assert_allclose(summed.G, stacked.G, rtol=1e-12)
    np.testing.assert_allclose(summed.c, stacked.c, rtol=1e-12)
    np.testing.assert_allclose(solve(summed, 1e-3), solve(stacked, 1e-3), rtol=1e-9)


def test_unteaching_removes_a_frame_exactly(frames):
    head = EvoHead("litemedsam", SMALL)
    a, b, c = stats_of(head, frames[:3], ["default"] * 3)
    with_b = teach_all(head, [a, b, c]).untaught(b)
    without_b = teach_all(head, [a, c])
    np.testing.assert_allclose(with_b.total().G, without_b.total().G, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(solve(with_b.total(), SMALL.ridge), solve(without_b.total(), SMALL.ridge), atol=1e-6)
    assert with_b.taught_frames == 2
    # the same frame recomputed gives the same statistics (the GUI keeps them anyway)
    frame, mask, pred = frames[1]
    again = head.frame_stats(frame, pred, mask, FULL_BOX)
    np.testing.assert_allclose(again.stats.G, b.stats.G, rtol=1e-6, atol=1e-9)
    empty = teach_all(head, [a]).untaught(a)
    assert empty.taught_frames == 0 and not empty.profiles
    with pytest.raises(InputError, match="nothing to un-teach"):
        head.untaught(a)


def test_untaught_head_returns_sams_mask_exactly(frames):
    frame, mask, pred = frames[0]
    head = EvoHead("litemedsam", SMALL)
    np.testing.assert_array_equal(head.predict(frame, pred, FULL_BOX), pred.mask)
    np.testing.assert_array_equal(head.predict(frame, pred, (10, 10, 30, 25), profile="auto"), pred.mask)
    assert head.weights() is None


def test_head_learns_the_lines_and_keeps_sam_outside_the_box(frames):
    head = EvoHead("litemedsam", SMALL)
    head = teach_all(head, stats_of(head, frames[:4], ["default"] * 4))
    frame, mask, pred = frames[4]
    got = head.predict(frame, pred, FULL_BOX)
    assert dice(got, mask) > 0.9 > dice(pred.mask, mask)
    box = (10, 8, 30, 25)  # the ROI is this box grown by 5 % per side: x 9..32, y 7..27
    part = head.predict(frame, pred, box)
    outside = np.ones_like(mask)
    outside[7:28, 9:33] = False
    np.testing.assert_array_equal(part[outside], pred.mask[outside])
    # features computed once can be reused for the same frame and box
    feats = head.roi_features(frame, pred, box)
    np.testing.assert_array_equal(head.predict(frame, pred, box, features=feats), part)


def test_chunked_scores_equal_the_materialised_expansion(frames):
    """``scores`` (torch, chunked, never materialising the expansion) against numpy's ``expand``."""
    head = EvoHead("litemedsam", HeadConfig(features=FeatureConfig(expansion=300)))
    frame, _, pred = frames[0]
    channels = head.roi_features(frame, pred, FULL_BOX).channels  # (n_base, 40 * 48)
    weights = np.random.default_rng(1).normal(0, 0.1, (head.config.features.dim, 2)).astype(np.float32)
    want = head.extractor.expand(channels.T).astype(np.float64) @ weights
    got = head.extractor.scores(channels, weights, chunk=700)  # chunks of unequal length
    assert got.shape == want.shape == (channels.shape[1], 2)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_the_gate_changes_almost_nothing(frames):
    items = stats_of(EvoHead("litemedsam", SMALL), frames[:4], ["default"] * 4)
    gated = teach_all(EvoHead("litemedsam", SMALL), items)
    ungated = teach_all(EvoHead("litemedsam", replace(SMALL, gate=None)), items)
    frame, _, pred = frames[4]
    a, b = gated.predict(frame, pred, FULL_BOX), ungated.predict(frame, pred, FULL_BOX)
    assert (a != b).mean() < 0.01


def test_profiles_all_and_auto():
    retina = [fake_frame(s) for s in range(3)]
    chole = [fake_frame(10 + s, colour=(200, 230, 240), background=(20, 80)) for s in range(3)]
    head = EvoHead("litemedsam", SMALL)
    head = teach_all(head, stats_of(head, retina[:2] + chole[:2], ["retina", "retina", "chole", "chole"]))
    assert set(head.profiles) == {"retina", "chole"}
    for frame, _, pred in (retina[2], chole[2]):
        for profile in ("retina", "chole", "all", "auto", None):
            assert head.predict(frame, pred, FULL_BOX, profile=profile).shape == frame.shape[:2]
    assert head.pick_profile(head.roi_features(*retina[2][::2], FULL_BOX).channels) == "retina"
    assert head.pick_profile(head.roi_features(*chole[2][::2], FULL_BOX).channels) == "chole"
    with pytest.raises(InputError, match="unknown profile"):
        head.predict(*retina[2][::2], FULL_BOX, profile="zzz")


def test_teaching_validates_its_inputs(frames):
    frame, mask, pred = frames[0]
    head = EvoHead("litemedsam", SMALL)
    with pytest.raises(InputError, match="does not match the frame"):
        head.frame_stats(frame, pred, mask[:-1], FULL_BOX)
    other = EvoHead("litemedsam", HeadConfig(FeatureConfig(expansion=32)))
    with pytest.raises(InputError, match="do not fit this head"):
        head.taught(other.frame_stats(frame, pred, mask, FULL_BOX))


def test_real_litemedsam_on_retinal_crops(litemedsam):
    from evosam.imageio import read_mask, read_rgb
    from tests.conftest import shared_data

    root = shared_data("drive_train")
    crops = []
    for stem in ("21", "22"):
        img = read_rgb(root / "images" / f"{stem}.png")[200:392, 200:392]
        mask = read_mask(root / "masks" / f"{stem}.png")[200:392, 200:392]
        box = prompt_box(mask)
        crops.append((img, mask, litemedsam.predict(litemedsam.embed(img), box=box), box))
    head = EvoHead("litemedsam")
    (img, mask, pred, box), (img2, mask2, pred2, box2) = crops
    np.testing.assert_array_equal(head.predict(img2, pred2, box2), pred2.mask)  # untaught: SAM
    head = head.taught(head.frame_stats(img, pred, mask, box))
    sam_dice = dice(pred2.mask, mask2)
    head_dice = dice(head.predict(img2, pred2, box2), mask2)
    assert head_dice > max(0.6, sam_dice + 0.2), (sam_dice, head_dice)


def test_stratified_sample_estimates_the_whole_roi():
    from evosam.head.head import stratified_sample

    mask = np.zeros((60, 80), bool)
    mask[30, 5:75] = True
    idx, w = stratified_sample(mask, (20, 20, 20), 2, np.random.default_rng(0))
    assert len(idx) == 60 and len(set(idx.tolist())) == 60
    # the weighted sample's foreground fraction is the ROI's, though a third of it is foreground
    flat = mask.ravel()
    assert abs(np.sum(w * flat[idx]) / np.sum(w) - flat.mean()) < 1e-12
    assert abs(w.sum() - 60) < 1e-9
    # near background lies within 2 pixels of the line
    rows = idx // 80
    assert np.sum(np.abs(rows - 30)[~flat[idx]] <= 2) >= 20
