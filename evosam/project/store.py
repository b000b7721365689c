"""Saving and loading a project folder (``NAME.evosam/``); layout in docs/project-format.md.

A save writes the masks that are not on disk yet (file names carry a digest of the bits, so
a file is never overwritten with other content), the head, then replaces ``project.json``
atomically: that rename is the commit point. A kill at any instant leaves the previous
manifest with all its files, or the new one with all of its files. Unreferenced files are
removed only after the commit.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evosam import __version__
from evosam.annotations import Key, Label, PackedMask
from evosam.errors import ProjectError
from evosam.project import journal
from evosam.project.files import (
    encode_mask_png,
    fsync_dir,
    mask_digest,
    read_mask_file,
    remove_quietly,
    why,
    write_atomic,
)
from evosam.project.model import HeadFile, Project, VideoRef
from evosam.project.schema import (
    FORMAT,
    HEAD_KIND,
    LEARNER_KIND,
    MANIFEST,
    SCHEMA_VERSION,
    _Reader,
    parse_manifest,
    read_head,
    read_labels,
    read_mask_entry,
    read_video,
)

MASKS_DIR = "masks"
Progress = Callable[[int, int], None]


def label_folders(labels: tuple[Label, ...]) -> dict[str, str]:
    """Label name -> its mask folder ``masks/<safe name>`` (unique, filesystem-safe)."""
    out: dict[str, str] = {}
    for lab in labels:
        stem = re.sub(r"[^\w\-. ]", "_", lab.name).strip(" .")[:60] or "label"
        folder, n = f"{MASKS_DIR}/{stem}", 2
        while folder.lower() in {f.lower() for f in out.values()}:
            folder, n = f"{MASKS_DIR}/{stem}-{n}", n + 1
        out[lab.name] = folder
    return out


def save_project(path: str | Path, project: Project, progress: Progress | None = None) -> str:
    """Write ``project`` to the folder ``path`` (created if needed); returns the new save id.
    ProjectError (one line; the previous save stays intact) when the folder cannot be written
    or holds something that is not a project."""
    root = Path(path)
    _check_target(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        folders = label_folders(project.labels)
        entries = _write_masks(root, project, folders, progress)
        head = _write_head(root, project)
        save_id = uuid.uuid4().hex
        manifest = _manifest(project, folders, entries, head, save_id)
        data = json.dumps(manifest, indent=1, allow_nan=False).encode()
        write_atomic(root / MANIFEST, data)  # the commit point
        fsync_dir(root)
    except OSError as exc:
        raise ProjectError(f"{root}: cannot save the project ({why(exc)}); the last save is intact") from None
    remove_quietly(root / journal.JOURNAL)
    _collect_garbage(root, {e["file"] for e in entries} | ({head["file"]} if head else set()))
    return save_id


def _check_target(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise ProjectError(f"{root}: exists and is not a project folder")
    if root.is_dir() and not (root / MANIFEST).exists() and any(root.iterdir()):
        raise ProjectError(f"{root}: the folder is not empty and holds no project; choose a new folder")


def _write_masks(root: Path, project: Project, folders: dict[str, str], progress: Progress | None) -> list[dict]:
    """Write missing mask PNGs (fsync'd) and return the manifest's mask records."""
    entries, dirs = [], set()
    keys = sorted(project.masks, key=lambda k: (k[1], k[0]))
    for i, key in enumerate(keys, 1):
        frame, label = key
        packed = project.masks[key]
        if packed.shape != tuple(project.video.size):
            raise ProjectError(f"mask of frame {frame}, label {label!r} does not match the video size")
        rel = f"{folders[label]}/{frame:06d}-{mask_digest(packed)}.png"
        target = root / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, encode_mask_png(packed))
            dirs.add(target.parent)
        entries.append(_entry(key, rel, packed))
        if progress is not None:
            progress(i, len(keys))
    for d in dirs:
        fsync_dir(d)
    return entries


def _entry(key: Key, rel: str, packed: PackedMask) -> dict[str, Any]:
    iou = packed.iou if packed.iou is not None and math.isfinite(packed.iou) else None
    return {
        "frame": key[0],
        "label": key[1],
        "file": rel,
        "status": packed.status.value,
        "source": packed.source,
        "iou": iou,
        "flags": list(packed.flags),
        "edited": packed.edited,
    }


def _write_head(root: Path, project: Project) -> dict[str, str] | None:
    """Store the head state as ``head-<digest>.npz`` (an unchanged state is not rewritten):
    a ``Learner`` as a learner file, a bare ``EvoHead`` or a legacy ``HeadFile`` as it is."""
    head = project.head
    if head is None:
        return None
    if isinstance(head, HeadFile):
        entry = {"model": head.model, "kind": head.kind}
        if head.path.parent.resolve() == root.resolve() and head.path.is_file():
            return {"file": head.path.name, **entry}  # already in this folder
        data = head.path.read_bytes()
        name = f"head-{hashlib.sha1(data).hexdigest()[:12]}.npz"
        if not (root / name).exists():
            write_atomic(root / name, data)
        return {"file": name, **entry}
    learner = hasattr(head, "heads")  # a Learner (not imported: the store does not need torch)
    name = f"head-{learner_digest(head) if learner else head_digest(head)}.npz"
    if not (root / name).exists():
        try:
            head.save(root / name)
        except ProjectError:
            raise
        except Exception as exc:  # the head's save reports write failures and unsavable keys as InputError
            raise ProjectError(f"{root / name}: cannot save the head ({exc})") from None
    return {"file": name, "model": head.model_name, "kind": LEARNER_KIND if learner else HEAD_KIND}


def head_digest(head: Any) -> str:
    """12 hex characters over a head's model, configuration and statistics."""
    h = hashlib.sha1(f"{head.model_name};{head.config.features.digest()};{head.config!r}".encode())
    for name, s in sorted(head.profiles.items()):
        h.update(name.encode())
        for a in (s.G, s.c, s.mean_sum):
            h.update(a.tobytes())
        h.update(f"{s.frames};{s.pixels}".encode())
    return h.hexdigest()[:12]


def learner_digest(learner: Any) -> str:
    """12 hex characters over a ``Learner``'s heads (per label) and its taught keys in order
    with their labels and profiles (the heads' statistics follow from the kept samples)."""
    h = hashlib.sha1(f"{learner.model_name};{learner.config!r}".encode())
    for label, head in sorted(learner.heads.items()):
        h.update(f"{label}={head_digest(head)};".encode())
    for key, taught in learner.evidence().items():
        h.update(f"{key!r}:{taught.label}:{taught.profile};".encode())
    return h.hexdigest()[:12]


def _manifest(project: Project, folders: dict[str, str], entries: list, head: dict | None, save_id: str) -> dict:
    v = project.video
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "save_id": save_id,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "saved_by": f"evosam {__version__}",
        "video": {
            "path": v.path,
            "fingerprint": v.fingerprint,
            "frame_count": v.frame_count,
            "height": v.size[0],
            "width": v.size[1],
        },
        "labels": [{"name": lab.name, "color": list(lab.color), "folder": folders[lab.name]} for lab in project.labels],
        "masks": entries,
        "head": head,
        "settings": dict(project.settings),
    }


def _collect_garbage(root: Path, referenced: set[str]) -> None:
    """Remove mask/head files and temp files no longer referenced (best effort)."""
    candidates = list(root.glob("head-*.npz")) + list(root.glob(".*.tmp"))
    masks = root / MASKS_DIR
    if masks.is_dir():
        candidates += [p for p in masks.rglob("*") if p.is_file() and (p.suffix == ".png" or p.suffix == ".tmp")]
    for p in candidates:
        if p.relative_to(root).as_posix() not in referenced:
            remove_quietly(p)
    if masks.is_dir():
        for d in masks.iterdir():
            if d.is_dir() and not any(d.iterdir()):
                try:
                    d.rmdir()
                except OSError:
                    pass


def load_project(path: str | Path, progress: Progress | None = None) -> Project:
    """Read a project folder (or its ``project.json``), migrating older schemas and replaying
    the journal of unsaved changes; never writes. ProjectError (one line naming the file
    and the problem) for a missing, corrupt or newer project."""
    root = Path(path)
    if root.name == MANIFEST and root.is_file():
        root = root.parent
    manifest = root / MANIFEST
    if not root.is_dir():
        raise ProjectError(f"{root}: no such project folder")
    try:
        data = manifest.read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"{root}: not an EvoSAM project (no {MANIFEST})") from None
    except OSError as exc:
        raise ProjectError(f"{manifest}: cannot read ({why(exc)})") from None
    raw = parse_manifest(manifest, data)
    r = _Reader(manifest)
    vpath, fingerprint, frame_count, size = read_video(r, raw)
    labels = [lab for lab, _ in read_labels(r, raw)]
    masks = _read_masks(root, r, raw, frame_count, size, {lab.name for lab in labels}, progress)
    head = read_head(r, raw)
    head_file = None
    if head is not None:
        head_file = HeadFile(root / head[0], head[1], head[2])
        if not head_file.path.is_file():
            raise ProjectError(f"{head_file.path}: the project's head state file is missing (incomplete project)")
    settings = r.get(raw, "settings", dict, "project")
    save_id = r.get(raw, "save_id", str, "project")
    recovered = journal.replay(root, save_id, frame_count, size, masks, labels, settings) if save_id else 0
    video = VideoRef(vpath, fingerprint, frame_count, size)
    return Project(video, tuple(labels), masks, head_file, settings, recovered)


def _read_masks(
    root: Path,
    r: _Reader,
    raw: dict,
    frame_count: int,
    size: tuple[int, int],
    names: set[str],
    progress: Progress | None,
) -> dict[Key, PackedMask]:
    items = r.get(raw, "masks", list, "project")
    masks: dict[Key, PackedMask] = {}
    for i, item in enumerate(items):
        e = read_mask_entry(r, item, i, frame_count, names)
        key = (e["frame"], e["label"])
        if key in masks:
            raise r.fail(f"masks[{i}]", f"repeats frame {key[0]}, label {key[1]!r}")
        mask = read_mask_file(root / e["file"], size, f"frame {key[0]}, label {key[1]!r}")
        masks[key] = PackedMask.from_mask(mask, e["status"], e["source"], e["edited"])
        if e["iou"] is not None or e["flags"]:
            p = masks[key]
            masks[key] = PackedMask(p.data, p.shape, p.status, e["iou"], e["flags"], p.edited, p.source)
        if progress is not None:
            progress(i + 1, len(items))
    return masks
