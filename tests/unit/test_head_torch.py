"""The head's torch path (how it predicts beside a GPU backend) equals its OpenCV path: the
filter bank channel by channel, and the refined masks of a head taught on a real frame with
the real model. Runs on the CPU's torch here, and again on CUDA where there is one."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from evosam.head import EvoHead, FeatureConfig
from evosam.head.features import filter_bank
from evosam.head.torch_bank import filter_bank_torch
from evosam.learning import HeadRefiner, beside, refiner
from evosam.masks import dice, prompt_box

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


@pytest.mark.parametrize("config", [FeatureConfig(), FeatureConfig().lite()], ids=["bank", "lite"])
@pytest.mark.parametrize("device", DEVICES)
def test_torch_bank_equals_the_opencv_bank(chole_frame, device, config):
    frame, _ = chole_frame
    # a gallbladder-sized crop, one too small to halve, and one smaller than the widest kernels
    # (textured: on a flat crop a channel's std is float noise and standardising amplifies it)
    for crop in (frame[180:300, 300:470], frame[200:210, 350:362], frame[240:257, 400:430]):
        expected = filter_bank(np.ascontiguousarray(crop), config)
        got = filter_bank_torch(crop, config, device).cpu().numpy()
        assert got.shape == expected.shape
        # the CPU bank's float32 sums (its standardisation, wide second derivatives) round by up
        # to ~4e-3 on a whole frame; torch's filters run in float64: 1e-5 typically
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=3e-3)
        assert np.median(np.abs(got - expected)) < 1e-5


@pytest.mark.parametrize("view", ["bank", "lite"])
@pytest.mark.parametrize("device", DEVICES)
def test_head_on_torch_gives_the_opencv_masks(litemedsam, chole_frame, device, view):
    frame, labels = chole_frame
    emb = litemedsam.embed(frame)
    head = EvoHead(litemedsam.name)
    if view == "lite":
        head = EvoHead(litemedsam.name, head.config.lite())
    taught = labels == 22  # the gallbladder teaches; the grasper and the gallbladder are predicted
    box = prompt_box(taught)
    head = head.taught(head.frame_stats(frame, litemedsam.predict(emb, box=box), taught, box))
    for label in (22, 31):
        box = prompt_box(labels == label)
        pred = litemedsam.predict(emb, box=box)
        cpu = head.probability(frame, pred, box)
        dev = head.probability(frame, pred, box, device=device)
        assert dice(cpu > head.config.threshold, dev > head.config.threshold) >= 0.999, label
        assert np.median(np.abs(cpu - dev)) < 1e-5


def test_beside_moves_only_a_head_refiner_and_only_to_a_gpu():
    head = EvoHead("litemedsam")
    head = head.taught(head.frame_stats(*_tiny_example()))
    refine = refiner(head)
    assert isinstance(refine, HeadRefiner) and refine.device is None
    assert beside(refine, SimpleNamespace(device=torch.device("cpu"))) is refine  # OpenCV: faster on a CPU
    on_gpu = beside(refine, SimpleNamespace(device=torch.device("cuda", 0)))
    assert on_gpu.device == torch.device("cuda", 0) and on_gpu.head is head and refine.device is None
    other = lambda frame, pred, box: pred.mask  # noqa: E731  (any other refiner is left as it is)
    assert beside(other, SimpleNamespace(device=torch.device("cuda", 0))) is other
    assert beside(None, SimpleNamespace(device=torch.device("cuda", 0))) is None


def _tiny_example():
    """(frame, prediction, mask, box) of a 40 x 48 frame with a dark line (see test_head)."""
    from tests.unit.test_head import fake_frame

    frame, mask, pred = fake_frame(0)
    return frame, pred, mask, (0, 0, 47, 39)
