"""Durable file operations for project folders: atomic writes, directory fsync, mask PNGs."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import cv2
import numpy as np

from evosam.annotations import PackedMask
from evosam.errors import ProjectError
from evosam.imageio import write_atomic  # noqa: F401  (re-exported: one atomic writer)


def why(exc: OSError) -> str:
    """A short reason for an OSError ("No space left on device", "Permission denied")."""
    return exc.strerror or os.strerror(exc.errno) if exc.errno else str(exc)


def fsync_dir(folder: Path) -> None:
    """Make renames and new files in ``folder`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def mask_digest(packed: PackedMask) -> str:
    """12 hex characters identifying a mask's bits (its file name part): equal masks, equal names."""
    h = hashlib.sha1(f"{packed.shape[0]}x{packed.shape[1]};".encode())
    h.update(packed.data)
    return h.hexdigest()[:12]


def encode_mask_png(packed: PackedMask) -> bytes:
    """A packed mask as an 8-bit 0/255 grayscale PNG (lossless)."""
    m = packed.unpack().mask
    ok, buf = cv2.imencode(".png", np.where(m, 255, 0).astype(np.uint8))
    if not ok:
        raise ProjectError(f"could not encode a {m.shape[1]}x{m.shape[0]} mask as PNG")
    return buf.tobytes()


def read_mask_file(path: Path, size: tuple[int, int], what: str) -> np.ndarray:
    """A mask PNG as bool (H, W) (non-zero = foreground); ProjectError naming ``path`` and
    ``what`` (e.g. "frame 3, label vessel") when missing, unreadable or not ``size`` (H, W)."""
    if not path.is_file():
        raise ProjectError(f"{path}: mask file of {what} is missing (incomplete project)")
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ProjectError(f"{path}: mask file of {what} is not a readable image (corrupt project)")
    if img.ndim == 3:
        img = img.max(axis=2)
    if img.shape != tuple(size):
        raise ProjectError(f"{path}: mask of {what} is {img.shape[1]}x{img.shape[0]}, the video is {size[1]}x{size[0]}")
    return img > 0


def remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
