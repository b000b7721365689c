"""``evosam doctor``: runs fast, exits 0, reports every section, turns a broken probe into a line,
and the engine never imports Qt (the doctor checks Qt in a child process)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import time

from evosam import diagnostics
from evosam.cli import main
from tests.conftest import REPO

SECTIONS = {"python", "torch", "qt", "opencv", "models", "paths", "ray"}


def run_doctor(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "evosam", "doctor", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=full_env,
        timeout=120,
    )


def test_doctor_json_has_every_section(tmp_path):
    start = time.perf_counter()
    proc = run_doctor("--json", EVOSAM_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert SECTIONS <= set(report)
    assert not any("error" in report[k] for k in SECTIONS), report
    assert report["python"]["version"].startswith("3.")
    assert report["torch"]["version"] and isinstance(report["torch"]["cuda_available"], bool)
    assert isinstance(report["torch"]["cpu_bf16"], bool)
    assert report["torch"]["cpu_encoder"] in ("openvino", "torch")
    assert report["torch"]["openvino"] is None or report["torch"]["openvino"][0].isdigit()
    assert report["qt"]["starts"] is True and report["qt"]["platform"] == "offscreen"
    assert report["opencv"]["decodes_h264_mp4"] is True and report["opencv"]["writes_mp4v_mp4"] is True
    assert "FFMPEG" in report["opencv"]["file_readers"]
    models = {m["name"]: m for m in report["models"]["available"]}
    assert models["litemedsam"]["ready"] and not models["sam_vit_b"]["ready"]
    assert report["paths"]["checkpoints"] == str(tmp_path / "data" / "checkpoints")
    assert report["paths"]["cache"] == str(tmp_path / "cache")
    assert report["paths"]["sample_exists"] is True
    assert report["ray"] == {"available": True, "version": importlib.metadata.version("ray")}  # setup installs it
    assert elapsed < 30, f"doctor took {elapsed:.1f} s"  # ~3.5 s on a 2-core CPU; generous for a loaded CI


def test_doctor_text_names_what_support_asks(tmp_path):
    proc = run_doctor(EVOSAM_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for needle in (
        "python ",
        "torch ",
        "cuda ",
        "bfloat16: encoder",
        "qt ",
        "PySide6",
        "opencv ",
        "H.264 yes",
        "litemedsam",
        "ready",
        "checkpoints ",
        "(evosam batch: local workers",
        str(tmp_path / "config"),
    ):
        assert needle in out, (needle, out)


def test_a_broken_probe_is_one_line_not_a_crash(monkeypatch, capsys):
    def broken() -> dict:
        raise OSError("libtorch_cuda.so: cannot open shared object file")

    monkeypatch.setattr(diagnostics, "probe_torch", broken)
    assert main(["doctor", "--no-qt"]) == 0
    out = capsys.readouterr().out
    torch_lines = [ln for ln in out.splitlines() if ln.strip().startswith("torch")]
    assert torch_lines == ["  torch          ERROR OSError: libtorch_cuda.so: cannot open shared object file"]
    assert "not started (--no-qt)" in out and "opencv " in out


def test_qt_that_cannot_start_is_reported(tmp_path):
    proc = run_doctor("--json", EVOSAM_HOME=str(tmp_path), QT_QPA_PLATFORM="no-such-platform")
    assert proc.returncode == 0, proc.stderr
    qt = json.loads(proc.stdout)["qt"]
    assert qt["starts"] is False and qt["reason"]


def test_engine_never_imports_qt():
    code = (
        "import pkgutil, importlib, sys, evosam\n"
        "for m in pkgutil.walk_packages(evosam.__path__, 'evosam.'):\n"
        "    if m.name != 'evosam.__main__': importlib.import_module(m.name)\n"
        "from evosam.cli import main\n"
        "main(['doctor', '--json'])\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')], 'evosam imported Qt'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
