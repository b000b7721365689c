"""The image encoder (and the box-prompt decoder) compiled by OpenVINO for the CPU.

On a CPU without native bfloat16 PyTorch runs LiteMedSAM's encoder in float32 at about
1.4-1.8 s per frame on two cores; OpenVINO's CPU plugin runs the same float32 graph in
0.85-0.92 s with outputs equal to 4e-6 (docs/benchmarks.md). The network is converted from
its PyTorch module once per set of weights (about 17 s for LiteMedSAM) and cached as
OpenVINO IR, an XML graph and a weights file (data, not code), under
``evosam.paths.user_cache_dir() / "openvino"``; later loads compile the cached IR in about 1 s.
Randomly initialised networks are converted in memory and never cached.

The mask decoder's box-prompt path (``evosam.models.decoder.BoxDecoder``) is compiled the same
way (about 5 s, cached beside the encoder): 84-94 ms per box against PyTorch's 114-121 ms on
the same CPU, logits equal to 4e-5. Point and mask prompts stay on PyTorch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import torch

from evosam.paths import user_cache_dir

CACHE_VERSION = 2  # bump when the conversion below changes what a cached IR holds
CACHE_ENTRIES_KEPT = 6  # least recently used IR folders beyond this are deleted (two per model)
IR_NAME = "model.xml"


def openvino_version() -> str | None:
    """The installed OpenVINO's version, or None when it cannot be imported."""
    try:
        import openvino
    except Exception:  # a missing or broken install: the caller falls back to PyTorch
        return None
    return str(openvino.get_version()).split("-")[0]


def weights_digest(module: torch.nn.Module) -> str:
    """A digest of a module's parameters and buffers (names, dtypes, shapes and values)."""
    h = hashlib.blake2b(digest_size=16)
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


PARTS = ("encoder", "box-decoder")  # what a model on OpenVINO converts


def entry_prefix(model_name: str, part: str) -> str:
    """The readable start of the IR folders of ``part`` of ``model_name`` converted by this
    code and this OpenVINO, e.g. ``litemedsam-encoder-v2-ov2026.4.1-``."""
    return f"{model_name}-{part}-v{CACHE_VERSION}-ov{openvino_version()}-"


def cache_key(model_name: str, input_side: int, digest: str, part: str = "encoder") -> str:
    """Names the IR folder: what was converted (``part`` of ``model_name``, by which code and
    OpenVINO: ``entry_prefix``), then a hash of the input side and the weights digest."""
    text = json.dumps([input_side, digest])
    return entry_prefix(model_name, part) + hashlib.sha256(text.encode()).hexdigest()[:16]


def is_cached(model_name: str, cache_root: Path | None = None) -> bool:
    """Whether every part of ``model_name`` has a folder of this code and this OpenVINO in the
    cache (for some weights: which ones is known only once the model is loaded)."""
    names = [p.name for p in cached_entries(cache_root)]
    return all(any(n.startswith(entry_prefix(model_name, part)) for n in names) for part in PARTS)


class OpenVinoEncoder:
    """Callable like the PyTorch encoder: (B, 3, S, S) float32 -> features (B, C, h, w) float32.

    Holds one inference request: like ``SamBackend``, one owner thread. OpenVINO releases
    Python's GIL while it computes (a GUI thread keeps running)."""

    def __init__(self, compiled, precision: str) -> None:
        self._request = compiled.create_infer_request()
        self.precision = precision  # "f32" or "bf16"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """A batch runs frame by frame: the model is compiled for one (the CPU gains nothing from batches)."""
        x = x.detach().float().cpu().contiguous().numpy()
        outs = [np.array(self._request.infer([x[i : i + 1]])[0], dtype=np.float32, copy=True) for i in range(len(x))]
        return torch.from_numpy(outs[0] if len(outs) == 1 else np.concatenate(outs))


class OpenVinoBoxDecoder:
    """Callable like ``BoxDecoder``: (image embedding (1, C, h, w), box (1, 4)) float32 ->
    (logits (1, 1, m, m), IoU (1, 1), upscaled embedding (1, 32, m, m)). One owner thread."""

    def __init__(self, compiled) -> None:
        self._request = compiled.create_infer_request()

    def __call__(self, image_emb: torch.Tensor, box: torch.Tensor) -> tuple[torch.Tensor, ...]:
        inputs = [t.detach().float().cpu().contiguous().numpy() for t in (image_emb, box)]
        out = self._request.infer(inputs)
        return tuple(torch.from_numpy(np.array(out[i], dtype=np.float32, copy=True)) for i in range(3))


def _convert(module: torch.nn.Module, example: tuple[torch.Tensor, ...]):
    """Trace a PyTorch module into an OpenVINO model (float32 weights kept)."""
    import openvino as ov

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the networks' shape asserts
        return ov.convert_model(module, example_input=example[0] if len(example) == 1 else example)


def _save_atomically(model, folder: Path) -> None:
    """Write the IR into a private folder, then rename it into place (no half-written entry)."""
    import openvino as ov

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        ov.save_model(model, str(tmp / IR_NAME), compress_to_fp16=False)
        os.replace(tmp, folder)
    except OSError:
        if not (folder / IR_NAME).is_file():  # not another process winning the same race
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cached_entries(cache_root: Path | None = None) -> list[Path]:
    """The converted-network folders in the cache (default root: the user cache folder)."""
    root = Path(cache_root) if cache_root is not None else user_cache_dir() / "openvino"
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]


def _prune(root: Path, keep: Path) -> None:
    """Delete the least recently used IR folders beyond ``CACHE_ENTRIES_KEPT``, and temporary
    folders older than an hour (left by a conversion that was killed)."""
    entries = sorted(cached_entries(root), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in entries if p != keep][CACHE_ENTRIES_KEPT - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    for tmp in root.glob(".*.tmp"):
        if time.time() - tmp.stat().st_mtime > 3600:
            shutil.rmtree(tmp, ignore_errors=True)


def compile_encoder(
    encoder: torch.nn.Module,
    model_name: str,
    input_side: int,
    precision: str = "f32",
    cache: bool = True,
    cache_root: Path | None = None,
) -> OpenVinoEncoder:
    """Compile ``encoder`` (a float32 module on the CPU, in eval mode) for OpenVINO's CPU plugin.

    ``precision``: ``f32`` (same results as PyTorch float32) or ``bf16``. ``cache``: keep the
    converted IR on disk, keyed by the weights (False for random weights). A cached entry that
    OpenVINO cannot read is deleted and converted again. Raises what OpenVINO raises when the
    network cannot be converted or compiled; the caller falls back to PyTorch."""
    example = (torch.zeros(1, 3, input_side, input_side),)
    compiled = _compile(encoder, example, model_name, PARTS[0], input_side, precision, cache, cache_root)
    return OpenVinoEncoder(compiled, precision)


def compile_box_decoder(
    decoder: torch.nn.Module,
    model_name: str,
    input_side: int,
    embedding_shape: tuple[int, ...],
    cache: bool = True,
    cache_root: Path | None = None,
) -> OpenVinoBoxDecoder:
    """Compile a ``BoxDecoder`` (float32, eval mode) for image embeddings of ``embedding_shape``
    (1, C, h, w), float32; cached like the encoder (``compile_encoder``)."""
    example = (torch.zeros(embedding_shape), torch.tensor([[0.0, 0.0, input_side / 2, input_side / 2]]))
    return OpenVinoBoxDecoder(_compile(decoder, example, model_name, PARTS[1], input_side, "f32", cache, cache_root))


def _compile(
    module: torch.nn.Module,
    example: tuple[torch.Tensor, ...],
    model_name: str,
    part: str,
    input_side: int,
    precision: str,
    cache: bool,
    cache_root: Path | None,
):
    """``module`` compiled for the CPU plugin, from the cached IR of this part and these weights
    when there is one, else converted (and cached when ``cache``)."""
    import openvino as ov

    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
    if not cache:
        return core.compile_model(_convert(module, example), "CPU", config)
    root = Path(cache_root) if cache_root is not None else user_cache_dir() / "openvino"
    folder = root / cache_key(model_name, input_side, weights_digest(module), part)
    if (folder / IR_NAME).is_file():
        try:
            compiled = core.compile_model(str(folder / IR_NAME), "CPU", config)
            os.utime(folder)  # most recently used
            return compiled
        except Exception as exc:  # noqa: BLE001 - a damaged entry: convert again
            warnings.warn(f"{folder}: cached OpenVINO {part} unreadable ({exc}); converting again", stacklevel=3)
            shutil.rmtree(folder, ignore_errors=True)
    model = _convert(module, example)
    try:
        _save_atomically(model, folder)
        _prune(root, keep=folder)
    except OSError as exc:  # a read-only or full cache folder costs the next start a conversion, nothing else
        warnings.warn(f"{root}: cannot cache the OpenVINO {part} ({exc})", stacklevel=3)
    return core.compile_model(model, "CPU", config)
