"""Files the window writes (exports, project files) get the permissions the user's umask
gives new files, as any other program's: not the owner-only mode of a temp file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from gui_clip import blob_mask

from app.state import FrameMask, Status

TIMEOUT_MS = 60000


@pytest.fixture
def umask_022():
    """The common umask, so that the expected modes differ from a temp file's 0600."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_exports_get_the_umask_permissions(qtbot, window, tmp_path, umask_022):
    window.controller.apply(0, "vessel", FrameMask(blob_mask(0), Status.CONFIRMED), "Confirm")
    outs = {"png": tmp_path / "dataset", "coco": tmp_path / "masks.json", "video": tmp_path / "review.mp4"}
    for kind, out in outs.items():
        with qtbot.waitSignal(window.exported, timeout=TIMEOUT_MS):
            window.export(kind, out)
    assert mode(outs["coco"]) == mode(outs["video"]) == 0o644
    folders = [outs["png"], *(p for p in outs["png"].rglob("*") if p.is_dir())]
    assert {mode(p) for p in folders} == {0o755}
    assert {mode(p) for p in outs["png"].rglob("*.png")} == {0o644}


def test_atomic_writes_get_the_umask_permissions(tmp_path, umask_022):
    from evosam.annotations import AnnotationState
    from evosam.export.coco import export_coco
    from evosam.imageio import write_atomic, write_mask_png
    from evosam.project import Project, VideoRef

    write_atomic(tmp_path / "a.json", b"{}")
    write_mask_png(tmp_path / "m.png", np.ones((4, 4), bool))
    assert mode(tmp_path / "a.json") == mode(tmp_path / "m.png") == 0o644
    state = AnnotationState(2, (4, 4))
    state.apply(0, "vessel", FrameMask(np.ones((4, 4), bool), Status.CONFIRMED), "test")
    project = Project.capture(VideoRef("v.mp4", "0" * 16, 2, (4, 4)), state)

    class Frames:  # the frames beside a COCO file (``images/``), a staged folder
        def frame(self, index: int) -> np.ndarray:
            return np.zeros((4, 4, 3), np.uint8)

    export_coco(project, tmp_path / "c" / "coco.json", video=Frames())
    assert mode(tmp_path / "c" / "coco.json") == 0o644 and mode(tmp_path / "c" / "images") == 0o755
