"""Model backends: the real bundled LiteMedSAM on real frames, and the loading code of the
user-checkpoint models exercised with small randomly initialised networks of the same classes."""

from functools import partial

import numpy as np
import pytest
import torch

from evosam.errors import CheckpointError, InputError
from evosam.masks import dice, prompt_box
from evosam.models import REGISTRY, Points, load_model
from evosam.models.backend import ModelSpec, SamBackend
from evosam.models.cache import EmbeddingCache
from evosam.models.checkpoint import load_into, load_state_dict


def test_litemedsam_segments_real_laparoscopic_structures(litemedsam, chole_frame):
    frame, labels = chole_frame
    emb = litemedsam.embed(frame)
    assert emb.features.shape == (1, 256, 64, 64)
    assert emb.frame_size == (480, 854) and emb.input_size == (144, 256)
    for label, floor in ((21, 0.9), (22, 0.75), (31, 0.8)):  # liver, gallbladder, grasper
        truth = labels == label
        pred = litemedsam.predict(emb, box=prompt_box(truth))
        assert pred.logits.shape == truth.shape and pred.logits.dtype == np.float32
        assert dice(pred.mask, truth) > floor, label
        assert 0.0 < pred.iou <= 1.1
        assert pred.decoder_features.shape == (32, 256, 256)
    feats = pred.features_at_frame()
    assert feats.shape == (32, 480, 854)


def test_predict_is_stateless_and_repeatable(litemedsam, chole_frame):
    frame, labels = chole_frame
    emb = litemedsam.embed(frame)
    box = prompt_box(labels == 31)
    a = litemedsam.predict(emb, box=box)
    litemedsam.predict(emb, box=prompt_box(labels == 21))
    b = litemedsam.predict(emb, box=box)
    np.testing.assert_array_equal(a.logits, b.logits)


def test_points_and_mask_prompts_are_accepted(litemedsam, chole_frame):
    frame, labels = chole_frame
    emb = litemedsam.embed(frame)
    truth = labels == 21
    pred = litemedsam.predict(emb, box=prompt_box(truth), points=Points([[500, 250]], [1]), mask_prompt=truth)
    assert pred.mask.any()
    with pytest.raises(InputError, match="does not match"):
        litemedsam.predict(emb, box=prompt_box(truth), mask_prompt=truth[:-1])


@pytest.mark.parametrize(
    "box, message",
    [
        ((10, 10, 5, 20), "x1 must exceed x0"),
        ((10, 10, 10, 20), "x1 must exceed x0"),
        ((float("nan"), 0, 5, 5), "finite"),
        ((2000, 2000, 3000, 3000), "outside"),
    ],
)
def test_bad_boxes_are_refused_with_one_line(litemedsam, chole_frame, box, message):
    emb = litemedsam.embed(chole_frame[0][:64, :64])
    with pytest.raises(InputError, match=message) as err:
        litemedsam.predict(emb, box=box)
    assert "\n" not in str(err.value)


def _tiny_sam() -> torch.nn.Module:
    """A SAM of the same classes as vit_b/l/h (ImageEncoderViT, PromptEncoder, MaskDecoder), tiny."""
    from segment_anything.build_sam import _build_sam

    torch.manual_seed(0)
    return _build_sam(encoder_embed_dim=32, encoder_depth=2, encoder_num_heads=2, encoder_global_attn_indexes=[1])


def test_sam_family_loading_path_with_a_small_random_model(tmp_path):
    net = _tiny_sam()
    ckpt = tmp_path / "tiny_sam.pth"
    torch.save({"model": net.state_dict()}, ckpt)
    fresh = _tiny_sam()
    torch.manual_seed(1)
    for p in fresh.parameters():
        torch.nn.init.normal_(p)
    load_into(fresh, ckpt, "tiny SAM")
    for k, v in net.state_dict().items():
        assert torch.equal(v, fresh.state_dict()[k]), k
    backend = SamBackend(fresh, ModelSpec("tiny_sam", "tiny SAM", 1024, "imagenet"), device="cpu")
    frame = np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    emb = backend.embed(frame)
    assert emb.features.shape == (1, 256, 64, 64) and emb.input_size == (614, 1024)
    pred = backend.predict(emb, box=(20, 20, 100, 80))
    assert pred.logits.shape == (120, 200)


def test_wrong_architecture_names_file_and_model(tmp_path):
    ckpt = tmp_path / "sam_vit_b.pth"
    torch.save(_tiny_sam().state_dict(), ckpt)
    with pytest.raises(CheckpointError, match=r"sam_vit_b\.pth: wrong architecture for LiteMedSAM"):
        load_model("litemedsam", checkpoint=ckpt, device="cpu")


def test_truncated_and_empty_checkpoints(tmp_path):
    good = tmp_path / "good.pth"
    torch.save(_tiny_sam().state_dict(), good)
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated.pth: cannot read checkpoint"):
        load_state_dict(bad, "SAM ViT-B")
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_state_dict(tmp_path / "empty.pth", "SAM ViT-B")
    with pytest.raises(CheckpointError, match="not found"):
        load_state_dict(tmp_path / "missing.pth", "SAM ViT-B")


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_carrying_code_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "evil.pth"
    torch.save({"model": _Evil(str(marker))}, ckpt)
    with pytest.raises(CheckpointError, match="evil.pth: checkpoint refused: it carries code"):
        load_state_dict(ckpt, "SAM ViT-B")
    assert not marker.exists()


def test_user_checkpoint_models_need_a_file():
    with pytest.raises(CheckpointError, match="needs a checkpoint file"):
        load_model("sam_vit_b", device="cpu")
    with pytest.raises(InputError, match="unknown model"):
        load_model("nope")


@pytest.mark.parametrize("name", ["sam_vit_b", "mobilesam_vit_t"])
def test_registry_builders_make_the_right_classes(name):
    net = REGISTRY[name].build()
    assert {"image_encoder", "prompt_encoder", "mask_decoder"} <= {n for n, _ in net.named_children()}
    assert REGISTRY[name].spec.input_side == 1024


def test_embedding_cache_is_bounded_in_bytes(litemedsam):
    emb = litemedsam.embed(np.zeros((32, 32, 3), np.uint8) + 100)
    cache = EmbeddingCache(max_bytes=int(2.5 * emb.nbytes))
    for i in range(5):
        cache.put(i, emb)
        assert cache.nbytes <= cache.max_bytes
    assert len(cache) == 2 and 4 in cache and 0 not in cache
    calls = []
    cache.get_or_compute(9, partial(lambda e: calls.append(1) or e, emb))
    cache.get_or_compute(9, partial(lambda e: calls.append(1) or e, emb))
    assert calls == [1]
    before = list(cache._items)
    assert cache.get_or_compute(7, lambda: emb, keep=False) is emb  # computed, not cached: nothing evicted
    assert list(cache._items) == before and 7 not in cache


def test_sixteen_bit_and_gray_frames_are_converted(litemedsam):
    gray16 = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    emb = litemedsam.embed(gray16)
    assert emb.frame_size == (64, 64)
    with pytest.raises(InputError, match="dtype"):
        litemedsam.embed(np.zeros((8, 8, 3), np.float64))


def test_mobilesam_random_weights_embed_and_predict():
    backend = load_model("mobilesam_vit_t", random_init=True, device="cpu", runtime="torch")
    emb = backend.embed(np.full((90, 160, 3), 80, np.uint8))
    assert emb.features.shape == (1, 256, 64, 64)
    assert backend.predict(emb, box=(10, 10, 60, 50)).logits.shape == (90, 160)


def test_cpu_half_precision_keeps_the_float32_masks(chole_frame):
    """bf16 on the CPU (the default where it is native; asked for here, emulated elsewhere)
    changes no mask materially."""
    from evosam.models.backend import cpu_can_bf16

    if not cpu_can_bf16():
        pytest.skip("oneDNN runs no bfloat16 on this CPU")
    frame, labels = chole_frame
    fast = load_model("litemedsam", device="cpu", half=True, runtime="torch")
    assert fast.half and "CPU bf16" in fast.describe()
    exact = load_model("litemedsam", device="cpu", half=False, runtime="torch")
    assert not exact.half and exact.describe() == "LiteMedSAM · CPU"
    fast_emb, exact_emb = fast.embed(frame), exact.embed(frame)
    assert fast_emb.features.dtype == torch.float32
    for label in (21, 22, 31):
        box = prompt_box(labels == label)
        got, ref = fast.predict(fast_emb, box=box), exact.predict(exact_emb, box=box)
        assert dice(got.mask, ref.mask) >= 0.99, label


def test_openvino_bf16_keeps_the_float32_masks(chole_frame):
    """Where ``auto`` runs the encoder in bf16 on OpenVINO (native bf16: AMX or AVX512-BF16),
    masks stay those of float32."""
    from evosam.models.backend import cpu_has_bf16
    from evosam.models.openvino_cpu import openvino_version

    if not cpu_has_bf16() or openvino_version() is None:
        pytest.skip("no native bf16 on this CPU (or no OpenVINO): auto does not run OpenVINO bf16 here")
    frame, labels = chole_frame
    fast = load_model("litemedsam", device="cpu")
    assert fast.describe() == "LiteMedSAM · CPU OpenVINO bf16"
    exact = load_model("litemedsam", device="cpu", half=False, runtime="torch")
    fast_emb, exact_emb = fast.embed(frame), exact.embed(frame)
    for label in (21, 22, 31):
        box = prompt_box(labels == label)
        got, ref = fast.predict(fast_emb, box=box), exact.predict(exact_emb, box=box)
        assert dice(got.mask, ref.mask) >= 0.99, label


def test_bf16_is_the_cpu_default_only_where_it_is_native(monkeypatch):
    """oneDNN emulates bf16 on plain AVX-512, slower than float32: the default needs the
    CPU's AVX512-BF16 or AMX flag."""
    from evosam.models import backend

    monkeypatch.setattr(backend, "cpu_can_bf16", lambda: True)
    assert not backend.cpu_has_bf16({"avx512f", "avx512bw", "avx512_vnni"})
    assert backend.cpu_has_bf16({"avx512f", "avx512_bf16"})
    assert backend.cpu_has_bf16({"amx_bf16", "amx_tile"})
    assert not backend.cpu_has_bf16(set())  # flags unknown (not Linux): float32, the safe choice
    monkeypatch.setattr(backend, "cpu_can_bf16", lambda: False)
    assert not backend.cpu_has_bf16({"avx512_bf16"})
    monkeypatch.setattr(backend, "cpu_can_bf16", lambda: True)
    cpu = torch.device("cpu")
    # auto: OpenVINO for float32, and for native bf16 (where it measured 2x PyTorch's), not
    # for bf16 forced on a CPU that emulates it
    assert backend.wants_openvino("auto", cpu, half=False, flags=set())
    assert backend.wants_openvino("auto", cpu, half=True, flags={"avx512_bf16"})
    assert backend.wants_openvino("auto", cpu, half=True, flags={"avx512_bf16", "amx_bf16", "amx_tile"})
    assert not backend.wants_openvino("auto", cpu, half=True, flags={"avx512f", "avx512bw"})
    assert not backend.wants_openvino("torch", cpu, half=False, flags=set())
    assert backend.wants_openvino("openvino", cpu, half=True, flags={"avx512_bf16"})
    assert not backend.wants_openvino("auto", torch.device("cuda"), half=True, flags={"amx_bf16"})
    monkeypatch.setattr(backend, "cpu_has_bf16", lambda flags=None: False)
    assert not load_model("mobilesam_vit_t", random_init=True, device="cpu", runtime="torch").half
    monkeypatch.setattr(backend, "cpu_has_bf16", lambda flags=None: True)
    assert load_model("mobilesam_vit_t", random_init=True, device="cpu", runtime="torch").half
