"""Reading and writing single images and masks, with one-line errors and atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from evosam.errors import InputError


def as_rgb_uint8(frame: np.ndarray) -> np.ndarray:
    """Validate a frame as RGB uint8 (H, W, 3); grayscale and 16-bit images are converted."""
    a = np.asarray(frame)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"frame of shape {a.shape}: expected an RGB image (H, W, 3)")
    a = a[:, :, :3]
    if a.dtype == np.uint16:
        a = (a.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif a.dtype != np.uint8:
        raise InputError(f"frame of dtype {a.dtype}: expected 8- or 16-bit pixels")
    return np.ascontiguousarray(a)


def _imread(p: Path, what: str) -> np.ndarray:
    """The file's pixels as stored (OpenCV order), or a one-line InputError naming it."""
    if not p.is_file():
        raise InputError(f"{p}: {what} file not found")
    img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(f"{p}: not a readable {what}")
    return img


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3); grayscale and 16-bit are converted."""
    p = Path(path)
    img = _imread(p, "image")
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB if img.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    try:
        return as_rgb_uint8(img)
    except InputError as exc:
        raise InputError(f"{p}: {exc}") from None


def read_mask(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask image as bool (H, W): any non-zero pixel is foreground.
    ``shape`` (H, W), when given, must match."""
    p = Path(path)
    m = _imread(p, "mask image")
    if m.ndim == 3:
        m = m.max(axis=2)
    if shape is not None and m.shape != tuple(shape):
        raise InputError(f"{p}: mask is {m.shape[1]}x{m.shape[0]} but the frame is {shape[1]}x{shape[0]}")
    return m > 0


def write_mask_png(path: str | Path, mask: np.ndarray) -> None:
    """Write a bool (H, W) mask as a 0/255 PNG, atomically (temp file then ``os.replace``)."""
    p = Path(path)
    ok, buf = cv2.imencode(".png", np.where(mask, 255, 0).astype(np.uint8))
    if not ok:
        raise InputError(f"{p}: could not encode the mask as PNG")
    write_bytes_atomic(p, buf.tobytes())


def umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it (and back at once)
    os.umask(mask)
    return mask


def as_new_file(path: str | Path, folder: bool = False) -> None:
    """Give a temp file (``folder``: a temp folder) the permissions the umask gives a new one
    (``tempfile`` makes them owner-only, 0600 / 0700) before it is moved into place as an
    output the user made. Raises OSError."""
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync, ``os.replace``; it
    gets the umask's permissions, as any new file. Raises OSError; the temp file is removed on
    failure, ``path`` is old or new, never partial."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        as_new_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """``write_atomic``, creating the folder, with a one-line InputError naming the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{path.parent}: cannot write there ({exc.strerror or exc})") from None
    try:
        write_atomic(path, data)
    except OSError as exc:
        where = path.parent if not path.parent.is_dir() or not os.access(path.parent, os.W_OK) else path
        raise InputError(f"{where}: cannot write {'there ' if where != path else ''}({exc.strerror or exc})") from None
