"""``main.py``: bad input gives one line on stderr and exit status 2 (no window, no traceback)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

MAIN = Path(__file__).resolve().parents[2] / "main.py"


def load_main():
    spec = importlib.util.spec_from_file_location("evosam_annotator_main", MAIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_video_exits_2_with_one_line(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("EVOSAM_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, str(MAIN), str(tmp_path / "nope.mp4")], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("evosam-annotator: error:") and proc.stderr.count("\n") == 1, proc.stderr
    assert "nope.mp4" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_checkpoint_exits_2(capsys, clip, tmp_path, monkeypatch):
    monkeypatch.delenv("EVOSAM_DEBUG", raising=False)
    assert load_main().main([str(clip), "--checkpoint", str(tmp_path / "missing.pth")]) == 2
    assert "checkpoint file not found" in capsys.readouterr().err


def test_bad_project_arguments_exit_2(capsys, clip, tmp_path, monkeypatch):
    monkeypatch.delenv("EVOSAM_DEBUG", raising=False)
    occupied = tmp_path / "notes"
    occupied.mkdir()
    (occupied / "todo.txt").write_text("x")
    assert load_main().main([str(clip), "--project", str(occupied)]) == 2
    assert "not a project folder" in capsys.readouterr().err
    from evosam.annotations import AnnotationState
    from evosam.project import Project, VideoRef, save_project
    from evosam.video import open_video

    with open_video(clip) as video:
        ref = VideoRef.of(video)
    moved = tmp_path / "moved.evosam"
    gone = VideoRef(str(tmp_path / "gone"), ref.fingerprint, ref.frame_count, ref.size)
    save_project(moved, Project.capture(gone, AnnotationState(ref.frame_count, ref.size)))
    assert load_main().main(["--project", str(moved)]) == 2
    err = capsys.readouterr().err
    assert "video is missing" in err and err.count("\n") == 1
