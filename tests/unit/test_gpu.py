"""CUDA path: the GPU (float16 encoder) must give the CPU float32 masks. Skips without CUDA."""

import pytest
import torch

from evosam.imageio import read_rgb
from evosam.masks import dice, prompt_box
from evosam.models import load_model
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def cuda_backend():
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available on this machine")
    return load_model("litemedsam", device="cuda")


@pytest.fixture(scope="module")
def cpu_float32():
    return load_model("litemedsam", device="cpu", half=False)


def test_gpu_masks_match_cpu_float32(cuda_backend, cpu_float32):
    import cv2

    root = shared_data("cholecseg8k_clip")
    assert cuda_backend.half and "CUDA fp16" in cuda_backend.describe()
    for name in ("000561.png", "000600.png", "000632.png"):
        frame = read_rgb(root / "frames" / name)
        labels = cv2.imread(str(root / "masks" / name), cv2.IMREAD_UNCHANGED)
        gpu_emb, cpu_emb = cuda_backend.embed(frame), cpu_float32.embed(frame)
        for label in (21, 22, 31):
            truth = labels == label
            if not truth.any():
                continue
            box = prompt_box(truth)
            gpu, cpu = cuda_backend.predict(gpu_emb, box=box), cpu_float32.predict(cpu_emb, box=box)
            assert dice(gpu.mask, cpu.mask) >= 0.99, (name, label)


def test_gpu_batches_give_the_single_frame_masks(cuda_backend):
    """Eight frames through the encoder in one call (how propagation runs on CUDA) give the
    masks of one frame per call."""
    import cv2

    root = shared_data("cholecseg8k_clip")
    names = sorted(p.name for p in (root / "frames").iterdir())[:8]
    frames = [read_rgb(root / "frames" / n) for n in names]
    batch = cuda_backend.embed_batch(frames)
    for name, frame, emb in zip(names, frames, batch, strict=True):
        labels = cv2.imread(str(root / "masks" / name), cv2.IMREAD_UNCHANGED)
        single = cuda_backend.embed(frame)
        for label in (21, 31):
            if (labels == label).any():
                box = prompt_box(labels == label)
                got, ref = cuda_backend.predict(emb, box=box), cuda_backend.predict(single, box=box)
                assert dice(got.mask, ref.mask) >= 0.99, (name, label)
