"""Image/mask task folders for the learning benchmarks (the layout of ../shared/data).

A task folder holds ``images/`` and ``masks/`` with identical stems and optionally
``fov/`` (then Dice is computed inside the field of view).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from evosam.errors import InputError
from evosam.imageio import read_mask, read_rgb
from evosam.masks import prompt_box
from evosam.models import Prediction, SamBackend
from evosam.video import IMAGE_SUFFIXES


@dataclass(frozen=True)
class Sample:
    """One image of a task: RGB uint8 (H, W, 3), truth and FOV bool (H, W), the tight
    ground-truth box (the standard SAM evaluation prompt) and SAM's prediction for it."""

    name: str
    image: np.ndarray
    truth: np.ndarray
    fov: np.ndarray
    box: tuple[float, float, float, float]
    sam: Prediction


def task_stems(folder: Path) -> list[str]:
    images = folder / "images"
    if not images.is_dir() or not (folder / "masks").is_dir():
        raise InputError(f"{folder}: a task folder needs images/ and masks/ with identical stems")
    stems = sorted(p.stem for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not stems:
        raise InputError(f"{folder}/images: no images")
    return stems


def _find(folder: Path, stem: str) -> Path:
    for suffix in sorted(IMAGE_SUFFIXES):
        p = folder / f"{stem}{suffix}"
        if p.exists():
            return p
    raise InputError(f"{folder}: no file for {stem!r}")


def load_sample(folder: Path, stem: str, backend: SamBackend) -> Sample:
    """Read one image, its mask and FOV, and SAM's prediction for the tight box (disk-cached)."""
    image = read_rgb(_find(folder / "images", stem))
    truth = read_mask(_find(folder / "masks", stem), image.shape[:2])
    fov = read_mask(_find(folder / "fov", stem), image.shape[:2]) if (folder / "fov").is_dir() else np.ones_like(truth)
    box = prompt_box(truth)
    if box is None:
        raise InputError(f"{folder}/masks/{stem}: empty mask, nothing to prompt with")
    return Sample(stem, image, truth, fov, box, cached_prediction(backend, image, box))


def cached_prediction(backend: SamBackend, image: np.ndarray, box) -> Prediction:
    """SAM's prediction for (image, box), cached on disk by model, device, precision and runtimes,
    image content and box."""
    who = (backend.describe(), backend.decoder_runtime, tuple(box))
    key = hashlib.sha256(image.tobytes() + repr(who).encode()).hexdigest()[:24]
    path = Path(platformdirs.user_cache_dir("evosam")) / "predictions" / f"{key}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return Prediction(
                    z["logits"],
                    float(z["iou"]),
                    z["low"],
                    z["feats"].astype(np.float32),
                    tuple(int(v) for v in z["input_size"]),
                    int(z["input_side"]),
                )
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    pred = backend.predict(backend.embed(image), box=box)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        logits=pred.logits,
        iou=pred.iou,
        low=pred.low_res_logits,
        feats=pred.decoder_features.astype(np.float16),
        input_size=np.array(pred.input_size),
        input_side=pred.input_side,
    )
    tmp.replace(path)
    return pred
