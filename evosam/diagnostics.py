"""What a support person asks first: versions, devices, video decoding, models and paths.

Every probe returns a plain dict (JSON-ready) and catches its own failure, which it reports
as {"error": "..."}: a broken torch or OpenCV is a finding, never a crash. Qt is probed
in a child process (this package never imports Qt), which also keeps a platform plugin that
aborts without a display from taking the caller down.
"""

from __future__ import annotations

import base64
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import evosam

Report = dict[str, Any]

# A 2-frame 32x32 H.264 (baseline, yuv420p) mp4 of 977 bytes, made with
# ffmpeg -f lavfi -i testsrc=size=32x32:rate=5 -frames:v 2 -c:v libx264 -pix_fmt yuv420p
#   -profile:v baseline -crf 45 -bsf:v filter_units=remove_types=6 -fflags +bitexact out.mp4
# OpenCV's pip wheels decode H.264 but cannot encode it, so the decode check needs a real clip.
H264_CLIP = (
    "AAAAIGZ0eXBpc29tAAACAGlzb21pc28yYXZjMW1wNDEAAAAIZnJlZQAAAKJtZGF0AAAAhmWIhBH/5Qw+K1i6jPntuZi/DQxIZQ2W"
    "o1N0XYEnGy9abu10+Fh8LHDqn0hHSf6+qvvcOGACwiYeUk6NK3bauiDpu4br1r4WHwsQh/qADY/z/cueFHwOARUEADRIwYpSFH95"
    "wNkeoEGN9x//gFhDyxd5XaNQJB4wCOF0K6CQ9wBsPoiliPzIAAAADEGaODO+qVeCGteDKAAAAwdtb292AAAAbG12aGQAAAAAAAAA"
    "AAAAAAAAAAPoAAABkAABAAABAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAACAAACVnRyYWsAAABcdGtoZAAAAAMAAAAAAAAAAAAAAAEAAAAAAAABkAAAAAAAAAAAAAAAAAAAAAAA"
    "AQAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAEAAAAAAIAAAACAAAAAAACRlZHRzAAAAHGVsc3QAAAAAAAAAAQAAAZAAAAAA"
    "AAEAAAAAAc5tZGlhAAAAIG1kaGQAAAAAAAAAAAAAAAAAACgAAAAQAFXEAAAAAAAtaGRscgAAAAAAAAAAdmlkZQAAAAAAAAAAAAAA"
    "AFZpZGVvSGFuZGxlcgAAAAF5bWluZgAAABR2bWhkAAAAAQAAAAAAAAAAAAAAJGRpbmYAAAAcZHJlZgAAAAAAAAABAAAADHVybCAA"
    "AAABAAABOXN0YmwAAAC5c3RzZAAAAAAAAAABAAAAqWF2YzEAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAIAAgAEgAAABIAAAAAAAA"
    "AAEMTGF2YyBsaWJ4MjY0AAAAAAAAAAAAAAAAAAAAAAAAAAAY//8AAAAvYXZjQwFCwAr/4QAWZ0LACtkJbARAAAADAEAAAAMCg8SJ"
    "kgEABmjLgE0sgAAAABBwYXNwAAAAAQAAAAEAAAAUYnRydAAAAAAAAAwIAAAAAAAAABhzdHRzAAAAAAAAAAEAAAACAAAIAAAAABRz"
    "dHNzAAAAAAAAAAEAAAABAAAAHHN0c2MAAAAAAAAAAQAAAAEAAAACAAAAAQAAABxzdHN6AAAAAAAAAAAAAAACAAAAigAAABAAAAAU"
    "c3RjbwAAAAAAAAABAAAAMAAAAD11ZHRhAAAANW1ldGEAAAAAAAAAIWhkbHIAAAAAAAAAAG1kaXJhcHBsAAAAAAAAAAAAAAAACGls"
    "c3Q="
)

QT_PROBE_MODULE = "app.qt_probe"  # the GUI package owns every Qt import


def probe(fn: Callable[[], Report]) -> Report:
    """Run one probe; its exception becomes {"error": "Type: message"}."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a failing probe is a finding, not a crash
        return {"error": f"{type(exc).__name__}: {exc}".strip()}


def probe_python() -> Report:
    """Interpreter, environment and evosam itself."""
    return {
        "version": platform.python_version(),
        "executable": sys.executable,
        "virtualenv": sys.prefix != sys.base_prefix,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "evosam": evosam.__version__,
        "evosam_location": str(Path(evosam.__file__).resolve().parent),
    }


def probe_torch() -> Report:
    """torch version, its CUDA build, whether a CUDA device is usable here, and whether the
    CPU runs bfloat16 natively, and what runs the CPU encoder by default (``cpu_encoder``:
    ``openvino`` or ``torch``, as ``--runtime auto`` decides)."""
    import torch

    from evosam.models.backend import cpu_has_bf16, wants_openvino
    from evosam.models.openvino_cpu import openvino_version

    info: Report = {
        "version": torch.__version__,
        "cuda_build": torch.version.cuda,
        "cuda_available": bool(torch.cuda.is_available()),
        "threads": torch.get_num_threads(),
        "openblas_spin_log2": evosam.OPENBLAS_SPIN_LOG2,  # see evosam/__init__.py
        "cpu_bf16": cpu_has_bf16(),
        "openvino": openvino_version(),
    }
    auto_openvino = wants_openvino("auto", torch.device("cpu"), info["cpu_bf16"])
    info["cpu_encoder"] = "openvino" if auto_openvino and info["openvino"] else "torch"
    if info["cuda_available"]:
        info["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    try:
        info["torchvision"] = importlib.metadata.version("torchvision")
    except importlib.metadata.PackageNotFoundError:
        info["torchvision"] = None
    return info


def _qt_version() -> str | None:
    for dist in ("PySide6-Essentials", "PySide6"):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def start_qt_probe() -> subprocess.Popen[str] | None:
    """Start ``python -m app.qt_probe`` (a QGuiApplication, no window, prints its platform);
    None without PySide6 or without the GUI package."""
    if importlib.util.find_spec("PySide6") is None or importlib.util.find_spec("app") is None:
        return None
    root = Path(importlib.util.find_spec("app").origin).resolve().parents[1]
    return subprocess.Popen(
        [sys.executable, "-m", QT_PROBE_MODULE],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def probe_qt(child: subprocess.Popen[str] | None, timeout: float = 20.0) -> Report:
    """PySide6 version, platform plugins on disk, and whether Qt can start here (result of child)."""
    info: Report = {
        "pyside6": _qt_version(),
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM"),
        "display": os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY"),
    }
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        info["error"] = "PySide6 is not installed"
        return info
    plugins = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms"
    if plugins.is_dir():
        names = sorted(p.name.split(".")[0].removeprefix("libq").removeprefix("q") for p in plugins.iterdir())
        info["platform_plugins"] = names
    if child is None:
        return info
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        info["starts"], info["reason"] = False, f"no answer within {timeout:.0f} s"
        return info
    info["starts"] = child.returncode == 0 and bool(out.strip())
    if info["starts"]:
        info["platform"] = out.strip().splitlines()[-1]
    else:
        lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
        useful = [ln for ln in lines if "could not" in ln.lower() or "error" in ln.lower()] or lines
        info["reason"] = useful[0] if useful else f"exit status {child.returncode}"
    return info


def _ffmpeg_line(build_info: str) -> str | None:
    for line in build_info.splitlines():
        if line.strip().startswith("FFMPEG:"):
            return line.split(":", 1)[1].strip()
    return None


def _read_frames(path: Path) -> tuple[int, tuple[int, ...] | None]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        count, shape = 0, None
        ok, frame = cap.read()
        while ok:
            count, shape = count + 1, frame.shape
            ok, frame = cap.read()
        return count, shape
    finally:
        cap.release()


def probe_opencv() -> Report:
    """OpenCV version and video backends; writes an mp4 (mp4v) and decodes it and an H.264 clip."""
    import cv2
    import numpy as np
    from cv2 import videoio_registry as reg

    info: Report = {
        "version": cv2.__version__,
        "ffmpeg": _ffmpeg_line(cv2.getBuildInformation()),
        "backends": [reg.getBackendName(b) for b in reg.getBackends()],
        "file_readers": [reg.getBackendName(b) for b in reg.getStreamBackends()],
        "writers": [reg.getBackendName(b) for b in reg.getWriterBackends()],
    }
    with tempfile.TemporaryDirectory(prefix="evosam-doctor-") as tmp:
        h264 = Path(tmp) / "h264.mp4"
        h264.write_bytes(base64.b64decode(H264_CLIP))
        frames, shape = _read_frames(h264)
        info["decodes_h264_mp4"] = frames == 2 and shape == (32, 32, 3)
        mp4 = Path(tmp) / "mp4v.mp4"
        writer = cv2.VideoWriter(str(mp4), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (64, 48))
        opened = writer.isOpened()
        if opened:
            for i in range(3):
                writer.write(np.full((48, 64, 3), 60 * i, np.uint8))
        writer.release()
        frames, shape = _read_frames(mp4) if opened else (0, None)
        info["writes_mp4v_mp4"] = opened and frames == 3 and shape == (48, 64, 3)
    return info


def probe_models() -> Report:
    """Registry models and whether each is ready (bundled, or a checkpoint in the user folder)."""
    from evosam.models.registry import available_models

    return {"available": [asdict(a) for a in available_models()]}


def probe_paths() -> Report:
    """Where settings, data, checkpoints, rebuildable caches and the sample clip live."""
    from evosam.paths import checkpoints_dir, user_cache_dir, user_config_dir, user_data_dir
    from evosam.sample import default_sample_path

    sample = default_sample_path()
    return {
        "config": str(user_config_dir()),
        "data": str(user_data_dir()),
        "checkpoints": str(checkpoints_dir()),
        "checkpoints_exists": checkpoints_dir().is_dir(),
        "cache": str(user_cache_dir()),
        "sample": str(sample),
        "sample_exists": sample.is_file(),
    }


def probe_ray() -> Report:
    """Whether Ray (``evosam batch``) is installed, and its version; Ray itself is not imported
    (that takes seconds)."""
    import importlib.metadata
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return {"available": False, "version": None}
    return {"available": True, "version": importlib.metadata.version("ray")}


def run_all(qt: bool = True) -> Report:
    """Every probe, the Qt child running alongside the others; qt=False skips starting Qt."""
    child = probe(lambda: {"child": start_qt_probe() if qt else None})
    report: Report = {"python": probe(probe_python)}
    report["torch"] = probe(probe_torch)
    report["opencv"] = probe(probe_opencv)
    report["models"] = probe(probe_models)
    report["paths"] = probe(probe_paths)
    report["ray"] = probe(probe_ray)
    report["qt"] = probe(lambda: probe_qt(child.get("child")))
    if "error" in child:
        report["qt"]["start_error"] = child["error"]
    return report
