"""``journal.jsonl``: changes made since the last full save, appended every second or so.

One JSON object per line: ``base`` (the ``save_id`` of the manifest it extends), ``seq``,
optional ``labels`` and ``settings`` (their new values) and ``cells``: each sets one
(frame, label) cell to a mask (``bits``: base64 of zlib-compressed ``np.packbits`` of the
bool (H, W) mask, row-major) or clears it (``mask`` null). ``crc`` is the CRC-32 of the
line's other fields. A torn last line (a crash mid-append) fails its CRC and is ignored,
as is everything after it; records of another ``base`` are stale (already saved).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evosam.annotations import Key, Label, PackedMask, Status

JOURNAL = "journal.jsonl"


def _crc(record: Mapping[str, Any]) -> int:
    return zlib.crc32(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())


def _cell(key: Key, packed: PackedMask | None) -> dict[str, Any]:
    frame, label = key
    if packed is None:
        return {"frame": frame, "label": label, "mask": None}
    iou = packed.iou if packed.iou is not None and math.isfinite(packed.iou) else None
    mask = {
        "h": packed.shape[0],
        "w": packed.shape[1],
        "bits": base64.b64encode(packed.data).decode("ascii"),
        "status": packed.status.value,
        "source": packed.source,
        "iou": iou,
        "flags": list(packed.flags),
        "edited": packed.edited,
    }
    return {"frame": frame, "label": label, "mask": mask}


def append_record(
    root: Path,
    base: str,
    seq: int,
    cells: Sequence[tuple[Key, PackedMask | None]],
    labels: Sequence[Label] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> None:
    """Append one record and fsync it (raises OSError)."""
    record: dict[str, Any] = {"base": base, "seq": seq, "cells": [_cell(k, v) for k, v in cells]}
    if labels is not None:
        record["labels"] = [{"name": lab.name, "color": list(lab.color)} for lab in labels]
    if settings is not None:
        record["settings"] = dict(settings)
    record["crc"] = _crc(record)
    line = json.dumps(record, separators=(",", ":"), allow_nan=False).encode() + b"\n"
    fd = os.open(root / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _packed(raw: Any, size: tuple[int, int]) -> PackedMask:
    """A journal mask record as a PackedMask; ValueError/KeyError/TypeError if malformed."""
    if (raw["h"], raw["w"]) != tuple(size):
        raise ValueError("mask of another size")
    data = base64.b64decode(raw["bits"], validate=True)
    if len(zlib.decompress(data)) != (size[0] * size[1] + 7) // 8:
        raise ValueError("mask bits of the wrong length")
    iou = raw["iou"]
    if iou is not None and (isinstance(iou, bool) or not isinstance(iou, int | float)):
        raise ValueError("iou")
    flags, source, edited = raw["flags"], raw["source"], raw["edited"]
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise ValueError("flags")
    if not isinstance(source, str) or not isinstance(edited, bool):
        raise ValueError("source/edited")
    return PackedMask(data, size, Status(raw["status"]), iou, tuple(flags), edited, source)


def replay(
    root: Path,
    base: str,
    frame_count: int,
    size: tuple[int, int],
    masks: dict[Key, PackedMask],
    labels: list[Label],
    settings: dict[str, Any],
) -> int:
    """Apply the journal's valid records of ``base`` to ``masks``, ``labels`` and ``settings``
    (in place); returns how many were applied. Never raises for a bad journal: replay stops
    at the first damaged record."""
    try:
        data = (root / JOURNAL).read_bytes()
    except OSError:
        return 0
    applied = 0
    for line in data.split(b"\n")[:-1]:  # the last piece has no newline: torn or empty
        try:
            record = json.loads(line)
            crc = record.pop("crc")
            if crc != _crc(record):
                break
            if record["base"] != base:
                continue
            _apply(record, frame_count, size, masks, labels, settings)
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, zlib.error, RecursionError):
            break
        applied += 1
    return applied


def _apply(
    record: dict[str, Any],
    frame_count: int,
    size: tuple[int, int],
    masks: dict[Key, PackedMask],
    labels: list[Label],
    settings: dict[str, Any],
) -> None:
    """Validate a whole record first, then apply it (a bad record changes nothing)."""
    new_labels = labels
    if "labels" in record:
        new_labels = [Label(item["name"], tuple(item["color"])) for item in record["labels"]]
    names = {lab.name for lab in new_labels}
    cells: list[tuple[Key, PackedMask | None]] = []
    for cell in record["cells"]:
        frame, label = cell["frame"], cell["label"]
        if not isinstance(frame, int) or not 0 <= frame < frame_count or label not in names:
            raise ValueError("cell outside the clip")
        cells.append(((frame, label), None if cell["mask"] is None else _packed(cell["mask"], size)))
    new_settings = record.get("settings", settings)
    if not isinstance(new_settings, dict):
        raise ValueError("settings")
    labels[:] = new_labels
    for key in [k for k in masks if k[1] not in names]:
        del masks[key]
    for key, packed in cells:
        if packed is None:
            masks.pop(key, None)
        else:
            masks[key] = packed
    if new_settings is not settings:
        settings.clear()
        settings.update(new_settings)
