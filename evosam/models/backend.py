"""A stateless SAM backend: ``embed(frame) -> Embedding``, ``predict(embedding, prompt) -> Prediction``.

One class serves every SAM-family network (original SAM, MedSAM, MobileSAM, LiteMedSAM):
they share the prompt encoder and mask decoder and differ in image encoder, input side
and pixel normalisation, which a ``ModelSpec`` states.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from evosam.errors import InputError
from evosam.imageio import as_rgb_uint8
from evosam.models.decoder import decode_all
from evosam.models.types import Embedding, Points, Prediction, crop_and_resize, resized_shape, validate_box
from evosam.names import RUNTIMES  # who runs the image encoder on the CPU

Normalization = Literal["imagenet", "minmax"]
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class ModelSpec:
    """What a backend needs to know about a network besides its modules."""

    name: str
    display_name: str
    input_side: int  # square model input, e.g. 1024 for SAM, 256 for LiteMedSAM
    normalization: Normalization
    point_prompts: bool = True  # False: trained on boxes alone (its decoder degrades with points)


def cpu_info(field: str) -> str | None:
    """A field of the first processor in Linux's ``/proc/cpuinfo`` (e.g. ``flags``, ``model
    name``); None elsewhere or when absent."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() == field:
                    return value.strip()
    except OSError:
        pass
    return None


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux reports them; empty elsewhere."""
    return set((cpu_info("flags") or "").split())


def cpu_can_bf16() -> bool:
    """Whether oneDNN runs bfloat16 on this CPU at all (natively or emulated on AVX-512)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def cpu_has_bf16(flags: set[str] | None = None) -> bool:
    """Whether this CPU runs bfloat16 natively (AVX512-BF16 or AMX), so autocast pays off.
    oneDNN also accepts bf16 on plain AVX-512 by emulation, where it is slower than float32
    (LiteMedSAM's encoder: 2.2 s against 1.4 s on a Xeon with AVX-512 but no AVX512-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return bool({"avx512_bf16", "amx_bf16"} & flags) and cpu_can_bf16()


def wants_openvino(runtime: str, device: torch.device, half: bool, flags: set[str] | None = None) -> bool:
    """Whether ``runtime`` asks OpenVINO to run the image encoder: only on the CPU; ``auto``
    where the encoder runs float32 (no native bf16) or bf16 natively (AVX512-BF16 or AMX:
    about 2x PyTorch's bf16 on both, docs/benchmarks.md), not where bf16 is forced on a CPU
    that only emulates it; ``openvino`` always."""
    if runtime not in RUNTIMES:
        raise InputError(f"runtime {runtime!r}: use {', '.join(RUNTIMES)}")
    if device.type != "cpu":
        return False
    return runtime == "openvino" or (runtime == "auto" and (not half or cpu_has_bf16(flags)))


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"device {device!r}: use auto, cpu or cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r}: CUDA is not available on this machine")
    return torch.device(device)


class SamBackend:
    """Runs one SAM-family network. Holds no per-image state; not thread-safe (one owner)."""

    def __init__(
        self,
        net: torch.nn.Module,
        spec: ModelSpec,
        device: str = "auto",
        half: bool | None = None,
        runtime: str = "auto",
        cache_encoder: bool = True,
    ) -> None:
        self.spec = spec
        self.device = resolve_device(device)
        # Half precision for the image encoder (float16 on CUDA, bfloat16 on a CPU with native
        # bf16 instructions: with channels-last, LiteMedSAM's encoder 1778 -> 754 ms on an AMD
        # EPYC with AVX512-BF16, masks Dice >= 0.995 against float32); the light decoder stays
        # in float32. ``half=True`` asks for it wherever it runs at all (on a
        # CPU without native bf16, emulated: same masks, slower).
        if half is None:
            self.half = self.device.type == "cuda" or cpu_has_bf16()
        else:
            self.half = bool(half) and (self.device.type == "cuda" or cpu_can_bf16())
        self.net = net.to(self.device).eval()
        # OpenVINO runs the float32 encoder 1.6-2x faster than PyTorch on a CPU, and the bf16
        # one 2x faster with native bf16 (AMX or AVX512-BF16; ``auto``: those cases).
        self.runtime = "torch"
        self._openvino = self._compile_openvino(runtime, cache_encoder)
        if self._openvino is not None:
            self.runtime = "openvino"
            net.image_encoder = None  # OpenVINO holds its own copy (ViT-B: 358 MB of weights)
        elif self.device.type == "cpu":  # oneDNN's convolutions run 1.5x faster channels-last (same results)
            net.image_encoder.to(memory_format=torch.channels_last)
        self.image_encoder = net.image_encoder
        self.prompt_encoder = net.prompt_encoder
        self.mask_decoder = net.mask_decoder
        # with the encoder on OpenVINO, box prompts are decoded there too (1.3x; points stay on PyTorch)
        self._box_decoder = self._compile_box_decoder(cache_encoder) if self._openvino is not None else None
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    def _compile_openvino(self, runtime: str, cache: bool):
        """The encoder compiled by OpenVINO when ``runtime`` asks for it and it works, else None
        (PyTorch runs it; a failure is a warning, never an error)."""
        if not wants_openvino(runtime, self.device, self.half):
            return None
        from evosam.models.openvino_cpu import compile_encoder, openvino_version

        if openvino_version() is None:
            if runtime == "openvino":
                warnings.warn("OpenVINO is not installed: the image encoder runs on PyTorch", stacklevel=3)
            return None
        if self.half and not cpu_has_bf16():  # OpenVINO's emulated bf16 did not compile in 8 minutes
            warnings.warn(
                "OpenVINO runs bf16 only on a CPU with native bf16: the image encoder runs on PyTorch", stacklevel=3
            )
            return None
        try:
            precision = "bf16" if self.half else "f32"
            return compile_encoder(self.net.image_encoder, self.spec.name, self.spec.input_side, precision, cache)
        except Exception as exc:  # noqa: BLE001 - any conversion failure: PyTorch still runs the network
            warnings.warn(
                f"OpenVINO could not compile the {self.spec.display_name} encoder ({exc}); "
                "the image encoder runs on PyTorch",
                stacklevel=3,
            )
            return None

    def _compile_box_decoder(self, cache: bool):
        """The box-prompt decoder compiled by OpenVINO, or None (PyTorch decodes; a failure is a warning)."""
        from evosam.models.decoder import BoxDecoder
        from evosam.models.openvino_cpu import compile_box_decoder

        pe = self.prompt_encoder
        shape = (1, pe.embed_dim, *pe.image_embedding_size)
        try:
            return compile_box_decoder(
                BoxDecoder(pe, self.mask_decoder).eval(), self.spec.name, self.spec.input_side, shape, cache
            )
        except Exception as exc:  # noqa: BLE001 - any conversion failure: PyTorch still decodes
            warnings.warn(
                f"OpenVINO could not compile the {self.spec.display_name} decoder ({exc}); "
                "box prompts are decoded by PyTorch",
                stacklevel=3,
            )
            return None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def decoder_runtime(self) -> str:
        """Who decodes box prompts: ``openvino`` or ``torch`` (points and mask prompts: always PyTorch)."""
        return "openvino" if self._box_decoder is not None else "torch"

    def describe(self) -> str:
        """e.g. ``LiteMedSAM · CPU``, ``LiteMedSAM · CPU OpenVINO`` or ``LiteMedSAM · CUDA fp16``."""
        extras = (["OpenVINO"] if self.runtime == "openvino" else []) + ([self.half_name] if self.half else [])
        return f"{self.spec.display_name} · {' '.join([self.device.type.upper(), *extras])}"

    @property
    def half_name(self) -> str:
        return "fp16" if self.device.type == "cuda" else "bf16"

    # -- image encoder -------------------------------------------------------------
    def preprocess(self, frame: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
        """RGB uint8 (H, W, 3) -> normalised, padded float tensor (1, 3, S, S) and resized (h, w)."""
        rgb = as_rgb_uint8(frame)
        side = self.spec.input_side
        h, w = resized_shape(rgb.shape[:2], side)
        x = torch.from_numpy(rgb if rgb.flags.writeable else rgb.copy()).to(self.device).permute(2, 0, 1)[None].float()
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        if self.spec.normalization == "imagenet":
            x = (x - self._mean) / self._std
        else:
            lo, hi = x.amin(), x.amax()
            x = (x - lo) / torch.clamp(hi - lo, min=1e-8)
        x = F.pad(x, (0, side - w, 0, side - h))
        return x, (h, w)

    @torch.inference_mode()
    def embed(self, frame: np.ndarray) -> Embedding:
        """Encode one RGB uint8 frame (H, W, 3)."""
        x, input_size = self.preprocess(frame)
        return Embedding(self._encode(x), tuple(frame.shape[:2]), input_size, self.spec.name)

    @torch.inference_mode()
    def embed_batch(self, frames: Sequence[np.ndarray]) -> list[Embedding]:
        """Encode several RGB uint8 frames (each (H, W, 3); sizes may differ) in one encoder
        call: on a GPU a batch keeps the device busy. OpenVINO's compiled encoder takes one
        frame at a time (the CPU gains nothing from batches). Same results as ``embed``."""
        if not frames:
            return []
        inputs = [self.preprocess(f) for f in frames]
        # each embedding gets its own storage (a view would keep the whole batch alive)
        features = [f[None].clone() for f in self._encode(torch.cat([x for x, _ in inputs]))]
        return [
            Embedding(feat, tuple(frame.shape[:2]), size, self.spec.name)
            for feat, frame, (_, size) in zip(features, frames, inputs, strict=True)
        ]

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        """Preprocessed input (B, 3, S, S) -> features (B, 256, h, w) on the model's device
        (float32 on the CPU; the encoder's half type on CUDA when ``half``)."""
        if self._openvino is not None:
            return self._openvino(x)
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.half):
                return self.image_encoder(x).float().contiguous()
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.half):
            return self.image_encoder(x)

    # -- prompt encoder and mask decoder --------------------------------------------
    def _to_input_coords(self, xy: np.ndarray, emb: Embedding) -> np.ndarray:
        h, w = emb.frame_size
        return xy * np.array([emb.input_size[1] / w, emb.input_size[0] / h])

    def _mask_input(self, mask_prompt: np.ndarray, emb: Embedding) -> torch.Tensor:
        """Frame-size logits or bool mask (H, W) -> (1, 1, m, m) logits in padded input space."""
        m = np.asarray(mask_prompt)
        if m.shape != tuple(emb.frame_size):
            raise InputError(f"mask prompt of shape {m.shape} does not match the frame {emb.frame_size}")
        t = torch.from_numpy(m.astype(np.float32))
        if m.dtype == bool:
            t = t * 40.0 - 20.0  # confident logits for a binary mask
        side_m = 4 * emb.features.shape[-1]
        h, w = emb.input_size
        hm, wm = round(h * side_m / self.spec.input_side), round(w * side_m / self.spec.input_side)
        t = F.interpolate(t[None, None], size=(hm, wm), mode="bilinear", align_corners=False)
        t = F.pad(t, (0, side_m - wm, 0, side_m - hm), value=-20.0)
        return t.to(self.device)

    @torch.inference_mode()
    def predict(
        self,
        embedding: Embedding,
        box: tuple[float, float, float, float] | np.ndarray | None = None,
        points: Points | None = None,
        mask_prompt: np.ndarray | None = None,
    ) -> Prediction:
        """Decode one mask for a box and/or points (frame pixels) and an optional mask prompt."""
        if embedding.model_name != self.spec.name:
            raise InputError(f"embedding from model {embedding.model_name!r} given to {self.spec.name!r}")
        if box is None and (points is None or points.coords.shape[0] == 0):
            raise InputError("a prompt needs a box or at least one point")
        pts = boxes = masks = None
        if box is not None:
            b = validate_box(box, embedding.frame_size).reshape(2, 2)
            boxes = torch.as_tensor(self._to_input_coords(b, embedding).reshape(1, 4), dtype=torch.float32)
            boxes = boxes.to(self.device)
        if points is not None and points.coords.shape[0] > 0:
            c = torch.as_tensor(self._to_input_coords(points.coords, embedding), dtype=torch.float32)
            lab = torch.as_tensor(points.labels, dtype=torch.int64)
            pts = (c[None].to(self.device), lab[None].to(self.device))
        if mask_prompt is not None:
            masks = self._mask_input(mask_prompt, embedding)
        if self._box_decoder is not None and pts is None and masks is None:
            low, iou_map, feats = self._box_decoder(embedding.features, boxes)
            iou = float(iou_map[0, 0])
        else:
            sparse, dense = self.prompt_encoder(points=pts, boxes=boxes, masks=masks)
            low, iou, feats = self._decode(
                embedding.features, sparse, dense, multimask=box is None and pts[0].shape[1] == 1
            )
        logits = crop_and_resize(low, embedding.input_size, self.spec.input_side, embedding.frame_size)
        return Prediction(
            logits=logits[0, 0].cpu().numpy(),
            iou=float(iou),
            low_res_logits=low[0, 0].float().cpu().numpy(),
            decoder_features=feats[0].float().cpu().numpy(),
            input_size=embedding.input_size,
            input_side=self.spec.input_side,
        )

    @torch.inference_mode()
    def predict_boxes(
        self, embedding: Embedding, boxes: Sequence[tuple[float, float, float, float] | np.ndarray]
    ) -> list[Prediction]:
        """One mask per box (frame pixels) on one embedding, all boxes in one decoder call
        (SAM's decoder takes a batch of prompts per image embedding): ``predict(embedding,
        box=b)`` for each ``b``, up to float rounding. The OpenVINO box decoder is compiled
        for one box, so there the boxes are decoded one after another."""
        if not boxes:
            return []
        if embedding.model_name != self.spec.name:
            raise InputError(f"embedding from model {embedding.model_name!r} given to {self.spec.name!r}")
        if self._box_decoder is not None or len(boxes) == 1:
            return [self.predict(embedding, box=b) for b in boxes]
        xy = np.stack([validate_box(b, embedding.frame_size).reshape(2, 2) for b in boxes])
        coords = torch.as_tensor(self._to_input_coords(xy, embedding).reshape(-1, 4), dtype=torch.float32)
        sparse, dense = self.prompt_encoder(points=None, boxes=coords.to(self.device), masks=None)
        masks, iou, feats = decode_all(self.prompt_encoder, self.mask_decoder, embedding.features, sparse, dense)
        low = masks[:, :1]
        logits = crop_and_resize(low, embedding.input_size, self.spec.input_side, embedding.frame_size)
        logits, low, ious, feats = (
            logits[:, 0].cpu().numpy(),
            low[:, 0].float().cpu().numpy(),
            iou[:, 0].tolist(),
            feats.float().cpu().numpy(),
        )
        return [
            Prediction(logits[i], float(ious[i]), low[i], feats[i], embedding.input_size, self.spec.input_side)
            for i in range(len(boxes))
        ]

    def _decode(
        self, image_emb: torch.Tensor, sparse: torch.Tensor, dense: torch.Tensor, multimask: bool
    ) -> tuple[torch.Tensor, float, torch.Tensor]:
        """SAM's MaskDecoder.predict_masks, also returning the upscaled per-pixel embedding.

        Returns low-res logits (1, 1, m, m), predicted IoU, and features (1, C, m, m).
        """
        masks, iou, upscaled = decode_all(self.prompt_encoder, self.mask_decoder, image_emb, sparse, dense)
        k = int(torch.argmax(iou[0, 1:])) + 1 if multimask else 0
        # The chosen mask is a linear readout of ``upscaled``: keep both for the head.
        return masks[:, k : k + 1], float(iou[0, k]), upscaled
