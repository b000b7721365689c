"""The EvoSAM head: exact joint equivalence, exact un-teaching, persistence, refusal of
foreign state, SAM passthrough before teaching, and learning on a real retinal crop."""

import numpy as np
import pytest

from evosam.errors import InputError
from evosam.head import EvoHead, FeatureConfig, HeadConfig, Stats, load_head, save_head, solve
from evosam.head.persist import HEAD_SCHEMA_VERSION
from evosam.masks import dice, prompt_box
from evosam.models import Prediction

SMALL = HeadConfig(features=FeatureConfig(expansion=64), samples_per_class=200)


def fake_frame(seed: int, h: int = 40, w: int = 48):
    """A frame with dark lines, its mask, and a SAM-like prediction with random decoder features."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(150, 220, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), bool)
    mask[rng.integers(5, h - 5), :] = True
    mask[:, rng.integers(5, w - 5)] = True
    frame[mask] = (90, 20, 30)
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


def stats_of(head: EvoHead, frames, profiles):
    return [
        head.frame_stats(f, p, m, (0, 0, f.shape[1] - 1, f.shape[0] - 1), profile=name)
        for (f, m, p), name in zip(frames, profiles, strict=True)
    ]


def test_sequential_equals_joint_training_in_any_order(frames):
    head = EvoHead("litemedsam", SMALL)
    items = stats_of(head, frames, ["retina", "retina", "chole", "chole", "retina"])
    # joint training: ridge on all samples at once, one matrix product over the stacked data
    rng_items = [it.stats for it in items]
    joint = Stats(
        sum(s.G for s in rng_items),
        sum(s.c for s in rng_items),
        sum(s.mean_sum for s in rng_items),
        5,
        sum(s.pixels for s in rng_items),
    )
    w_joint = solve(joint, SMALL.ridge)
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        w = teach_all(EvoHead("litemedsam", SMALL), [items[i] for i in order]).weights("all")
        np.testing.assert_allclose(w, w_joint, rtol=1e-6, atol=1e-6)
    assert teach_all(EvoHead("litemedsam", SMALL), items).taught_frames == 5


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
    np.testing.assert_allclose(solve(summed, 1e-3), solve(stacked, 1e-3), rtol=1e-9)


def test_unteaching_removes_a_frame_exactly(frames):
    head = EvoHead("litemedsam", SMALL)
    a, b, c = stats_of(head, frames[:3], ["default"] * 3)
    with_b = teach_all(head, [a, b, c]).untaught(b)
    without_b = teach_all(head, [a, c])
    np.testing.assert_allclose(with_b.weights(), without_b.weights(), rtol=1e-6, atol=1e-6)
    assert with_b.taught_frames == 2
    assert teach_all(head, [a]).untaught(a).taught_frames == 0


def test_untaught_head_returns_sams_mask_exactly(frames):
    frame, mask, pred = frames[0]
    out = EvoHead("litemedsam", SMALL).predict(frame, pred, (0, 0, 47, 39))
    np.testing.assert_array_equal(out, pred.mask)


def test_head_learns_the_lines(frames):
    head = EvoHead("litemedsam", SMALL)
    head = teach_all(head, stats_of(head, frames[:4], ["default"] * 4))
    frame, mask, pred = frames[4]
    got = head.predict(frame, pred, (0, 0, 47, 39))
    assert dice(got, mask) > 0.9 > dice(pred.mask, mask)


def test_profiles_all_and_auto(frames):
    head = EvoHead("litemedsam", SMALL)
    head = teach_all(head, stats_of(head, frames[:4], ["a", "a", "b", "b"]))
    assert set(head.profiles) == {"a", "b"}
    frame, mask, pred = frames[4]
    for profile in ("a", "b", "all", "auto", None):
        assert head.predict(frame, pred, (0, 0, 47, 39), profile=profile).shape == mask.shape
    with pytest.raises(InputError, match="unknown profile"):
        head.predict(frame, pred, (0, 0, 47, 39), profile="zzz")


def test_save_load_round_trip_and_refusals(tmp_path, frames):
    head = EvoHead("litemedsam", SMALL)
    head = teach_all(head, stats_of(head, frames[:3], ["a", "b", "a"]))
    path = tmp_path / "head.npz"
    save_head(head, path)
    back = load_head(path, "litemedsam")
    assert list(back.profiles) == ["a", "b"] and back.taught_frames == 3
    np.testing.assert_array_equal(back.weights("all"), head.weights("all"))
    with pytest.raises(InputError, match="built for model 'litemedsam', not 'sam_vit_b'"):
        load_head(path, "sam_vit_b")
    with pytest.raises(InputError, match="another feature set"):
        load_head(path, "litemedsam", FeatureConfig(expansion=128))
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(path.read_bytes()[:300])
    with pytest.raises(InputError, match="corrupt.npz: not a readable head state"):
        load_head(corrupt, "litemedsam")
    with pytest.raises(InputError, match="not found"):
        load_head(tmp_path / "missing.npz", "litemedsam")


def test_future_schema_is_refused(tmp_path):
    import json

    meta = {"schema_version": HEAD_SCHEMA_VERSION + 1, "model_name": "litemedsam"}
    np.savez(tmp_path / "future.npz", meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    with pytest.raises(InputError, match="newer than this EvoSAM"):
        load_head(tmp_path / "future.npz", "litemedsam")


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
    head = head.taught(head.frame_stats(img, pred, mask, box))
    sam_dice = dice(pred2.mask, mask2)
    head_dice = dice(head.predict(img2, pred2, box2), mask2)
    assert head_dice > max(0.6, sam_dice + 0.2), (sam_dice, head_dice)
