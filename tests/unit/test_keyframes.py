"""Keyframe embeddings (``evosam.tracking.keyframes``): the embedding warp on synthetic and
real translated frames, the keyframe decisions, and keyframe propagation against encoding
every frame on the first frames of the real laparoscopic clip (real LiteMedSAM)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from evosam.masks import dice
from evosam.models import Embedding
from evosam.models.cache import EmbeddingCache
from evosam.tracking import Prompt, propagate_video
from evosam.tracking.keyframes import KeyframeConfig, KeyframeEmbedder, carry_box, mean_motion, warp_embedding
from evosam.tracking.video import KEYFRAMES
from evosam.video import open_video
from tests.conftest import shared_data


def synthetic(frame_size=(256, 256), side=64, channels=8, seed=0) -> Embedding:
    """Random features over a LiteMedSAM-like grid (input side 256: 4 model pixels per cell)."""
    h, w = frame_size
    scale = 256 / max(h, w)
    features = torch.from_numpy(np.random.default_rng(seed).normal(size=(1, channels, side, side)).astype(np.float32))
    return Embedding(features, frame_size, (round(h * scale), round(w * scale)), "litemedsam")


def test_a_translation_by_whole_cells_moves_the_features_exactly():
    emb = synthetic()  # 256 x 256 frame: a cell is 4 frame pixels
    flow = np.zeros((50, 70, 2), np.float32)  # any grid covering the frame
    flow[..., 0], flow[..., 1] = 8.0, -4.0  # frame[y, x] ~ keyframe[y - 4, x + 8]: 2 cells right, 1 up
    carried = warp_embedding(emb, flow).features[0].numpy()
    key = emb.features[0].numpy()
    np.testing.assert_allclose(carried[:, 1:, :-2], key[:, :-1, 2:], atol=1e-5)
    np.testing.assert_allclose(carried[:, 0, :-2], key[:, 0, 2:], atol=1e-5)  # from outside: the nearest valid cell
    assert mean_motion(flow, emb) == pytest.approx(np.hypot(2, 1))


def test_padding_cells_keep_the_keyframes_values_and_zero_flow_changes_nothing():
    emb = synthetic(frame_size=(144, 256))  # 36 valid rows of cells, 28 padding rows
    flow = np.zeros((144, 256, 2), np.float32)
    np.testing.assert_allclose(warp_embedding(emb, flow).features.numpy(), emb.features.numpy(), atol=1e-5)
    flow[..., 1] = 20.0
    carried = warp_embedding(emb, flow).features.numpy()
    np.testing.assert_allclose(carried[..., 36:, :], emb.features.numpy()[..., 36:, :], atol=1e-5)
    assert not np.allclose(carried[..., :36, :], emb.features.numpy()[..., :36, :])


def test_extra_maps_are_carried_at_their_own_size():
    emb = synthetic()
    extra = torch.arange(128 * 128, dtype=torch.float32).reshape(1, 1, 128, 128)
    emb = Embedding(emb.features, emb.frame_size, emb.input_size, emb.model_name, (extra,))
    flow = np.full((16, 16, 2), 4.0, np.float32)  # 1 cell of the 64-grid, 2 of the 128-grid
    carried = warp_embedding(emb, flow).extra[0][0, 0].numpy()
    np.testing.assert_allclose(carried[:-2, :-2], extra[0, 0].numpy()[2:, 2:], atol=1e-3)


@pytest.fixture(scope="module")
def clip():
    import cv2

    root = shared_data("cholecseg8k_clip")
    names = sorted(p.name for p in (root / "masks").iterdir())
    return root / "frames", [cv2.imread(str(root / "masks" / n), cv2.IMREAD_UNCHANGED) for n in names]


def test_a_real_embedding_carried_across_a_shift_matches_the_shifted_frames(litemedsam, clip):
    """A frame and the same scene 40 px to the left: the first frame's embedding carried by
    the (known) flow is far closer to the second's encoding than the uncarried one, and
    SAM's mask for a box from it agrees with the mask from the encoding."""
    folder, labels = clip
    with open_video(folder) as video:
        frame = video.frame(0)
    shift = 40
    key, cur = frame[:, : -2 * shift], frame[:, shift:-shift]  # cur[y, x] = key[y, x + shift]
    key_emb, cur_emb = litemedsam.embed(key), litemedsam.embed(cur)
    flow = np.zeros((*cur.shape[:2], 2), np.float32)
    flow[..., 0] = shift
    carried = warp_embedding(key_emb, flow)
    rows, cols = 30, 56  # valid cells, away from the uncovered right edge

    def cosine(a: Embedding) -> float:
        x, y = a.features[0, :, :rows, :cols], cur_emb.features[0, :, :rows, :cols]
        return float(torch.nn.functional.cosine_similarity(x, y, dim=0).mean())

    assert cosine(carried) > cosine(key_emb) + 0.1 and cosine(carried) > 0.8
    ys, xs = np.nonzero(labels[0][:, shift:-shift] == 21)  # the liver in the shifted frame
    box = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
    assert dice(litemedsam.predict(carried, box=box).mask, litemedsam.predict(cur_emb, box=box).mask) > 0.95


class Frames:
    """Grey frames whose content moves by ``motion`` pixels per frame (a blurred pattern)."""

    def __init__(self, motion: float) -> None:
        import cv2

        rng = np.random.default_rng(1)
        self.base = cv2.GaussianBlur(rng.integers(0, 255, (200, 400)).astype(np.uint8), (0, 0), 3)
        self.motion = motion

    def __call__(self, index: int) -> np.ndarray:
        x = int(round(self.motion * index))
        return np.repeat(self.base[:, 50 + x : 250 + x, None], 3, axis=2).copy()


def test_a_box_carried_along_a_noisy_flow_moves_with_it_and_does_not_grow():
    """A translation of (6, -4) px with noise of 1.5 px and a few outliers of 30 px, on a
    160 x 120 grid over a 320 x 240 frame: the box moves by the translation to within a
    pixel; the extent of every moved pixel would have grown it by the outliers."""
    rng = np.random.default_rng(0)
    flow = np.empty((120, 160, 2), np.float32)
    flow[..., 0], flow[..., 1] = 6.0, -4.0
    flow += rng.normal(0, 1.5, flow.shape).astype(np.float32)
    spots = rng.integers(0, 120 * 160, 40)
    flow.reshape(-1, 2)[spots] += rng.choice([-30.0, 30.0], (40, 2)).astype(np.float32)
    box = (100.0, 60.0, 220.0, 180.0)
    moved = carry_box(box, flow, (240, 320))
    assert np.allclose(moved, (106.0, 56.0, 226.0, 176.0), atol=1.0)
    still = carry_box(box, np.zeros_like(flow), (240, 320))
    assert still == box


def counting_encoder() -> tuple[Embedding, list[int], Callable[[int], Embedding]]:
    """One zero embedding, the list of indices encoded, and an encoder recording each call there."""
    emb = Embedding(torch.zeros(1, 4, 64, 64), (200, 200), (256, 256), "litemedsam")
    encoded: list[int] = []

    def encode(i: int) -> Embedding:
        encoded.append(i)
        return emb

    return emb, encoded, encode


def test_keyframes_are_encoded_by_interval_motion_and_recheck():
    emb, encoded, encode = counting_encoder()

    still = KeyframeEmbedder(Frames(0.0), encode, KeyframeConfig(max_interval=4))
    for i in range(10):
        still(i)
    assert encoded == [0, 4, 8] and still.stats.carried == 7
    encoded.clear()
    fast = KeyframeEmbedder(Frames(9.0), encode, KeyframeConfig(max_interval=10, max_motion=2.0))
    for i in range(4):  # 9 frame px = 2.9 cells of 3.1 px per frame: each frame moved too far
        fast(i)
    assert encoded == [0, 1, 2, 3]
    encoded.clear()
    gated = KeyframeEmbedder(Frames(0.0), encode, KeyframeConfig(max_interval=10, iou_drop=0.05, recheck_gap=0))
    gated(0)
    assert gated.recheck(0, 0.9, ()) is None  # a keyframe: its IoU is the reference
    gated(1)
    assert gated.recheck(1, 0.87, ()) is None  # carried, within the drop
    gated(2)
    assert gated.recheck(2, 0.8, ()) is emb and encoded == [0, 2]  # carried, IoU fell: encoded
    assert gated.recheck(2, 0.8, ()) is None  # now a keyframe
    gated(3)
    assert gated.recheck(3, 0.85, ("area_jump",)) is emb and gated.stats.rechecked == 2
    assert gated.recheck(3, 0.85, ()) is None  # keyframes 0, 2, 3 answered 0.9, 0.8, 0.85
    gated(4)  # the bar stays at the best of them (0.9): a poor keyframe does not lower it
    assert gated.recheck(4, 0.84, ()) is emb and encoded == [0, 2, 3, 4]
    own = KeyframeEmbedder(Frames(0.0), encode, KeyframeConfig(max_interval=10, reference_keys=1, recheck_gap=0))
    own(0), own.recheck(0, 0.9, ())
    own(1), own.recheck(1, 0.8, ())  # encoded: now the keyframe
    own.recheck(1, 0.8, ())  # its answer on the new encoding: the only reference
    own(2)
    assert own.recheck(2, 0.78, ()) is None  # within 0.05 of the keyframe's own 0.8


def test_an_iou_drop_on_a_nearly_exact_carry_is_the_objects_and_is_not_rechecked():
    """Still frames (warp error 0): an IoU drop on a frame carried from a keyframe at most
    ``recheck_gap`` frames away is not rechecked; a flag still is; farther away, or with a
    warp error above ``settled_error`` x ``max_warp_error`` (moving frames), the drop is."""
    emb, encoded, encode = counting_encoder()

    near = KeyframeEmbedder(Frames(0.0), encode, KeyframeConfig(max_interval=10, recheck_gap=2))
    near(0), near.recheck(0, 0.9, ())
    near(2)
    assert near.recheck(2, 0.7, ()) is None and encoded == [0]  # two frames from its keyframe
    near(3)
    assert near.recheck(3, 0.7, ()) is emb and encoded == [0, 3]  # three: rechecked
    near(4)
    assert near.recheck(4, 0.9, ("area_jump",)) is emb  # flagged one frame away: rechecked
    encoded.clear()
    moving = KeyframeEmbedder(Frames(1.0), encode, KeyframeConfig(max_interval=10, max_motion=9.0, settled_error=0.0))
    moving(0), moving.recheck(0, 0.9, ())
    moving(1)  # one frame away, but its warp error is above 0 x max_warp_error
    assert moving.stats.carried == 1 and moving.recheck(1, 0.7, ()) is emb and encoded == [0, 1]


def test_a_flag_a_fresh_encoding_did_not_mend_is_not_rechecked_again():
    """SAM answering the instrument that crosses the organ on the fresh encoding too: the
    carried frames flagged alike after it are not encoded again; a flag the encoded answer
    lacked is; once an encoded answer is clean, a flag is rechecked again."""
    emb, encoded, encode = counting_encoder()

    kf = KeyframeEmbedder(Frames(0.0), encode, KeyframeConfig(max_interval=10))
    kf(0), kf.recheck(0, 0.9, ())
    kf(1)
    assert kf.recheck(1, 0.9, ("area_jump",)) is emb and encoded == [0, 1]
    kf.recheck(1, 0.9, ("area_jump",))  # the fresh encoding's answer: flagged alike
    kf(2)
    assert kf.recheck(2, 0.9, ("area_jump",)) is None and encoded == [0, 1]
    assert kf.stats.log[-1][:2] == (2, "unmended area_jump")  # a trace shows the recheck it did not ask
    kf(3)
    assert kf.recheck(3, 0.9, ("area_jump", "shift_jump")) is emb and encoded == [0, 1, 3]
    kf.recheck(3, 0.9, ())  # mended
    kf(4)
    assert kf.recheck(4, 0.9, ("area_jump",)) is emb and kf.stats.rechecked == 3
    every = KeyframeEmbedder(Frames(0.0), encode, KeyframeConfig(max_interval=10, skip_unmended=False))
    every(0), every.recheck(0, 0.9, ("area_jump",))
    every(1)
    assert every.recheck(1, 0.9, ("area_jump",)) is emb


def test_with_the_walk_known_the_keyframe_ahead_is_encoded_and_the_nearer_one_carried():
    """Interval 4 on a walk 1..10 from a prompt on frame 0: keyframes 0 (seeded), 4, 8 are
    encoded as before, but each before the walk reaches it, and the walk's last frame 10
    too; frames 3 and 7 are carried from the keyframe after them (one frame away) instead
    of the one before (three)."""
    embs = {i: Embedding(torch.full((1, 4, 64, 64), float(i)), (200, 200), (256, 256), "litemedsam") for i in range(11)}
    encoded: list[int] = []

    def encode(i: int) -> Embedding:
        encoded.append(i)
        return embs[i]

    walk = range(1, 11)
    ahead = KeyframeEmbedder(Frames(0.0), encode, KeyframeConfig(max_interval=4), walk)
    ahead.seed(0, embs[0])
    sources = {}
    for i in walk:
        emb = ahead(i)
        key = emb.key if getattr(emb, "key", None) is not None else emb
        sources[i] = int(key.features[0, 0, 0, 0])
        if i == 1:
            assert encoded == [4]  # the keyframe ahead, encoded at the first carried frame
    assert encoded == [4, 8, 10]
    assert sources == {1: 0, 2: 0, 3: 4, 4: 4, 5: 4, 6: 4, 7: 8, 8: 8, 9: 8, 10: 10}
    behind = KeyframeEmbedder(Frames(0.0), encode, KeyframeConfig(max_interval=4, look_ahead=False), walk)
    encoded.clear()
    behind.seed(0, embs[0])
    for i in walk:
        behind(i)
    assert encoded == [4, 8]  # the same encodings, in the order the walk reaches them


def test_keyframe_propagation_encodes_fewer_frames_and_stays_close_to_every_frame(litemedsam, clip):
    """12 frames of the clip, the grasper: the keyframe walk encodes a few frames (into the
    cache: encodings only), gives the same masks with a cache, and its Dice against the
    ground truth stays close to encoding every frame."""
    folder, labels = clip
    frames, label = range(1, 12), 31
    start = labels[0] == label
    cache = EmbeddingCache()
    with open_video(folder) as video:
        fast = list(propagate_video(video, Prompt(0, mask=start), litemedsam, frames=frames, keyframes=KEYFRAMES))
        cached = list(
            propagate_video(
                video,
                Prompt(0, mask=start),
                litemedsam,
                frames=frames,
                cache=cache,
                cache_key=lambda i: i,
                keyframes=KEYFRAMES,
            )
        )
        every = list(propagate_video(video, Prompt(0, mask=start), litemedsam, frames=frames))
    assert [r.index for r in fast] == [0, *frames]
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(fast, cached, strict=True))
    assert 1 <= len(cache) <= 3  # keyframes only (every 8 frames, and where a recheck asked)
    truth_fast = np.mean([dice(r.mask, labels[r.index] == label) for r in fast[1:]])
    truth_every = np.mean([dice(r.mask, labels[r.index] == label) for r in every[1:]])
    assert truth_fast > truth_every - 0.03, (truth_fast, truth_every)


def test_keyframe_mode_is_the_default_for_the_trackers_that_run_the_encoder():
    from evosam.tracking.video import KEYFRAMES, keyframes_for

    assert keyframes_for("sam-flow") is KEYFRAMES and keyframes_for("sam-redetect") is KEYFRAMES
    assert keyframes_for("flow") is None and keyframes_for("flow", "on") is KEYFRAMES
    assert keyframes_for("sam-redetect", "off") is None and keyframes_for("sam-flow", "off") is None
