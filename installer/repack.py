"""Wheels from an installed environment: the dependency closure of a distribution, and each
installed distribution written back as a wheel (the fast, offline way to make a wheelhouse).

A repacked wheel holds the files the installed distribution's RECORD lists, relative to
site-packages, with files installed outside it mapped back to the wheel's ``.data/scripts``
(scripts, shebang restored to ``#!python``) or ``.data/data``; entry-point launchers, byte
code and installer-owned metadata (INSTALLER, REQUESTED, direct_url.json, RECORD) are left
for pip to recreate. The tags are the ones the WHEEL file recorded at install time.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata as md
import io
import os
import sys
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

SKIP_METADATA = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}


def installed() -> dict[str, md.Distribution]:
    """Installed distributions of this interpreter by canonical name (first on sys.path wins)."""
    found: dict[str, md.Distribution] = {}
    for dist in md.distributions():
        found.setdefault(canonicalize_name(dist.metadata["Name"]), dist)
    return found


def requirements_of(dist: md.Distribution, extras: set[str]) -> list[Requirement]:
    """The requirements of ``dist`` that apply here with ``extras`` requested."""
    env = default_environment()
    out = []
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in extras | {""}):
            req.marker = None  # evaluated here, with the extras that were asked for
            out.append(req)
    return out


def wheel_requirements(wheel: Path, extras: tuple[str, ...] = ()) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel file's METADATA: those without an extra, and
    those of ``extras`` (their ``extra == ...`` marker dropped)."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        text = zf.read(meta).decode()
    lines = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Requires-Dist:")]
    env = default_environment()
    out = []
    for line in lines:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
            out.append(line)
        elif any(req.marker.evaluate({**env, "extra": extra}) for extra in extras):
            req.marker = None
            out.append(str(req))
    return out


def closure(roots: list[str], dists: dict[str, md.Distribution], stop: frozenset[str] = frozenset()) -> set[str]:
    """Canonical names of the installed distributions that requirement strings ``roots`` need,
    transitively, not following into ``stop``. Raises LookupError naming a requirement that is
    not installed or whose installed version does not satisfy it."""
    env = default_environment()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in roots]
    names: set[str] = set()
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in stop or (name, frozenset(req.extras)) in seen:
            continue
        seen.add((name, frozenset(req.extras)))
        have = dists.get(name)
        if have is None or not req.specifier.contains(have.version, prereleases=True):
            got = have.version if have else "nothing"
            raise LookupError(f"{req} is needed, but {got} is installed in {sys.prefix}")
        names.add(name)
        todo += requirements_of(have, set(req.extras))
    return names


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return "sha256=" + base64.urlsafe_b64encode(sha.digest()).rstrip(b"=").decode()


def _portable_script(data: bytes) -> bytes:
    """A script as a wheel carries it: the install-time ``#!/venv/bin/python`` back to ``#!python``."""
    first, _, rest = data.partition(b"\n")
    return b"#!python\n" + rest if first.startswith(b"#!") and b"python" in first else data


def _wheel_tags(dist: md.Distribution) -> str:
    """The compressed tag set (``cp311-cp311-manylinux_2_28_x86_64``) from the dist's WHEEL file."""
    text = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")]
    if not tags:
        raise LookupError(f"{dist.metadata['Name']}: no WHEEL tags recorded (not installed from a wheel)")
    parts = [sorted({t.split("-")[i] for t in tags}) for i in range(3)]
    return "-".join(".".join(p) for p in parts)


def _entry_point_names(dist: md.Distribution) -> set[str]:
    return {ep.name for ep in dist.entry_points if ep.group in ("console_scripts", "gui_scripts")}


def _arcname(dist: md.Distribution, rel: str, data_dir: str, launchers: set[str]) -> str | None:
    """Where RECORD entry ``rel`` goes in the wheel; None to leave it out."""
    parts = Path(rel).parts
    if "__pycache__" in parts or rel.endswith(".pyc"):
        return None
    if parts[0].endswith(".dist-info") and parts[-1] in SKIP_METADATA and len(parts) == 2:
        return None
    if parts[0] != "..":
        return rel
    absolute = Path(os.path.normpath(Path(dist.locate_file("")) / rel))
    try:
        inside = absolute.relative_to(sys.prefix)
    except ValueError:
        return None  # outside the environment: not ours to ship
    if inside.parts[0] in ("bin", "Scripts"):
        stem = inside.name.removesuffix(".exe")
        return None if stem in launchers else f"{data_dir}/scripts/{inside.name}"
    return f"{data_dir}/data/{inside.as_posix()}"


def repack(dist: md.Distribution, dest: Path, compresslevel: int | None = 1) -> Path:
    """Write installed ``dist`` as a wheel into ``dest``; ``compresslevel`` None stores uncompressed."""
    name, version = dist.metadata["Name"], dist.version
    stem = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    target = dest / f"{stem}-{_wheel_tags(dist)}.whl"
    launchers = _entry_point_names(dist)
    info_dir = next(Path(str(f)).parts[0] for f in dist.files or [] if str(f).endswith(".dist-info/METADATA"))
    data_dir = info_dir.removesuffix(".dist-info") + ".data"
    method = zipfile.ZIP_STORED if compresslevel is None else zipfile.ZIP_DEFLATED
    record: list[tuple[str, str, str | int]] = []
    tmp = target.with_suffix(".partial")
    with zipfile.ZipFile(tmp, "w", method, compresslevel=compresslevel) as zf:
        for entry in sorted(dist.files or [], key=str):
            arc = _arcname(dist, str(entry), data_dir, launchers)
            if arc is None:
                continue
            src = Path(dist.locate_file(entry))
            if arc.startswith(f"{data_dir}/scripts/"):
                data = _portable_script(src.read_bytes())
                info = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o100755 << 16
                zf.writestr(info, data, compress_type=method)
                record.append((arc, _digest(data), len(data)))
            else:
                zf.write(src, arc)  # streams; keeps the file's mode (executables stay executable)
                record.append((arc, _file_digest(src), src.stat().st_size))
        record.append((f"{info_dir}/RECORD", "", ""))
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(record)  # quotes paths with commas
        zf.writestr(zipfile.ZipInfo(f"{info_dir}/RECORD", date_time=(2020, 1, 1, 0, 0, 0)), text.getvalue())
    os.replace(tmp, target)
    return target
