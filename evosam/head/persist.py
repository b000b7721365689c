"""Saving and loading a head's state as a versioned ``.npz`` (no pickle, atomic write)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from evosam.errors import InputError
from evosam.head.features import FEATURE_VERSION, FeatureConfig
from evosam.head.head import EvoHead, HeadConfig
from evosam.head.ridge import Stats
from evosam.imageio import write_bytes_atomic

HEAD_SCHEMA_VERSION = 1


def save_head(head: EvoHead, path: str | Path) -> None:
    """Write the head's statistics, model name and configuration to ``path`` (.npz)."""
    meta = {
        "schema_version": HEAD_SCHEMA_VERSION,
        "model_name": head.model_name,
        "feature_version": FEATURE_VERSION,
        "feature_digest": head.config.features.digest(),
        "config": asdict(head.config),
        "profiles": list(head.profiles),
    }
    arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    for i, s in enumerate(head.profiles.values()):
        arrays.update(
            {
                f"p{i}_G": s.G,
                f"p{i}_c": s.c,
                f"p{i}_mean_sum": s.mean_sum,
                f"p{i}_counts": np.array([s.frames, s.pixels], dtype=np.float64),
            }
        )
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_bytes_atomic(Path(path), buf.getvalue())


def load_head(path: str | Path, model_name: str, features: FeatureConfig | None = None) -> EvoHead:
    """Read a head saved by ``save_head``; refuse one built for another model, another
    feature set, or a newer schema, with one line naming the file."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(bytes(arrays["meta"]).decode())
        if not isinstance(meta, dict):
            raise ValueError("meta is not an object")
    except FileNotFoundError:
        raise InputError(f"{p}: head state file not found") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, EOFError):
        raise InputError(f"{p}: not a readable head state (corrupt or not an EvoSAM .npz)") from None
    version = meta.get("schema_version")
    if not isinstance(version, int):
        raise InputError(f"{p}: not an EvoSAM head state (no schema version)")
    if version > HEAD_SCHEMA_VERSION:
        raise InputError(f"{p}: head state schema {version} is newer than this EvoSAM ({HEAD_SCHEMA_VERSION}); update")
    if meta.get("model_name") != model_name:
        raise InputError(f"{p}: head state was built for model {meta.get('model_name')!r}, not {model_name!r}")
    if meta.get("feature_version") != FEATURE_VERSION:
        raise InputError(
            f"{p}: head state was built with feature version {meta.get('feature_version', 1)}, "
            f"this EvoSAM computes version {FEATURE_VERSION}; teach the head again"
        )
    try:
        config = _config_from(meta["config"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{p}: head state has an unreadable configuration") from None
    if features is not None and features.digest() != config.features.digest():
        raise InputError(f"{p}: head state was built with another feature set ({config.features.digest()})")
    if config.features.digest() != meta.get("feature_digest"):
        raise InputError(f"{p}: head state's feature description does not match its digest (corrupt?)")
    try:
        profiles = {name: _stats(arrays, i, config.features.dim) for i, name in enumerate(meta["profiles"])}
    except (KeyError, ValueError) as exc:
        raise InputError(f"{p}: head state is incomplete or mis-shaped ({exc})") from None
    return EvoHead(model_name, config, profiles)


def _stats(arrays: dict[str, np.ndarray], i: int, dim: int) -> Stats:
    g, c, mean_sum, counts = (arrays[f"p{i}_{k}"] for k in ("G", "c", "mean_sum", "counts"))
    if g.shape != (dim, dim) or c.shape != (dim,) or mean_sum.shape != (dim,) or counts.shape != (2,):
        raise ValueError(f"profile {i} has shapes {g.shape}, {c.shape}")
    return Stats(
        g.astype(np.float64), c.astype(np.float64), mean_sum.astype(np.float64), int(counts[0]), float(counts[1])
    )


def _config_from(raw: dict) -> HeadConfig:
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return HeadConfig(**{**fields, "features": FeatureConfig.from_dict(raw["features"])})
