"""Safe loading of untrusted model checkpoints (``torch.load(weights_only=True)``)."""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from evosam.errors import CheckpointError


def load_state_dict(path: str | Path, expected: str) -> dict[str, torch.Tensor]:
    """Read a state dict from ``path`` without executing code; ``expected`` names the model
    for error messages. Accepts a bare state dict or one wrapped under ``model``/``state_dict``."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint file not found (expected {expected} weights)")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{p}: checkpoint file is empty (expected {expected} weights)")
    if not _looks_like_torch_file(p):
        raise CheckpointError(f"{p}: not a PyTorch checkpoint file (expected {expected} weights)")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{p}: checkpoint refused: it carries code or objects other than plain weights (expected {expected})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{p}: cannot read checkpoint, truncated or corrupt ({type(exc).__name__})") from None
    for key in ("model", "state_dict"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{p}: not a state dict of tensors (expected {expected} weights)")
    return dict(obj)


def _looks_like_torch_file(path: Path) -> bool:
    """A zip archive (torch.save since 1.6) or a raw pickle (protocol 2+ starts with 0x80)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    return head.startswith(b"PK") or head[:1] == b"\x80"


def load_into(net: torch.nn.Module, path: str | Path, expected: str) -> None:
    """Load ``path`` into ``net`` strictly; a mismatch is reported as the wrong architecture."""
    state = load_state_dict(path, expected)
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        detail = f"{len(missing)} missing, {len(unexpected)} unexpected, {len(wrong)} mis-shaped tensors"
        raise CheckpointError(f"{Path(path)}: wrong architecture for {expected} ({detail})")
    net.load_state_dict(state, strict=True)
