"""``evosam doctor [--json] [--no-qt]``: what a support person asks first, in a few seconds.

Never fails on what it finds: each probe that breaks is printed as one line and the command
still exits 0 (``evosam.diagnostics``).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evosam.diagnostics import Report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="print versions, devices, video decoding, models and paths",
        description="Print what a support person asks first: Python, torch and CUDA, Qt, OpenCV video "
        "decoding, the models that are ready, and where settings, data and checkpoints live.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-qt", action="store_true", help="do not start Qt to check the display platform")
    p.set_defaults(func=run)


def _yes(value: Any) -> str:
    return "yes" if value else "no"


def _line(key: str, value: str) -> str:
    return f"  {key:<14} {value}"


def _section(report: Report, key: str, body: list[str]) -> list[str]:
    """``body`` lines, or the probe's error as one line."""
    if "error" in report.get(key, {}):
        return [_line(key, f"ERROR {report[key]['error']}")]
    return body


def _openblas_spin(log2: int | None) -> str:
    """How long numpy's OpenBLAS threads spin after a product (None: the library default)."""
    if log2 is None:
        return "threads may spin 2^28 cycles after each product (numpy loaded before evosam, or a bad value)"
    return f"threads spin 2^{log2} cycles after each product, then sleep"


def format_report(report: Report) -> list[str]:
    """The report as aligned text lines, one fact per line."""
    py, tch, qt, cv, paths = (report.get(k, {}) for k in ("python", "torch", "qt", "opencv", "paths"))
    lines = _section(
        report,
        "python",
        [
            _line("evosam", f"{py.get('evosam')} ({py.get('evosam_location')})"),
            _line("python", f"{py.get('version')} ({py.get('executable')}, venv: {_yes(py.get('virtualenv'))})"),
            _line("platform", f"{py.get('platform')} {py.get('machine')}"),
        ],
    )
    cuda = f"yes: {', '.join(tch.get('devices', []))}" if tch.get("cuda_available") else "no (runs on the CPU)"
    build = f"CUDA {tch.get('cuda_build')} build" if tch.get("cuda_build") else "CPU build"
    precision = "native bfloat16: encoder in bf16" if tch.get("cpu_bf16") else "no native bfloat16: encoder in float32"
    if tch.get("cpu_encoder") == "openvino":
        runtime = f"OpenVINO {tch['openvino']}"
    else:
        runtime = "PyTorch" if tch.get("openvino") or tch.get("cpu_bf16") else "PyTorch; OpenVINO not installed"
    bf16 = f"{precision} ({runtime})"
    lines += _section(
        report,
        "torch",
        [
            _line("torch", f"{tch.get('version')} ({build}), torchvision {tch.get('torchvision')}"),
            _line("cuda", cuda),
            _line("cpu", f"{tch.get('threads')} threads; {bf16}"),
            _line("openblas", _openblas_spin(tch.get("openblas_spin_log2"))),
        ],
    )
    if qt.get("starts") is True:
        start = f"starts, platform {qt.get('platform')}"
    elif qt.get("starts") is False:
        start = f"cannot start: {qt.get('reason')}"
    else:
        start = "not started (--no-qt)"
    lines += _section(
        report,
        "qt",
        [
            _line("qt", f"PySide6 {qt.get('pyside6')}; {start}"),
            _line(
                "qt plugins",
                f"{', '.join(qt.get('platform_plugins', [])) or '-'}; QT_QPA_PLATFORM="
                f"{qt.get('QT_QPA_PLATFORM') or '(unset)'}; display {qt.get('display') or '(none)'}",
            ),
        ],
    )
    lines += _section(
        report,
        "opencv",
        [
            _line("opencv", f"{cv.get('version')}; FFMPEG {cv.get('ffmpeg')}"),
            _line(
                "video i/o",
                f"readers {', '.join(cv.get('file_readers', []))}; writers {', '.join(cv.get('writers', []))}",
            ),
            _line(
                "mp4 decode",
                f"H.264 {_yes(cv.get('decodes_h264_mp4'))}; mp4v write+read {_yes(cv.get('writes_mp4v_mp4'))}",
            ),
        ],
    )
    models = report.get("models", {})
    if "error" in models:
        lines.append(_line("models", f"ERROR {models['error']}"))
    for m in models.get("available", []):
        state = f"ready ({m['origin']}: {m['source']})" if m["ready"] else f"needs checkpoint ({m['source']})"
        lines.append(_line("model", f"{m['name']:<16} {state}"))
    ray = report.get("ray", {})
    if ray.get("available"):
        batch = f"{ray['version']} (evosam batch: local workers, or a cluster with --address)"
    else:
        batch = "not installed (evosam batch needs it: pip install 'evosam-annotator[batch]')"
    lines += _section(report, "ray", [_line("ray", batch)])
    lines += _section(
        report,
        "paths",
        [
            _line("config", paths.get("config", "")),
            _line("data", paths.get("data", "")),
            _line(
                "checkpoints",
                f"{paths.get('checkpoints')}{'' if paths.get('checkpoints_exists') else ' (not created yet)'}",
            ),
            _line("cache", paths.get("cache", "")),
            _line("sample", f"{paths.get('sample')}{'' if paths.get('sample_exists') else ' (MISSING)'}"),
        ],
    )
    return lines


def run(args: argparse.Namespace) -> int:
    from evosam.diagnostics import run_all

    start = time.perf_counter()
    report = run_all(qt=not args.no_qt)
    report["seconds"] = round(time.perf_counter() - start, 2)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print("EvoSAM doctor")
        print("\n".join(format_report(report)))
        print(f"  (probes took {report['seconds']} s)")
    return 0
