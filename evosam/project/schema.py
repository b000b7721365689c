"""``project.json``: the versioned manifest of a project folder, its checks and migrations.

Schema history (see docs/project-format.md):

- 1: the draft layout: ``video.size`` [H, W]; masks carry frame, label, file, status only;
  no settings.
- 2: ``video.height``/``width``; masks also carry ``source`` (provenance), ``iou``,
  ``flags`` and ``edited``; ``settings``; ``save_id`` ties the journal to this manifest.
- 3 (current): ``head.kind``: ``learner`` (one head per label with every taught frame's
  samples, ``Learner.save``) or ``head`` (a single ``EvoHead`` of an older project, which
  the GUI re-teaches from the confirmed masks).

Reading validates every field and raises ``ProjectError`` naming the file and the field;
it never writes. Older schemas are migrated in memory (the next save writes the current
one); newer ones are refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evosam.annotations import Label, Status
from evosam.errors import ProjectError

SCHEMA_VERSION = 3
FORMAT = "evosam-project"
MANIFEST = "project.json"
LEARNER_KIND = "learner"  # head.kind: a Learner file (per-label heads and every taught frame's samples)
HEAD_KIND = "head"  # head.kind: a single EvoHead file (schema 2 projects)


def _migrate_1_to_2(raw: dict[str, Any]) -> dict[str, Any]:
    video = dict(raw["video"]) if isinstance(raw.get("video"), dict) else raw.get("video")
    if isinstance(video, dict) and isinstance(video.get("size"), list) and len(video["size"]) == 2:
        video["height"], video["width"] = video.pop("size")
    masks = raw.get("masks")
    if isinstance(masks, list):
        defaults = {"source": "", "iou": None, "flags": [], "edited": False}
        masks = [{**defaults, **m} if isinstance(m, dict) else m for m in masks]
    return {**raw, "schema_version": 2, "video": video, "masks": masks, "settings": {}, "save_id": ""}


def _migrate_2_to_3(raw: dict[str, Any]) -> dict[str, Any]:
    head = raw.get("head")
    if isinstance(head, dict):
        head = {**head, "kind": HEAD_KIND}  # schema 2 stored one EvoHead for every label
    return {**raw, "schema_version": 3, "head": head}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _migrate_1_to_2, 2: _migrate_2_to_3}


class _Reader:
    """Typed access to a parsed manifest; every failure names the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ProjectError:
        return ProjectError(f"{self.path}: {where} {problem} (corrupt or hand-edited project)")

    def get(self, obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            raise self.fail(f"{where}.{key}", "is missing")
        value = obj[key]
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise self.fail(f"{where}.{key}", "has the wrong type")
        if not isinstance(value, kind):
            raise self.fail(f"{where}.{key}", "has the wrong type")
        return value

    def positive(self, obj: Any, key: str, where: str) -> int:
        value = self.get(obj, key, int, where)
        if value < 1:
            raise self.fail(f"{where}.{key}", f"is {value}, expected at least 1")
        return value


def parse_manifest(path: Path, data: bytes) -> dict[str, Any]:
    """Decode, version-check and migrate a manifest's bytes into the current schema's dict."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ProjectError(f"{path}: not a readable project manifest (corrupt JSON)") from None
    if not isinstance(raw, dict) or raw.get("format", FORMAT) != FORMAT:
        raise ProjectError(f"{path}: not an EvoSAM project manifest")
    version = raw.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{path}: not an EvoSAM project manifest (no valid schema_version)")
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"{path}: project schema {version} is newer than this EvoSAM reads ({SCHEMA_VERSION}); "
            "update EvoSAM to open it (the project was left untouched)"
        )
    while version < SCHEMA_VERSION:
        raw = MIGRATIONS[version](raw)
        version = raw["schema_version"]
    return raw


def read_video(r: _Reader, raw: dict[str, Any]) -> tuple[str, str, int, tuple[int, int]]:
    """(path, fingerprint, frame count, (H, W)) of the manifest's video."""
    v = r.get(raw, "video", dict, "project")
    return (
        r.get(v, "path", str, "video"),
        r.get(v, "fingerprint", str, "video"),
        r.positive(v, "frame_count", "video"),
        (r.positive(v, "height", "video"), r.positive(v, "width", "video")),
    )


def read_labels(r: _Reader, raw: dict[str, Any]) -> list[tuple[Label, str]]:
    """(label, its mask folder relative to the project) in the manifest's order."""
    out = []
    for i, item in enumerate(r.get(raw, "labels", list, "project")):
        where = f"labels[{i}]"
        name, color = r.get(item, "name", str, where), r.get(item, "color", list, where)
        folder = r.get(item, "folder", str, where)
        try:
            label = Label(name, tuple(color))
        except (ValueError, TypeError) as exc:
            raise r.fail(where, f"is invalid ({exc})") from None
        out.append((label, safe_relative(r, folder, where)))
    if len({lab.name for lab, _ in out}) != len(out):
        raise r.fail("labels", "has duplicate names")
    return out


def safe_relative(r: _Reader, rel: str, where: str) -> str:
    """A relative path inside the project folder (no absolute path, no ``..``)."""
    parts = Path(rel).parts
    if not rel or Path(rel).is_absolute() or ".." in parts or "\\" in rel or "\x00" in rel:
        raise r.fail(where, f"points outside the project folder ({rel!r})")
    return Path(*parts).as_posix()


def read_mask_entry(r: _Reader, item: Any, i: int, frame_count: int, labels: set[str]) -> dict[str, Any]:
    """One checked ``masks[i]`` record: frame, label, file, status, source, iou, flags, edited."""
    where = f"masks[{i}]"
    frame = r.get(item, "frame", int, where)
    if not 0 <= frame < frame_count:
        raise r.fail(f"{where}.frame", f"is {frame}, outside the video's 0..{frame_count - 1}")
    label = r.get(item, "label", str, where)
    if label not in labels:
        raise r.fail(f"{where}.label", f"names an unknown label {label!r}")
    status = r.get(item, "status", str, where)
    if status not in {s.value for s in Status}:
        raise r.fail(f"{where}.status", f"is {status!r}, not one of proposed/confirmed/rejected")
    iou = item.get("iou")
    if iou is not None and (isinstance(iou, bool) or not isinstance(iou, int | float) or not math.isfinite(iou)):
        raise r.fail(f"{where}.iou", "is not a number")
    flags = r.get(item, "flags", list, where)
    if not all(isinstance(f, str) for f in flags):
        raise r.fail(f"{where}.flags", "is not a list of strings")
    return {
        "frame": frame,
        "label": label,
        "file": safe_relative(r, r.get(item, "file", str, where), f"{where}.file"),
        "status": Status(status),
        "source": r.get(item, "source", str, where),
        "iou": None if iou is None else float(iou),
        "flags": tuple(flags),
        "edited": r.get(item, "edited", bool, where),
    }


def read_head(r: _Reader, raw: dict[str, Any]) -> tuple[str, str, str] | None:
    """(file, model name, kind) of the saved head state, or None."""
    head = raw.get("head")
    if head is None:
        return None
    kind = r.get(head, "kind", str, "head")
    if kind not in (LEARNER_KIND, HEAD_KIND):
        raise r.fail("head.kind", f"is {kind!r}, not {LEARNER_KIND!r} or {HEAD_KIND!r}")
    file = safe_relative(r, r.get(head, "file", str, "head"), "head.file")
    return file, r.get(head, "model", str, "head"), kind
