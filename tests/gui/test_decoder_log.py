"""A truncated video gives our one line on stderr, not FFmpeg's own log before it (``[h264 @
0x…] Invalid NAL unit size``, ``partial file``): the CLI, and the terminal the window was
started from, read videos through ``evosam.video``. (No Qt: here with the window's tests
because it is the window's terminal too.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import REPO, shared_data


def cut_in_half(video: Path, out: Path) -> Path:
    data = video.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    return out


def written_here(tmp_path: Path) -> Path:
    """A small mp4 written with OpenCV (its index at the end: the decoder finds none)."""
    full = tmp_path / "full.mp4"
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(20):
        writer.write(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    writer.release()
    return cut_in_half(full, tmp_path / "trunc.mp4")


def recorded(tmp_path: Path) -> Path:
    """A recorded H.264 clip (its index first: frames decode until the cut)."""
    return cut_in_half(shared_data("videos", "cholecystectomy_81f.mp4"), tmp_path / "trunc.mp4")


@pytest.mark.parametrize(("make", "start"), [(written_here, 0), (recorded, 60)])
def test_a_truncated_mp4_gives_one_line_on_stderr(tmp_path, make, start):
    video = make(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENCV_FFMPEG_LOGLEVEL", "OPENCV_LOG_LEVEL")}
    command = ["propagate", str(video), "--box", "10", "10", "60", "60", "--start", str(start)]
    proc = subprocess.run(
        [sys.executable, "-m", "evosam", *command, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("evosam propagate: error: "), proc.stderr
    assert "trunc.mp4" in proc.stderr
