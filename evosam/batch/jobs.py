"""The JOBS.json file of ``evosam batch``: which videos, which label, where the keyframe masks are.

::

    {"jobs": [{"name": "case12", "source": "videos/case12.mp4", "label": "artery",
               "keyframes": "keys/case12"}]}

``source`` is a video file or a frame folder; ``keyframes`` a folder of masks named by 0-based
frame index (``000000.png``, as ``evosam propagate`` writes them). Relative paths are resolved
against the JOBS file's folder. Names become output folders: letters, digits, ``._-`` only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evosam.errors import InputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_FIELDS = ("name", "source", "label", "keyframes")


@dataclass(frozen=True)
class BatchJob:
    """One video to densify: ``source`` and ``keyframes`` are absolute paths."""

    name: str
    source: Path
    label: str
    keyframes: Path

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "source": str(self.source), "label": self.label, "keyframes": str(self.keyframes)}

    @classmethod
    def from_json(cls, raw: dict[str, str]) -> BatchJob:
        return cls(raw["name"], Path(raw["source"]), raw["label"], Path(raw["keyframes"]))


def read_jobs(path: str | Path) -> list[BatchJob]:
    """The jobs of a JOBS.json file; InputError (one line naming the file and the job) when it
    is unreadable, not this format, or two jobs share a name. Paths are not opened here: a
    missing video fails its own job, not the batch."""
    p = Path(path)
    try:
        raw = json.loads(p.read_bytes())
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise InputError(f"{p}: not JSON ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("jobs"), list):
        raise InputError(f'{p}: expected {{"jobs": [{{"name", "source", "label", "keyframes"}}, ...]}}')
    if not raw["jobs"]:
        raise InputError(f"{p}: no jobs")
    jobs = [_job(p, i, item) for i, item in enumerate(raw["jobs"])]
    seen: set[str] = set()
    for job in jobs:
        if job.name.lower() in seen:
            raise InputError(f"{p}: two jobs are named {job.name!r}")
        seen.add(job.name.lower())
    return jobs


def _job(path: Path, i: int, item: Any) -> BatchJob:
    where = f"{path}: job {i + 1}"
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected an object with {', '.join(_FIELDS)}")
    missing = [k for k in _FIELDS if not isinstance(item.get(k), str) or not item[k].strip()]
    if missing:
        raise InputError(f"{where}: missing or empty {', '.join(missing)}")
    unknown = sorted(set(item) - set(_FIELDS))
    if unknown:
        raise InputError(f"{where}: unknown field {', '.join(unknown)}")
    if not _NAME.match(item["name"]):
        raise InputError(f"{where}: name {item['name']!r} must be letters, digits, '.', '_' or '-' (a folder name)")
    base = path.resolve().parent
    return BatchJob(
        item["name"], (base / item["source"]).resolve(), item["label"].strip(), (base / item["keyframes"]).resolve()
    )
