"""Import: a project from a video (or frame folder) plus PNG mask folders or a COCO JSON.

PNG masks are named by zero-padded frame index (``000017.png``, as ``evosam propagate``
writes them) or, for a frame folder, by the stem of their frame's file; any non-zero pixel
is foreground. COCO segmentations may be compressed or uncompressed RLE or polygons (they
are rasterised once, on import; the project stores masks). An image maps to a frame by its
``frame_index`` field, else by a numeric file-name stem, else by a frame file's stem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_util

from evosam.annotations import DEFAULT_COLORS, Key, Label, PackedMask, Status
from evosam.errors import InputError
from evosam.imageio import read_mask
from evosam.project import Project, VideoRef
from evosam.video import IMAGE_SUFFIXES, FolderVideo, VideoSource


def import_project(
    video: VideoSource, sources: Sequence[tuple[str | Path, str | None]], status: Status = Status.CONFIRMED
) -> Project:
    """A project of ``video`` holding the masks of each (PNG folder or COCO .json, label name)
    source; for PNG folders the label defaults to ``vessel``, for COCO to the category names
    (a name given keeps only that category). Provenance ``"import"``."""
    labels: dict[str, Label] = {}
    masks: dict[Key, PackedMask] = {}
    for path, label in sources:
        p = Path(path)
        found = _read_coco(p, video, label) if p.suffix.lower() == ".json" else _read_png_folder(p, video, label)
        for (frame, name), mask in found.items():
            if name not in labels:
                labels[name] = Label(name, DEFAULT_COLORS[len(labels) % len(DEFAULT_COLORS)])
            old = masks.get((frame, name))
            merged = mask if old is None else mask | old.unpack().mask
            masks[(frame, name)] = PackedMask.from_mask(merged, status, "import")
    if not masks:
        raise InputError(f"{sources[0][0]}: no masks found to import")
    return Project(VideoRef.of(video), tuple(labels.values()), masks, None, {})


def _frame_of(stem: str, video: VideoSource, stems: dict[str, int]) -> int | None:
    if stem in stems:
        return stems[stem]
    return int(stem) if stem.isdigit() else None


def _frame_stems(video: VideoSource) -> dict[str, int]:
    return {p.stem: i for i, p in enumerate(video.files)} if isinstance(video, FolderVideo) else {}


def _read_png_folder(folder: Path, video: VideoSource, label: str | None) -> dict[tuple[int, str], np.ndarray]:
    if not folder.is_dir():
        raise InputError(f"{folder}: no such mask folder (or a .json COCO file)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"{folder}: the folder holds no mask images")
    name, stems, out = label or "vessel", _frame_stems(video), {}
    for p in files:
        frame = _frame_of(p.stem, video, stems)
        if frame is None:
            raise InputError(f"{p}: the name matches no frame (expected a zero-padded frame index like 000017.png)")
        if not 0 <= frame < video.frame_count:
            raise InputError(f"{p}: frame {frame} is outside the video's 0..{video.frame_count - 1}")
        out[(frame, name)] = read_mask(p, video.size)
    return out


def _load_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: COCO file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: not a readable COCO JSON ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), list) for k in ("images", "annotations")):
        raise InputError(f"{path}: not a COCO JSON (needs 'images' and 'annotations' lists)")
    return doc


def _read_coco(path: Path, video: VideoSource, label: str | None) -> dict[tuple[int, str], np.ndarray]:
    doc = _load_json(path)
    h, w = video.size
    stems = _frame_stems(video)
    try:
        cats = {c["id"]: str(c["name"]) for c in doc.get("categories") or []}
        frames = {img["id"]: _coco_frame(img, video, stems, path) for img in doc["images"]}
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path}: an image or category entry lacks {exc}") from None
    out: dict[tuple[int, str], np.ndarray] = {}
    for i, ann in enumerate(doc["annotations"]):
        try:
            name = cats.get(ann["category_id"], str(ann["category_id"]))
            frame = frames[ann["image_id"]]
            if label is not None and name != label and len(cats) > 1:
                continue
            mask = _decode(ann["segmentation"], h, w)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InputError(f"{path}: annotations[{i}] is unusable ({type(exc).__name__}: {exc})") from None
        key = (frame, label or name)
        out[key] = mask if key not in out else out[key] | mask
    return out


def _coco_frame(img: dict[str, Any], video: VideoSource, stems: dict[str, int], path: Path) -> int:
    frame = img.get("frame_index")
    if not isinstance(frame, int):
        frame = _frame_of(Path(str(img["file_name"])).stem, video, stems)
    if frame is None or not 0 <= frame < video.frame_count:
        raise InputError(f"{path}: image {img['file_name']!r} matches no frame of the video")
    if (img.get("height", video.size[0]), img.get("width", video.size[1])) != tuple(video.size):
        raise InputError(
            f"{path}: image {img['file_name']!r} is {img.get('width')}x{img.get('height')}, "
            f"the video is {video.size[1]}x{video.size[0]}"
        )
    return frame


def _decode(seg: Any, h: int, w: int) -> np.ndarray:
    """A COCO segmentation (RLE or polygons) as bool (H, W); ValueError when malformed or of
    another size. Everything is checked before pycocotools sees it: its C decoder trusts
    the run lengths and would write past the mask on a crafted file."""
    if isinstance(seg, dict):
        size = [int(v) for v in seg["size"]]
        if size != [h, w]:
            raise ValueError(f"RLE of size {size}, the video is [{h}, {w}]")
        counts = seg["counts"]
        runs = rle_counts(counts.encode("ascii")) if isinstance(counts, str) else counts
        if not all(isinstance(c, int) and c >= 0 for c in runs) or sum(runs) != h * w:
            raise ValueError(f"RLE run lengths do not add up to {h}x{w} pixels")
        rle = (
            mask_util.frPyObjects(seg, h, w)
            if isinstance(counts, list)
            else {"size": [h, w], "counts": counts.encode()}
        )
    elif isinstance(seg, list) and seg and all(_polygon_ok(poly, h, w) for poly in seg):
        rle = mask_util.merge(mask_util.frPyObjects([[float(v) for v in poly] for poly in seg], h, w))
    else:
        raise ValueError("segmentation is neither RLE nor polygons with finite coordinates in the frame")
    m = mask_util.decode(rle)
    return (m.max(axis=2) if m.ndim == 3 else m).astype(bool)


def _polygon_ok(poly: Any, h: int, w: int) -> bool:
    if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
        return False
    xy = np.asarray(poly, dtype=np.float64) if all(isinstance(v, int | float) for v in poly) else None
    return xy is not None and bool(np.isfinite(xy).all()) and bool((np.abs(xy) <= 2 * max(h, w) + 2).all())


def rle_counts(s: bytes) -> list[int]:
    """The run lengths of a COCO compressed RLE string (pycocotools' ``rleFrString``, in
    Python so a malformed string raises ValueError instead of reaching C)."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s) or not 48 <= s[p] < 48 + 64:
                raise ValueError("malformed RLE string")
            c = s[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p, k = p + 1, k + 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts
