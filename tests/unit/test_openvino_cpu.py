"""The image encoder and the box decoder on OpenVINO: same masks as PyTorch float32, a
converted-model cache that is keyed by the weights, written atomically, rebuilt when damaged
and bounded; and a backend that falls back to PyTorch, with a warning, wherever OpenVINO
cannot run."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch

from evosam.errors import InputError
from evosam.masks import dice, prompt_box
from evosam.models import Points, load_model
from evosam.models import openvino_cpu as ove
from evosam.models.backend import ModelSpec, SamBackend

needs_openvino = pytest.mark.skipif(ove.openvino_version() is None, reason="OpenVINO is not installed")


def tiny_encoder(seed: int = 0) -> torch.nn.Module:
    """A small network of the encoder's shape contract: (1, 3, 32, 32) -> (1, 4, 8, 8)."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=4, padding=1), torch.nn.GELU(), torch.nn.Conv2d(8, 4, 1))
    return net.eval()


def entries(root) -> list:
    return sorted(p for p in root.iterdir())


@needs_openvino
def test_openvino_encoder_gives_pytorch_float32_masks(chole_frame):
    frame, labels = chole_frame
    exact = load_model("litemedsam", device="cpu", runtime="torch", half=False)  # float32 also on a bf16 CPU
    fast = load_model("litemedsam", device="cpu", runtime="openvino", half=False)
    assert fast.runtime == "openvino" and fast.describe() == "LiteMedSAM · CPU OpenVINO"
    assert exact.runtime == "torch" and exact.describe() == "LiteMedSAM · CPU"
    fast_emb, exact_emb = fast.embed(frame), exact.embed(frame)
    assert fast_emb.features.dtype == torch.float32 and fast_emb.features.shape == exact_emb.features.shape
    assert float((fast_emb.features - exact_emb.features).abs().max()) < 1e-4
    for label in (21, 22, 31):
        box = prompt_box(labels == label)
        assert dice(fast.predict(fast_emb, box=box).mask, exact.predict(exact_emb, box=box).mask) >= 0.999, label


@needs_openvino
def test_box_prompts_are_decoded_by_openvino_like_pytorch(chole_frame):
    """With the encoder on OpenVINO, box prompts are decoded there too (same masks, logits to
    1e-3); point prompts still go through PyTorch."""
    frame, labels = chole_frame
    fast = load_model("litemedsam", device="cpu", runtime="openvino", half=False)
    emb = fast.embed(frame)
    compiled, fast._box_decoder = fast._box_decoder, None
    assert compiled is not None
    boxes = [prompt_box(labels == label) for label in (21, 22, 31)]
    pts = Points(np.array([[300.0, 200.0], [500.0, 300.0]]), np.array([1, 0]))
    plain = [fast.predict(emb, box=box) for box in boxes] + [fast.predict(emb, points=pts)]
    fast._box_decoder = compiled
    for box, want in zip(boxes, plain, strict=False):
        got = fast.predict(emb, box=box)
        assert dice(got.mask, want.mask) >= 0.999 and abs(got.iou - want.iou) < 1e-4
        np.testing.assert_allclose(got.logits, want.logits, atol=1e-3)
        np.testing.assert_allclose(got.decoder_features, want.decoder_features, atol=1e-4)
        assert got.low_res_logits.shape == want.low_res_logits.shape
    assert np.array_equal(fast.predict(emb, points=pts).logits, plain[-1].logits)  # PyTorch's, unchanged


@needs_openvino
def test_a_decoder_that_cannot_compile_leaves_box_prompts_to_pytorch(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operation aten::something")

    monkeypatch.setattr(ove, "compile_box_decoder", broken)
    with pytest.warns(UserWarning, match="could not compile the LiteMedSAM decoder.*decoded by PyTorch"):
        backend = load_model("litemedsam", device="cpu", runtime="openvino", half=False)
    assert backend.runtime == "openvino" and backend._box_decoder is None
    emb = backend.embed(np.full((90, 120, 3), 90, np.uint8))
    assert backend.predict(emb, box=(10, 10, 60, 50)).logits.shape == (90, 120)


@needs_openvino
def test_the_converted_encoder_is_cached_by_weights_and_reused(tmp_path, monkeypatch):
    net = tiny_encoder()
    x = torch.rand(1, 3, 32, 32)
    first = ove.compile_encoder(net, "tiny", 32, cache_root=tmp_path)
    with torch.inference_mode():
        np.testing.assert_allclose(first(x).numpy(), net(x).numpy(), atol=1e-5)
        pair = torch.cat([x, torch.rand(1, 3, 32, 32)])  # a batch runs frame by frame
        np.testing.assert_allclose(first(pair).numpy(), net(pair).numpy(), atol=1e-5)
    (entry,) = entries(tmp_path)  # one folder, no temporary left behind
    assert (entry / ove.IR_NAME).is_file() and not entry.name.startswith(".")

    def no_conversion(*args):
        raise AssertionError("converted again although the cache holds the model")

    monkeypatch.setattr(ove, "_convert", no_conversion)
    again = ove.compile_encoder(net, "tiny", 32, cache_root=tmp_path)
    np.testing.assert_array_equal(again(x).numpy(), first(x).numpy())
    monkeypatch.undo()
    ove.compile_encoder(tiny_encoder(seed=1), "tiny", 32, cache_root=tmp_path)  # other weights: other entry
    assert len(entries(tmp_path)) == 2


@needs_openvino
def test_a_damaged_cache_entry_is_converted_again(tmp_path):
    net = tiny_encoder()
    x = torch.rand(1, 3, 32, 32)
    ove.compile_encoder(net, "tiny", 32, cache_root=tmp_path)
    (entry,) = entries(tmp_path)
    (entry / ove.IR_NAME).write_text("<net><this is not an OpenVINO model", encoding="utf-8")
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt = ove.compile_encoder(net, "tiny", 32, cache_root=tmp_path)
    with torch.inference_mode():
        np.testing.assert_allclose(rebuilt(x).numpy(), net(x).numpy(), atol=1e-5)
    assert "<this is not" not in (entry / ove.IR_NAME).read_text(encoding="utf-8")


@needs_openvino
def test_the_cache_keeps_only_the_most_recently_used_entries(tmp_path):
    killed = tmp_path / ".0123abcd.999-deadbeef.tmp"  # a conversion killed two hours ago
    fresh = tmp_path / ".4567cdef.998-feedbeef.tmp"  # one running now in another process
    for folder, age in ((killed, 7200), (fresh, 0)):
        folder.mkdir()
        os.utime(folder, (time.time() - age, time.time() - age))
    for seed in range(ove.CACHE_ENTRIES_KEPT + 2):
        ove.compile_encoder(tiny_encoder(seed), "tiny", 32, cache_root=tmp_path)
    assert len(ove.cached_entries(tmp_path)) == ove.CACHE_ENTRIES_KEPT
    assert not killed.exists() and fresh.exists()


@needs_openvino
def test_an_unwritable_cache_costs_a_warning_not_the_encoder(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    with pytest.warns(UserWarning, match="cannot cache"):
        enc = ove.compile_encoder(tiny_encoder(), "tiny", 32, cache_root=blocker / "openvino")
    assert enc(torch.rand(1, 3, 32, 32)).shape == (1, 4, 8, 8)


def tiny_backend(**kwargs) -> SamBackend:
    net = load_model("mobilesam_vit_t", random_init=True, device="cpu", runtime="torch").net
    return SamBackend(net, ModelSpec("mobilesam_vit_t", "MobileSAM", 1024, "imagenet"), "cpu", **kwargs)


def test_the_backend_falls_back_to_pytorch_with_a_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operation aten::something")

    monkeypatch.setattr(ove, "openvino_version", lambda: "2026.4.1")
    monkeypatch.setattr(ove, "compile_encoder", broken)
    with pytest.warns(UserWarning, match="could not compile the MobileSAM encoder.*runs on PyTorch"):
        backend = tiny_backend(half=False, runtime="openvino")
    assert backend.runtime == "torch" and "OpenVINO" not in backend.describe()
    assert backend.embed(np.full((40, 60, 3), 90, np.uint8)).features.shape == (1, 256, 64, 64)


def test_without_openvino_auto_is_silent_and_openvino_warns(monkeypatch, recwarn):
    monkeypatch.setattr(ove, "openvino_version", lambda: None)
    assert tiny_backend(half=False, runtime="auto").runtime == "torch"
    assert not [w for w in recwarn if "OpenVINO" in str(w.message)]
    with pytest.warns(UserWarning, match="OpenVINO is not installed"):
        assert tiny_backend(half=False, runtime="openvino").runtime == "torch"


def test_auto_asks_openvino_for_bf16_where_the_cpu_has_it_natively(monkeypatch):
    """Native bf16 (AMX or AVX512-BF16): auto compiles the bf16 encoder with OpenVINO (2x
    PyTorch's bf16 on both, docs/benchmarks.md); here the compiler fails, so PyTorch runs it."""
    asked = []

    def refuse(*args):
        asked.append(args[3])  # the precision asked for
        raise RuntimeError("not compiled in this test")

    monkeypatch.setattr(ove, "openvino_version", lambda: "2026.4.1")
    monkeypatch.setattr(ove, "compile_encoder", refuse)
    monkeypatch.setattr("evosam.models.backend.cpu_can_bf16", lambda: True)
    monkeypatch.setattr("evosam.models.backend.cpu_has_bf16", lambda flags=None: True)
    with pytest.warns(UserWarning, match="could not compile"):
        assert tiny_backend(half=True, runtime="auto").runtime == "torch"
    assert asked == ["bf16"]


def test_auto_keeps_pytorch_where_bf16_is_forced_on_a_cpu_that_emulates_it(monkeypatch, recwarn):
    """``half=True`` on a CPU without native bf16: auto does not try OpenVINO (its emulated
    bf16 did not finish compiling), and says nothing: PyTorch runs it as asked."""

    def must_not_compile(*args, **kwargs):
        raise AssertionError("auto compiled with OpenVINO although the CPU only emulates bf16")

    monkeypatch.setattr(ove, "compile_encoder", must_not_compile)
    monkeypatch.setattr("evosam.models.backend.cpu_can_bf16", lambda: True)
    monkeypatch.setattr("evosam.models.backend.cpu_has_bf16", lambda flags=None: False)
    assert tiny_backend(half=True, runtime="auto").runtime == "torch"
    assert not [w for w in recwarn if "OpenVINO" in str(w.message)]


def test_openvino_bf16_needs_a_cpu_with_native_bf16(monkeypatch):
    """Emulated bf16 did not finish compiling in 8 minutes: PyTorch runs it instead."""
    monkeypatch.setattr(ove, "openvino_version", lambda: "2026.4.1")
    monkeypatch.setattr("evosam.models.backend.cpu_can_bf16", lambda: True)
    monkeypatch.setattr("evosam.models.backend.cpu_has_bf16", lambda flags=None: False)
    with pytest.warns(UserWarning, match="only on a CPU with native bf16"):
        assert tiny_backend(half=True, runtime="openvino").runtime == "torch"


def test_an_unknown_runtime_is_refused():
    with pytest.raises(InputError, match="runtime 'tensorrt'"):
        tiny_backend(runtime="tensorrt")


@needs_openvino
def test_a_first_start_says_that_it_converts_the_encoder(tmp_path, monkeypatch):
    from evosam.models.registry import load_note

    monkeypatch.setenv("EVOSAM_HOME", str(tmp_path))
    assert "converting the model for OpenVINO" in load_note("litemedsam", "cpu", "openvino")
    assert load_note("litemedsam", "cpu", "torch") == ""
    root = tmp_path / "cache" / "openvino"
    (root / "0123abcd").mkdir(parents=True)  # an entry of an older cache version or OpenVINO
    (root / (ove.entry_prefix("litemedsam", "encoder") + "0123")).mkdir()  # the encoder, not the decoder
    assert "converting the model for OpenVINO" in load_note("litemedsam", "cpu", "openvino")
    (root / (ove.entry_prefix("litemedsam", "box-decoder") + "0123")).mkdir()  # both parts cached
    assert load_note("litemedsam", "cpu", "openvino") == ""
    assert "converting" in load_note("mobilesam_vit_t", "cpu", "openvino")  # another model's are not
