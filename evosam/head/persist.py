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
        arrays.update(_stats_arrays(f"p{i}", s))
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
    config = _checked_config(p, meta, model_name, features)
    try:
        profiles = {name: _stats(arrays, i, config.features.dim) for i, name in enumerate(meta["profiles"])}
    except (KeyError, ValueError) as exc:
        raise InputError(f"{p}: head state is incomplete or mis-shaped ({exc})") from None
    return EvoHead(model_name, config, profiles)


def _stats_arrays(prefix: str, s: Stats) -> dict[str, np.ndarray]:
    """One profile's statistics as ``.npz`` arrays named ``{prefix}_G`` ... (``_stats`` reads them)."""
    return {
        f"{prefix}_G": s.G,
        f"{prefix}_c": s.c,
        f"{prefix}_mean_sum": s.mean_sum,
        f"{prefix}_counts": np.array([s.frames, s.pixels], dtype=np.float64),
    }


def _stats(arrays, i: int | str, dim: int) -> Stats:
    """Profile ``i``'s statistics (``p{i}_G``, ...; a str ``i`` is the whole prefix)."""
    prefix = i if isinstance(i, str) else f"p{i}"
    g, c, mean_sum, counts = (arrays[f"{prefix}_{k}"] for k in ("G", "c", "mean_sum", "counts"))
    if g.shape != (dim, dim) or c.shape != (dim,) or mean_sum.shape != (dim,) or counts.shape != (2,):
        raise ValueError(f"profile {i} has shapes {g.shape}, {c.shape}")
    return Stats(
        g.astype(np.float64), c.astype(np.float64), mean_sum.astype(np.float64), int(counts[0]), float(counts[1])
    )


def _config_from(raw: dict) -> HeadConfig:
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return HeadConfig(**{**fields, "features": FeatureConfig.from_dict(raw["features"])})


LEARNER_SCHEMA_VERSION = 2  # schema 1 is ``save_head``'s single head


def _json_key(key: object) -> object:
    """A learner key as JSON (tuples become lists); ``_key_from_json`` inverts it."""
    if isinstance(key, tuple):
        return [_json_key(k) for k in key]
    if isinstance(key, (str, int, float)) or key is None:
        return key
    raise InputError(f"a taught key must be made of strings and numbers, not {type(key).__name__}")


def _key_from_json(raw: object) -> object:
    return tuple(_key_from_json(k) for k in raw) if isinstance(raw, list) else raw


def save_learner(learner, path: str | Path) -> None:
    """Write a ``Learner``'s per-label heads (profile sums) and every taught key's samples
    (``FrameEvidence``) to ``path`` (.npz, atomic): enough to propose, un-teach any frame
    exactly and score it as unseen after reopening."""
    config = learner.config
    heads, arrays = [], {}
    for i, (label, head) in enumerate(learner.heads.items()):
        lite = learner.lite_heads.get(label)
        heads.append({"label": label, "profiles": list(head.profiles), "lite": list(lite.profiles) if lite else []})
        for j, s in enumerate(head.profiles.values()):
            arrays.update(_stats_arrays(f"h{i}_p{j}", s))
        for j, s in enumerate(lite.profiles.values() if lite else ()):
            arrays.update(_stats_arrays(f"h{i}_l{j}", s))
    taught = []
    for k, (key, t) in enumerate(learner.evidence().items()):
        ev = t.evidence
        taught.append(
            {
                "key": _json_key(key),
                "label": t.label,
                "profile": t.profile,
                "video": _json_key(ev.video),
                "frame": ev.frame,
                "specks": ev.specks if np.isfinite(ev.specks) else None,
            }
        )
        arrays.update(
            {f"e{k}_base": ev.base, f"e{k}_target": ev.target, f"e{k}_weight": ev.weight, f"e{k}_sam": ev.sam_logit}
        )
    meta = {
        "schema_version": LEARNER_SCHEMA_VERSION,
        "model_name": learner.model_name,
        "feature_version": FEATURE_VERSION,
        "feature_digest": config.features.digest(),
        "config": asdict(config),
        "heads": heads,
        "taught": taught,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_bytes_atomic(Path(path), buf.getvalue())


def load_learner(path: str | Path, model_name: str, features: FeatureConfig | None = None):
    """Read ``save_learner``'s file (or ``save_head``'s: a bare ``EvoHead``, schema 1) for
    ``model_name``; InputError (one line naming the file) for another model, another feature
    set, a newer schema or a corrupt file."""
    from evosam.head.evidence import FrameEvidence
    from evosam.learning import Learner, Taught

    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
    except FileNotFoundError:
        raise InputError(f"{p}: head state file not found") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, EOFError):
        raise InputError(f"{p}: not a readable head state (corrupt or not an EvoSAM .npz)") from None
    if not isinstance(meta, dict) or meta.get("schema_version") in (None, 1):
        return load_head(p, model_name, features)  # the checks and messages of a single head
    version = meta.get("schema_version")
    if not isinstance(version, int) or version > LEARNER_SCHEMA_VERSION:
        raise InputError(
            f"{p}: head state schema {version} is newer than this EvoSAM ({LEARNER_SCHEMA_VERSION}); update"
        )
    config = _checked_config(p, meta, model_name, features)
    dim, n_base = config.features.dim, config.features.n_base
    learner = Learner(model_name, config)
    lite_config = config.lite()
    try:
        with np.load(p, allow_pickle=False) as data:
            for i, entry in enumerate(meta["heads"]):
                profiles = {name: _stats(data, f"h{i}_p{j}", dim) for j, name in enumerate(entry["profiles"])}
                learner.heads[str(entry["label"])] = EvoHead(model_name, config, profiles)
                lite = {
                    name: _stats(data, f"h{i}_l{j}", lite_config.features.dim)
                    for j, name in enumerate(entry.get("lite", []))
                }
                if lite:  # absent from files written before the LITE view: rebuilt below
                    learner.lite_heads[str(entry["label"])] = EvoHead(model_name, lite_config, lite)
            for k, entry in enumerate(meta["taught"]):
                base, target, weight, sam = (data[f"e{k}_{n}"] for n in ("base", "target", "weight", "sam"))
                n = base.shape[0]
                if base.shape != (n, n_base) or target.shape != (n,) or weight.shape != (n,) or sam.shape != (n,):
                    raise ValueError(f"frame samples {k} are mis-shaped")
                ev = FrameEvidence(
                    base.astype(np.float32),
                    target.astype(bool),
                    weight.astype(np.float64),
                    sam.astype(np.float32),
                    _key_from_json(entry["video"]),
                    None if entry["frame"] is None else int(entry["frame"]),
                    _specks(entry.get("specks")),  # absent from files written before it was kept
                )
                learner._taught[_key_from_json(entry["key"])] = Taught(str(entry["label"]), str(entry["profile"]), ev)
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(f"{p}: head state is incomplete or mis-shaped ({exc})") from None
    learner.rebuild_views(set(learner.heads) - set(learner.lite_heads))
    for label in list(learner.heads):
        learner._rescore(label)
    return learner


def _specks(raw: object) -> float:
    """A taught frame's saved speck share (None or absent: unknown, NaN)."""
    return float("nan") if raw is None else float(raw)


def _checked_config(p: Path, meta: dict, model_name: str, features: FeatureConfig | None) -> HeadConfig:
    """The saved configuration, once the state is known to be for ``model_name`` and, when
    given, ``features`` (InputError naming the file otherwise)."""
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
    return config


def load_learner_with(path: str | Path, model_name: str, labels: set[str] | None = None):
    """``load_learner``, and InputError (one line naming the file) when it has no head for
    one of ``labels`` (default: its current label)."""
    learner = load_learner(path, model_name)
    wanted = {learner.label} if labels is None else set(labels)
    missing = sorted(wanted - set(learner.heads))
    if missing:
        has = ", ".join(learner.heads) or "none"
        raise InputError(f"{path}: no head for label {', '.join(map(repr, missing))} (it has: {has})")
    return learner
