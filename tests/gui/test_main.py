"""``main.py``: bad input gives one line on stderr and exit status 2 (no window, no traceback)."""

from __future__ import annotations

import main


def test_missing_video_exits_2(capsys, tmp_path):
    assert main.main([str(tmp_path / "nope.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evosam-annotator: error:") and err.count("\n") == 1 and "Traceback" not in err


def test_missing_checkpoint_exits_2(capsys, clip, tmp_path):
    assert main.main([str(clip), "--checkpoint", str(tmp_path / "missing.pth")]) == 2
    assert "checkpoint file not found" in capsys.readouterr().err
