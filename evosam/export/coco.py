"""COCO export and import with RLE segmentations (pycocotools), never polygons on export.

Export: ``images`` (id = frame + 1, ``file_name`` ``<stem>.png``, ``frame_index``),
``categories`` (id = 1.. in label order), one ``annotations`` entry per non-empty mask with
``segmentation`` = compressed RLE (``counts`` a string, column-major as COCO defines it),
``area``, ``bbox`` [x, y, w, h], ``iscrowd`` 0, plus ``status`` and ``source``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_util

from evosam.annotations import Status
from evosam.errors import InputError
from evosam.export.common import Progress, frame_stem, select, staged_file, staged_folder, write_png
from evosam.export.png import ExportSummary
from evosam.project import Project
from evosam.video import VideoSource


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """bool (H, W) -> COCO compressed RLE as JSON wants it: ``{"size": [H, W], "counts": str}``."""
    rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def _annotation(rle: dict[str, Any], ann_id: int, image_id: int, category_id: int) -> dict[str, Any]:
    coded = {**rle, "counts": rle["counts"].encode("ascii")}
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": category_id,
        "segmentation": rle,
        "area": float(mask_util.area(coded)),
        "bbox": [float(v) for v in mask_util.toBbox(coded)],
        "iscrowd": 0,
    }


def coco_dict(
    project: Project, labels: Sequence[str] | None, statuses: Collection[Status], progress: Progress | None = None
) -> dict[str, Any]:
    """The COCO document of the chosen masks (frames without a chosen mask are left out)."""
    chosen = select(project, labels, statuses)
    names = list(dict.fromkeys(s.label.name for s in chosen))
    cats = {name: i + 1 for i, name in enumerate(names)}
    colors = {s.label.name: list(s.label.color) for s in chosen}
    h, w = project.video.size
    frames = sorted({s.frame for s in chosen})
    images = [
        {"id": f + 1, "file_name": f"{frame_stem(f)}.png", "width": w, "height": h, "frame_index": f} for f in frames
    ]
    annotations = []
    for i, s in enumerate(chosen, 1):
        mask = s.mask
        if mask.any():
            ann = _annotation(encode_rle(mask), len(annotations) + 1, s.frame + 1, cats[s.label.name])
            annotations.append({**ann, "status": s.packed.status.value, "source": s.packed.source})
        if progress is not None:
            progress(i, len(chosen))
    return {
        "info": {"description": "EvoSAM Annotator export", "video": project.video.path},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n, "supercategory": "", "color": colors[n]} for n, i in cats.items()],
    }


def export_coco(
    project: Project,
    out: str | Path,
    labels: Sequence[str] | None = None,
    statuses: Collection[Status] = (Status.CONFIRMED,),
    video: VideoSource | None = None,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the COCO JSON ``out`` (atomically); with ``video``, the frames go to the new
    folder ``images/`` beside it (``file_name`` is relative to that folder)."""
    out = Path(out)
    doc = coco_dict(project, labels, statuses, progress)
    if not doc["images"]:
        raise InputError(f"{out}: nothing to export (no {'/'.join(map(str, statuses))} masks of the chosen labels)")
    data = json.dumps(doc).encode()
    if video is None:
        with staged_file(out) as tmp:
            tmp.write_bytes(data)
        return ExportSummary(out, len(doc["annotations"]), 0)
    images_dir, placed = out.parent / "images", False
    try:
        with staged_file(out) as tmp:
            tmp.write_bytes(data)
            with staged_folder(images_dir) as images:
                for img in doc["images"]:
                    write_png(images / img["file_name"], np.asarray(video.frame(img["frame_index"])))
            placed = True
    except BaseException:
        if placed:  # the JSON could not be placed: take the frames back out too
            shutil.rmtree(images_dir, ignore_errors=True)
        raise
    return ExportSummary(out, len(doc["annotations"]), len(doc["images"]))
