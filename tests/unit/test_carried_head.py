"""The learning head on keyframe walks (``evosam.tracking.carried_head``): computed on the
keyframe for the box moved there and carried back, on the real clip with real LiteMedSAM."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from evosam.head.evidence import BLEND, Choice
from evosam.learning import HeadRefiner, Learner
from evosam.masks import dice, prompt_box
from evosam.tracking import Prompt, make_tracker, propagate_video
from evosam.tracking.carried_head import CarriedHead
from evosam.tracking.keyframes import KeyframeEmbedder, KeyframeModel, keyframe_session, warp_embedding
from evosam.tracking.video import KEYFRAMES
from evosam.video import open_video
from tests.conftest import shared_data

LABEL = 31  # the grasper: it moves across the clip's first frames
BLEND_HALF = Choice(BLEND, 0.5, 2, 0.8, 0.85, "a blend, for the test")


@pytest.fixture(scope="module")
def clip():
    root = shared_data("cholecseg8k_clip")
    names = sorted(p.name for p in (root / "masks").iterdir())
    truth = [cv2.imread(str(root / "masks" / n), cv2.IMREAD_UNCHANGED) == LABEL for n in names]
    return root / "frames", truth


@pytest.fixture(scope="module")
def taught(litemedsam, clip):
    """A head taught the grasper on frames 0 and 20, as a blending refiner."""
    folder, truth = clip
    learner = Learner(litemedsam.name)
    with open_video(folder) as video:
        for t in (0, 20):
            box = prompt_box(truth[t])
            pred = litemedsam.predict(litemedsam.embed(video.frame(t)), box=box)
            learner.teach(t, video.frame(t), pred, truth[t], box, "grasper", "clip", t)
    return HeadRefiner(learner.head_of("grasper"), choice=BLEND_HALF)


def test_a_carried_frame_gets_the_keyframes_head_carried_back_and_close_to_a_fresh_one(litemedsam, clip, taught):
    """Frame 3 carried from keyframe 0: the proposal is the head's probability on frame 0
    (for the box moved there) carried along the flow, gated as a fresh one is; it agrees
    with the head computed on frame 3 itself, and frame 4's nearby box reuses the map."""
    folder, truth = clip
    with open_video(folder) as video:
        embedder = KeyframeEmbedder(video.frame, lambda i: litemedsam.embed(video.frame(i)), KEYFRAMES)
        model = KeyframeModel(litemedsam, reuse_box=KEYFRAMES.reuse_box)
        embedder.seed(0, litemedsam.embed(video.frame(0)))
        carried = CarriedHead(taught, model, video.frame)
        for index in (3, 4):
            emb = embedder(index)
            assert emb.key_index == 0
            box = prompt_box(truth[index], 0.1)
            pred = model.predict_boxes(emb, [box])[0]
            answer = model.keyframe_answer(box)
            assert answer is not None and answer.index == 0 and answer.box != tuple(box)
            proposal = carried(video.frame(index), pred, box, index)
            fresh = taught(video.frame(index), pred, box, index)
            assert dice(proposal, fresh) > 0.9, index
            assert dice(proposal, truth[index]) > dice(fresh, truth[index]) - 0.05, index
            if index == 3:  # computed here: exactly the keyframe's probability carried back, then gated
                head = taught.proposer(BLEND_HALF.view)
                key_prob = head.probability(video.frame(0), answer.prediction, answer.box, taught.profile)
                back = cv2.remap(key_prob, *answer.maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                np.testing.assert_array_equal(proposal, head.gated(back, pred, BLEND_HALF))
        assert (carried.computed, carried.reused) == (1, 1)
        # a decoding on a real encoding: no keyframe answer, the refiner's own proposal
        real = litemedsam.embed(video.frame(5))
        pred = model.predict_boxes(real, [prompt_box(truth[5], 0.1)])[0]
        assert model.keyframe_answer(prompt_box(truth[5], 0.1)) is None
        box = prompt_box(truth[5], 0.1)
        np.testing.assert_array_equal(carried(video.frame(5), pred, box, 5), taught(video.frame(5), pred, box, 5))


def test_a_choice_that_keeps_sam_is_sams_answer_and_computes_no_head(litemedsam, clip, taught):
    folder, truth = clip
    keeps_sam = dataclasses.replace(taught, choice=Choice())
    with open_video(folder) as video:
        key = litemedsam.embed(video.frame(0))
        flow = np.zeros((video.frame(0).shape[0], video.frame(0).shape[1], 2), np.float32)
        emb = warp_embedding(key, flow, 0)
        model = KeyframeModel(litemedsam)
        carried = CarriedHead(keeps_sam, model, video.frame)
        box = prompt_box(truth[1], 0.1)
        pred = model.predict_boxes(emb, [box])[0]
        np.testing.assert_array_equal(carried(video.frame(1), pred, box, 1), pred.mask)
        assert carried.computed == 0


def test_a_keyframe_session_carries_head_refiners_only_and_the_config_turns_it_off(litemedsam, clip, taught):
    folder, _ = clip
    with open_video(folder) as video:

        def encode(i):
            return litemedsam.embed(video.frame(i))

        session, _ = keyframe_session(litemedsam, video.frame, encode, make_tracker("sam-flow"), KEYFRAMES)
        session.set_refiner("grasper", taught)
        session.set_refiner("other", lambda frame, pred, box, index: pred.mask)
        assert isinstance(session.refiners["grasper"], CarriedHead)
        assert not isinstance(session.refiners["other"], CarriedHead)
        off = dataclasses.replace(KEYFRAMES, carry_head=False)
        session, _ = keyframe_session(litemedsam, video.frame, encode, make_tracker("sam-flow"), off)
        session.set_refiner("grasper", taught)
        assert session.refiners["grasper"] is taught


def test_a_keyframe_walk_with_the_carried_head_stays_close_to_the_head_on_every_frame(litemedsam, clip, taught):
    """12 frames of the grasper with the blending head: carried from keyframes or computed
    on each frame, the proposals agree and score alike against the ground truth."""
    folder, truth = clip
    frames, start = range(1, 12), truth[0]
    walks = {}
    with open_video(folder) as video:
        for on in (True, False):
            config = dataclasses.replace(KEYFRAMES, carry_head=on)
            walk = propagate_video(video, Prompt(0, mask=start), litemedsam, taught, frames=frames, keyframes=config)
            walks[on] = list(walk)[1:]
    agree = [dice(a.mask, b.mask) for a, b in zip(walks[True], walks[False], strict=True)]
    assert np.mean(agree) > 0.95, agree
    scores = {on: np.mean([dice(r.mask, truth[r.index]) for r in walk]) for on, walk in walks.items()}
    assert scores[True] > scores[False] - 0.02, scores


def test_a_carried_answer_without_features_and_no_keyframe_answer_stays_sams(litemedsam, clip, taught):
    """A box the keyframe model did not answer on a carried frame whose answer was carried
    without decoder features (a keyframe walk under a ``CarriedHead``): the head cannot read
    it, and the proposal is SAM's answer, not an error."""
    folder, truth = clip
    with open_video(folder) as video:
        embedder = KeyframeEmbedder(video.frame, lambda i: litemedsam.embed(video.frame(i)), KEYFRAMES)
        model = KeyframeModel(litemedsam, reuse_box=KEYFRAMES.reuse_box)
        model.carry_features = lambda: False
        embedder.seed(0, litemedsam.embed(video.frame(0)))
        carried = CarriedHead(taught, model, video.frame)
        emb = embedder(3)
        pred = model.predict_boxes(emb, [prompt_box(truth[3], 0.1)])[0]
        assert pred.decoder_features.size == 0
        other = prompt_box(truth[3], 0.3)  # never asked: no keyframe answer for it
        assert model.keyframe_answer(other) is None
        np.testing.assert_array_equal(carried(video.frame(3), pred, other, 3), pred.mask)
