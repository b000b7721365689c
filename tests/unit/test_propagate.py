"""Propagation with the real LiteMedSAM on the first frames of the real laparoscopic clip."""

import dataclasses

import numpy as np
import pytest

from evosam.errors import InputError
from evosam.imageio import read_rgb
from evosam.masks import dice
from evosam.propagate import PropagationConfig, frame_order, large_components, propagate, quality_flags
from tests.conftest import shared_data

N_FRAMES = 5


@pytest.fixture(scope="module")
def clip(litemedsam):
    import cv2

    root = shared_data("cholecseg8k_clip")
    names = sorted(p.name for p in (root / "frames").iterdir())[:N_FRAMES]
    frames = [read_rgb(root / "frames" / n) for n in names]
    labels = [cv2.imread(str(root / "masks" / n), cv2.IMREAD_UNCHANGED) for n in names]
    embeddings = [litemedsam.embed(f) for f in frames]
    return frames, labels, embeddings


def test_grasper_and_liver_follow_the_ground_truth(litemedsam, clip):
    frames, labels, embeddings = clip
    for label in (31, 21):
        results = list(
            propagate(litemedsam, frames.__getitem__, embeddings.__getitem__, range(1, N_FRAMES), labels[0] == label)
        )
        assert [r.index for r in results] == list(range(1, N_FRAMES))
        scores = [dice(r.mask, labels[r.index] == label) for r in results]
        assert min(scores) > 0.85, (label, scores)
        assert not any(r.flagged for r in results)


def test_backward_propagation_and_cancel(litemedsam, clip):
    frames, labels, embeddings = clip
    start = N_FRAMES - 1
    order = frame_order(start, None, True, N_FRAMES)
    assert list(order) == [3, 2, 1, 0]
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    results = list(
        propagate(litemedsam, frames.__getitem__, embeddings.__getitem__, order, labels[start] == 31, should_stop=stop)
    )
    assert [r.index for r in results] == [3, 2]
    assert dice(results[-1].mask, labels[2] == 31) > 0.85


def test_frame_order_refuses_bad_ranges():
    assert list(frame_order(2, 4, False, 10)) == [3, 4]
    for args, msg in [
        ((10, None, False, 10), "outside"),
        ((2, 1, False, 10), "wrong side"),
        ((2, 12, False, 10), "outside"),
    ]:
        with pytest.raises(InputError, match=msg):
            frame_order(*args)


def test_empty_start_mask_is_refused(litemedsam):
    with pytest.raises(InputError, match="empty"):
        next(propagate(litemedsam, lambda i: None, lambda i: None, range(1, 2), np.zeros((4, 4), bool)))


def test_quality_gate_flags():
    prev = np.zeros((50, 50), bool)
    prev[10:20, 10:20] = True
    cfg = PropagationConfig()
    assert quality_flags(prev, 0.9, prev, cfg) == ()
    assert quality_flags(np.zeros_like(prev), 0.9, prev, cfg) == ("empty",)
    assert "low_iou" in quality_flags(prev, 0.1, prev, cfg)
    big = np.zeros_like(prev)
    big[5:45, 5:45] = True
    assert "area_jump" in quality_flags(big, 0.9, prev, cfg)
    moved = np.zeros_like(prev)
    moved[35:45, 35:45] = True
    assert "shift_jump" in quality_flags(moved, 0.9, prev, cfg)


def test_large_components():
    m = np.zeros((20, 20), bool)
    m[0:10, 0:10] = True  # 100 px
    m[15:18, 15:18] = True  # 9 px: below 15 %
    m[12:20, 0:5] = True  # 40 px
    pieces = large_components(m, 0.15)
    assert [int(p.sum()) for p in pieces] == [100, 40]


def test_refine_hook_gives_the_proposals_and_prompts_the_next_frame(litemedsam, clip):
    """A refiner (the head, in the app) turns SAM's answer into the proposal, which is also
    what the next frame's prompt comes from."""
    frames, labels, embeddings = clip
    seen = []

    def keep_left_half(rgb, pred, box, index=None):
        seen.append((rgb.shape, box))
        out = pred.mask.copy()
        out[:, int((box[0] + box[2]) / 2) :] = False
        return out

    plain = list(propagate(litemedsam, frames.__getitem__, embeddings.__getitem__, range(1, 3), labels[0] == 21))
    refined = list(
        propagate(
            litemedsam, frames.__getitem__, embeddings.__getitem__, range(1, 3), labels[0] == 21, refine=keep_left_half
        )
    )
    assert len(seen) == 2 and seen[0][0] == frames[1].shape
    for res in refined:
        assert np.array_equal(res.mask, keep_left_half(frames[res.index], res.prediction, res.box))
    assert refined[1].box != plain[1].box  # frame 2 was prompted from the refined frame-1 mask


def test_a_refined_proposal_is_held_to_the_growth_limit(litemedsam, clip):
    """A refiner that paints far outside the carried mask (a head leaking into a neighbour)
    gets the same growth limit as SAM: the leak is dropped, so it cannot grow the next box."""
    frames, labels, embeddings = clip
    start = labels[0] == 22  # the gallbladder, far from the top-left corner

    def add_far_blob(rgb, pred, box, index=None):
        out = pred.mask.copy()
        out[:40, :40] = True  # the top-left corner
        return out

    def first(config: PropagationConfig):
        read, embed = frames.__getitem__, embeddings.__getitem__
        return next(propagate(litemedsam, read, embed, range(1, 2), start, config, refine=add_far_blob))

    res = first(PropagationConfig())
    assert not res.mask[:40, :40].any()
    assert np.array_equal(res.mask, res.prediction.mask)  # the rest of the refined mask is kept
    assert first(PropagationConfig(max_growth=0)).mask[:40, :40].all()


def test_flows_come_ahead_from_a_thread_and_equal_the_inline_ones(clip):
    """``frames_with_flow`` computes the next frame's flow in a thread (a GPU propagation then
    does not wait for it): the flows equal ``backward_flow`` of the same frames, the frames are
    read only from the caller's thread, and a frame that cannot be read fails at its turn."""
    import threading

    from evosam.flow import backward_flow
    from evosam.propagate import frames_with_flow

    frames, _, _ = clip
    readers = set()

    def read(i: int) -> np.ndarray:
        readers.add(threading.get_ident())
        if i == 4:
            raise InputError("frame 4: cannot be decoded")
        return frames[i]

    got = []
    with pytest.raises(InputError, match="frame 4"):
        for index, rgb, flow in frames_with_flow(read, range(1, N_FRAMES)):
            got.append(index)
            np.testing.assert_array_equal(flow.result(), backward_flow(frames[index - 1], rgb))
    assert got == [1, 2, 3] and readers == {threading.get_ident()}
    backward = [(i, f) for i, _, f in frames_with_flow(frames.__getitem__, range(2, -1, -1), use_flow=False)]
    assert [i for i, _ in backward] == [2, 1, 0] and all(f is None for _, f in backward)


def test_masks_warped_together_equal_their_definition():
    """``warp_masks`` shares one pair of sampling maps: each mask equals its own remap."""
    import cv2

    from evosam.flow import warp_mask, warp_masks

    rng = np.random.default_rng(0)
    flow = cv2.GaussianBlur(rng.normal(0, 3, (60, 80, 2)).astype(np.float32), (0, 0), 5)
    flow[..., 0] += 4.0  # the current frame sees the previous one 4 px to the right
    masks = (np.zeros((60, 80), bool), rng.random((60, 80)) > 0.7)
    masks[0][20:40, 30:50] = True
    gx, gy = np.meshgrid(np.arange(80, dtype=np.float32), np.arange(60, dtype=np.float32))
    for mask, got in zip(masks, warp_masks(masks, flow), strict=True):
        expected = (
            cv2.remap(
                mask.astype(np.float32),
                gx + flow[..., 0],
                gy + flow[..., 1],
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
            >= 0.5
        )
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(warp_mask(mask, flow), expected)
    assert warp_masks(masks, flow)[0][30, 28] and not warp_masks(masks, flow)[0][30, 48]  # moved about 4 px left


class CollapsingSam:
    """The real LiteMedSAM whose every answer keeps only its first 50 mask pixels (as when
    it answers an instrument that crosses the organ instead of the organ)."""

    def __init__(self, sam) -> None:
        self.sam = sam

    def __getattr__(self, name):
        return getattr(self.sam, name)

    def predict_boxes(self, emb, boxes):
        out = []
        for pred in self.sam.predict_boxes(emb, boxes):
            logits = np.minimum(pred.logits, -1.0)
            ys, xs = np.nonzero(pred.mask)
            logits[ys[:50], xs[:50]] = 1.0
            out.append(dataclasses.replace(pred, logits=logits))
        return out


def test_an_answer_that_collapses_keeps_the_carried_mask_and_stays_flagged(litemedsam, clip):
    """SAM's answer under half the carried mask's area is replaced by the flow-carried mask,
    still flagged for review; with the rule off the collapsed answer is the proposal."""
    frames, labels, embeddings = clip
    start = labels[0] == 21  # the liver

    def first(config: PropagationConfig):
        read, embed = frames.__getitem__, embeddings.__getitem__
        return next(propagate(CollapsingSam(litemedsam), read, embed, range(1, 2), start, config))

    kept = first(PropagationConfig())
    assert "area_jump" in kept.flags and kept.mask.sum() > 0.8 * start.sum()
    assert dice(kept.mask, labels[1] == 21) > 0.85
    plain = first(PropagationConfig(keep_carried_on_collapse=False))
    assert "area_jump" in plain.flags and plain.mask.sum() < 0.01 * start.sum()  # the pieces, 50 px each
