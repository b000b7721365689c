"""Lazy random-access frame reading over a video file (OpenCV) or a folder of frames.

Frames come out as RGB uint8 (H, W, 3). Decoded frames sit in an LRU bounded in bytes,
so a long high-resolution video never sits in memory. A reader belongs to one thread at a
time (the GUI's model worker, or a CLI command); it holds no locks.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

# FFmpeg's own log (``[h264 @ 0x…] Invalid NAL unit size``, ``partial file``: nine lines for a
# truncated file) would print before our one-line error; OpenCV reads the level when its
# FFmpeg backend first opens a file, so setting it here, before any capture, silences it.
# A level the user sets (e.g. ``OPENCV_FFMPEG_LOGLEVEL=32`` to see FFmpeg's errors) wins.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from evosam.errors import InputError, VideoError  # noqa: E402
from evosam.imageio import as_rgb_uint8, read_rgb  # noqa: E402

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
DEFAULT_CACHE_BYTES = 256 * 2**20
EAGER_SIZE_CHECK = 10_000  # folders up to this many frames are size-checked (headers) when opened, larger per frame


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


class FrameLRU:
    """Decoded frames keyed by index, total bytes never above ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()

    def get(self, index: int) -> np.ndarray | None:
        frame = self._frames.get(index)
        if frame is not None:
            self._frames.move_to_end(index)
        return frame

    def put(self, index: int, frame: np.ndarray) -> None:
        if frame.nbytes > self.max_bytes or index in self._frames:
            return
        self._frames[index] = frame
        self.nbytes += frame.nbytes
        while self.nbytes > self.max_bytes:
            self.nbytes -= self._frames.popitem(last=False)[1].nbytes


class VideoSource:
    """Common interface: ``frame_count``, ``fps``, ``size`` (H, W), ``frame(i)``, ``frame_name(i)``."""

    path: Path
    frame_count: int
    fps: float
    size: tuple[int, int]

    def __init__(self, path: Path, cache_bytes: int) -> None:
        self.path = path
        self._cache = FrameLRU(cache_bytes)

    def __len__(self) -> int:
        return self.frame_count

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the decoder; cached frames are dropped."""
        self._cache = FrameLRU(self._cache.max_bytes)

    @property
    def cache_bytes(self) -> int:
        return self._cache.nbytes

    def frame_name(self, index: int) -> str:
        """Zero-padded index, the stem of per-frame output files: ``000017``."""
        return f"{index:06d}"

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as RGB uint8 (H, W, 3); a read-only array shared with the cache."""
        if not 0 <= int(index) < self.frame_count:
            raise VideoError(f"{self.path}: frame {index} is outside 0..{self.frame_count - 1}")
        frame = self._cache.get(int(index))
        if frame is None:
            frame = self._decode(int(index))
            frame.setflags(write=False)
            self._cache.put(int(index), frame)
        return frame

    def time_of(self, index: int) -> float:
        """Seconds from the start of the clip to frame ``index``."""
        return index / self.fps if self.fps > 0 else 0.0

    def fingerprint(self) -> str:
        raise NotImplementedError

    def _decode(self, index: int) -> np.ndarray:
        raise NotImplementedError


class FileVideo(VideoSource):
    """A video file decoded by OpenCV; sequential reads avoid seeking."""

    def __init__(self, path: Path, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        super().__init__(path, cache_bytes)
        if path.stat().st_size == 0:
            raise VideoError(f"{path}: the file is empty")
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise VideoError(f"{path}: not a video OpenCV can decode")
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or 25.0
        self._next = 0
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise VideoError(f"{path}: no frame could be decoded (empty, truncated or not a video)")
        self._next = 1
        self.size = (int(first.shape[0]), int(first.shape[1]))
        reported = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = reported if reported > 0 else self._count_frames()
        self._cache.put(0, self._to_rgb(first))

    def _count_frames(self) -> int:
        count = 1
        while self._cap.grab():
            count += 1
        self._seek(0)
        return count

    def _seek(self, index: int) -> None:
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._next = index

    def _to_rgb(self, bgr: np.ndarray) -> np.ndarray:
        return as_rgb_uint8(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if bgr.ndim == 3 else bgr)

    def _decode(self, index: int) -> np.ndarray:
        if self._cap is None:
            raise VideoError(f"{self.path}: the video is closed")
        if index != self._next:
            self._seek(index)
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            self._next = -1
            raise VideoError(f"{self.path}: frame {index} cannot be decoded (file truncated or corrupt?)")
        self._next = index + 1
        if bgr.shape[:2] != self.size:
            raise VideoError(
                f"{self.path}: frame {index} is {bgr.shape[1]}x{bgr.shape[0]}, not {self.size[1]}x{self.size[0]}"
            )
        return self._to_rgb(bgr)

    def fingerprint(self) -> str:
        """sha256 over the file size and its first and last MiB."""
        size = self.path.stat().st_size
        h = hashlib.sha256(str(size).encode())
        with self.path.open("rb") as fh:
            h.update(fh.read(2**20))
            fh.seek(max(0, size - 2**20))
            h.update(fh.read(2**20))
        return h.hexdigest()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        super().close()


class FolderVideo(VideoSource):
    """A folder of image files, one frame each, in natural name order."""

    def __init__(self, path: Path, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        super().__init__(path, cache_bytes)
        self.files = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=lambda p: _natural_key(p.name),
        )
        if not self.files:
            raise VideoError(f"{path}: the folder holds no image frames ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.frame_count = len(self.files)
        self.fps = 25.0
        self.size = (0, 0)
        first = self._decode(0)
        self.size = first.shape[:2]
        if len(self.files) <= EAGER_SIZE_CHECK:
            self._check_sizes()
        self._cache.put(0, first)

    def _check_sizes(self) -> None:
        """All frames must share the first frame's size (read from PNG/JPEG/BMP headers, cheaply)."""
        for p in self.files[1:]:
            h, w = _image_size(p)
            if (h, w) != self.size:
                raise VideoError(f"{p}: frame is {w}x{h} but {self.files[0].name} is {self.size[1]}x{self.size[0]}")

    def _decode(self, index: int) -> np.ndarray:
        p = self.files[index]
        try:
            rgb = read_rgb(p)
        except InputError as exc:
            raise VideoError(str(exc)) from None
        if self.size != (0, 0) and rgb.shape[:2] != self.size:
            h, w = rgb.shape[:2]
            raise VideoError(f"{p}: frame is {w}x{h} but {self.files[0].name} is {self.size[1]}x{self.size[0]}")
        return rgb

    def fingerprint(self) -> str:
        """sha256 over the sorted names and sizes and the first file's bytes."""
        h = hashlib.sha256()
        for p in self.files:
            h.update(f"{p.name}:{p.stat().st_size};".encode())
        h.update(self.files[0].read_bytes())
        return h.hexdigest()


def _image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image file: from the PNG, JPEG or BMP header, else by decoding it."""
    try:
        with path.open("rb") as fh:
            size = _header_size(fh)
    except (OSError, struct.error, ValueError):
        size = None
    if size is not None and size[0] > 0 and size[1] > 0:
        return size
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise VideoError(f"{path}: not a readable image")
    return int(img.shape[0]), int(img.shape[1])


def _header_size(fh: BinaryIO) -> tuple[int, int] | None:
    """(H, W) read from an open binary file's PNG, JPEG or BMP header; None for other formats."""
    head = fh.read(26)
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return h, w
    if head.startswith(b"BM"):
        if struct.unpack("<I", head[14:18])[0] == 12:  # OS/2 BITMAPCOREHEADER
            w, h = struct.unpack("<HH", head[18:22])
        else:
            w, h = struct.unpack("<ii", head[18:26])
        return abs(h), abs(w)
    if head.startswith(b"\xff\xd8"):
        fh.seek(2)
        return _jpeg_size(fh)
    return None


def _jpeg_size(fh: BinaryIO) -> tuple[int, int] | None:
    """(H, W) from the first SOF segment of a JPEG stream positioned after its SOI marker."""
    while True:
        byte = fh.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue
        marker = fh.read(1)
        while marker == b"\xff":
            marker = fh.read(1)
        if not marker:
            return None
        m = marker[0]
        if m in (0x00, 0x01) or 0xD0 <= m <= 0xD8:  # stuffed byte, TEM, RSTn, SOI: no length field
            continue
        if m in (0xD9, 0xDA):  # EOI or start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", fh.read(2))
        if length < 2:
            return None
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):  # SOFn (not DHT, JPG, DAC)
            h, w = struct.unpack(">xHH", fh.read(5))
            return h, w
        fh.seek(length - 2, 1)


def open_video(path: str | Path, cache_bytes: int = DEFAULT_CACHE_BYTES) -> VideoSource:
    """Open a video file or a folder of frames for lazy random access."""
    p = Path(path)
    if not p.exists():
        raise VideoError(f"{p}: no such file or folder")
    if p.is_dir():
        return FolderVideo(p, cache_bytes)
    return FileVideo(p, cache_bytes)
