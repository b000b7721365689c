"""The bad-input battery: every entry point (CLI commands and the engine functions the GUI
calls) fed with broken or hostile input gives one clear line naming the file and the
problem, a non-zero exit code at the CLI, no traceback, and no partial output.

Covered elsewhere and not repeated here: open_video on empty / truncated / non-video /
zero-frame mp4s and mixed-size folders (test_video), NaN / inverted / outside boxes and
missing or non-image files for ``segment`` (test_cli), truncated / wrong-architecture /
code-carrying checkpoints at the engine level (test_models), head states of another
model or a newer schema (test_head_persist, test_project_head), corrupt, future-version
and hand-edited projects (test_project).
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from evosam.cli import main
from evosam.errors import InputError
from evosam.imageio import read_mask, write_mask_png
from evosam.project import save_project
from evosam.video import open_video
from tests.conftest import REPO
from tests.unit.test_models import _Evil
from tests.unit.test_project import make_frames, sample_project, tree_digest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools.*")


def cli_error(capsys, args: list[str], *needles: str) -> str:
    """Run the CLI in-process: exit code 2, exactly one stderr line holding ``needles``
    (any other exception than our typed errors would propagate and fail the test)."""
    assert main(args) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.fixture
def bad(tmp_path) -> dict[str, Path]:
    """Broken videos, images and masks made by code."""
    d = {}
    d["empty.mp4"] = tmp_path / "empty.mp4"
    d["empty.mp4"].write_bytes(b"")
    d["text.mp4"] = tmp_path / "text.mp4"
    d["text.mp4"].write_text("not a video\n" * 40)
    good = tmp_path / "good.mp4"
    writer = cv2.VideoWriter(str(good), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    for i in range(6):
        writer.write(np.full((48, 64, 3), 30 * i, np.uint8))
    writer.release()
    d["good.mp4"] = good
    d["truncated.mp4"] = tmp_path / "truncated.mp4"
    d["truncated.mp4"].write_bytes(good.read_bytes()[:300])
    d["zero.mp4"] = tmp_path / "zero.mp4"
    cv2.VideoWriter(str(d["zero.mp4"]), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48)).release()
    d["mixed"] = make_frames(tmp_path / "mixed", 2)
    cv2.imwrite(str(d["mixed"] / "000002.png"), np.zeros((10, 12, 3), np.uint8))
    d["tiny"] = make_frames(tmp_path / "tiny", 3, (1, 1))  # OpenCV cannot write a 1x1 mp4
    d["empty.png"] = tmp_path / "empty.png"
    d["empty.png"].write_bytes(b"")
    return d


@pytest.mark.parametrize(
    "name, needle",
    [
        ("empty.mp4", "the file is empty"),
        ("text.mp4", "not a video"),
        ("truncated.mp4", "decode"),
        ("zero.mp4", "decode"),
        ("mixed", "000002.png: frame is 12x10"),
    ],
)
def test_broken_videos_at_propagate_and_import(bad, tmp_path, capsys, name, needle):
    out = tmp_path / "out"
    cli_error(
        capsys,
        ["propagate", str(bad[name]), "--box", "1", "1", "9", "9", "--start", "0", "--out", str(out)],
        name,
        needle,
    )
    cli_error(capsys, ["import", str(bad[name]), "--masks", str(tmp_path), "--out", str(out)], name, needle)
    assert not out.exists()


def test_one_pixel_video_and_frame(bad, tmp_path, capsys):
    with open_video(bad["tiny"]) as video:
        assert video.size == (1, 1) and video.frame(2).shape == (1, 1, 3)
    out = tmp_path / "o"
    cli_error(
        capsys,
        ["propagate", str(bad["tiny"]), "--box", "0", "0", "1", "1", "--start", "0", "--out", str(out)],
        "covers no area inside the 1x1 frame",
    )
    cli_error(
        capsys,
        ["segment", str(bad["tiny"] / "000000.png"), "--box", "0", "0", "1", "1", "--out", str(out)],
        "covers no area",
    )
    assert not out.exists()


def test_boxes_zero_area_at_the_cli(tmp_path, capsys):
    img = make_frames(tmp_path / "f", 1) / "000000.png"
    cli_error(
        capsys,
        ["segment", str(img), "--box", "5", "5", "5", "20", "--out", str(tmp_path / "m.png")],
        "x1 must exceed x0",
    )
    cli_error(
        capsys,
        ["segment", str(img), "--box", "51", "0", "90", "20", "--out", str(tmp_path / "m.png")],
        "covers no area",
    )
    assert not (tmp_path / "m.png").exists()


def test_8k_sixteen_bit_and_gray_frames_are_segmented(tmp_path, capsys):
    big = tmp_path / "8k.png"
    ramp = np.tile(np.linspace(0, 255, 7680, dtype=np.uint8), (4320, 1))
    cv2.imwrite(str(big), np.dstack([ramp, ramp // 2, ramp // 3]))
    gray16 = tmp_path / "gray16.png"
    img = np.full((48, 64), 20000, np.uint16)
    img[10:30, 20:40] = 60000
    cv2.imwrite(str(gray16), img)
    for image, box, size in (
        (big, ("100", "100", "4000", "3000"), (4320, 7680)),
        (gray16, ("15", "5", "45", "35"), (48, 64)),
    ):
        out = tmp_path / f"{image.stem}-mask.png"
        assert main(["segment", str(image), "--box", *box, "--device", "cpu", "--out", str(out)]) == 0
        assert read_mask(out).shape == size
    capsys.readouterr()


def test_code_carrying_checkpoint_at_the_cli_is_not_run(tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"model": _Evil(str(marker))}, evil)
    img = make_frames(tmp_path / "f", 1) / "000000.png"
    args = ["segment", str(img), "--box", "1", "1", "9", "9", "--model", "sam_vit_b", "--checkpoint", str(evil)]
    cli_error(capsys, [*args, "--out", str(tmp_path / "m.png")], "evil.pth", "carries code")
    assert not marker.exists() and not (tmp_path / "m.png").exists()


def test_masks_unreadable_wrong_size_or_misnamed_at_import(tmp_path, capsys):
    frames = make_frames(tmp_path / "clip")
    out = tmp_path / "p.evosam"
    cases = {
        "empty": (b"", "000001.png", "not a readable mask image"),
        "small": (
            cv2.imencode(".png", np.zeros((10, 10), np.uint8))[1].tobytes(),
            "000001.png",
            "mask is 10x10 but the frame is 52x36",
        ),
        "named": (cv2.imencode(".png", np.zeros((36, 52), np.uint8))[1].tobytes(), "notes.png", "matches no frame"),
        "range": (cv2.imencode(".png", np.zeros((36, 52), np.uint8))[1].tobytes(), "000099.png", "frame 99 is outside"),
    }
    for case, (data, name, needle) in cases.items():
        folder = tmp_path / case
        folder.mkdir()
        (folder / name).write_bytes(data)
        cli_error(capsys, ["import", str(frames), "--masks", str(folder), "--out", str(out)], name, needle)
    (tmp_path / "none").mkdir()
    cli_error(
        capsys, ["import", str(frames), "--masks", str(tmp_path / "none"), "--out", str(out)], "holds no mask images"
    )
    assert not out.exists()
    sixteen = tmp_path / "sixteen"
    sixteen.mkdir()
    m16 = np.zeros((36, 52), np.uint16)
    m16[3:9, 4:20] = 65535
    cv2.imwrite(str(sixteen / "000002.png"), m16)
    assert main(["import", str(frames), "--masks", str(sixteen), "--out", str(out)]) == 0
    capsys.readouterr()


def coco(tmp_path: Path, seg, **image) -> Path:
    doc = {
        "images": [{"id": 1, "file_name": "000001.png", "height": 36, "width": 52, **image}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": seg}],
        "categories": [{"id": 1, "name": "vessel"}],
    }
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    "seg, image, needle",
    [
        ({"size": [36, 52], "counts": [0, 10**9]}, {}, "do not add up"),
        ({"size": [36, 52], "counts": "zzzz~~~"}, {}, "malformed RLE"),
        ({"size": [10, 10], "counts": [100]}, {}, "RLE of size [10, 10]"),
        ([[1.0, 2.0, float("nan"), 4.0, 5.0, 6.0]], {}, "neither RLE nor polygons"),
        ([[1, 2, 3e300, 4, 5, 6]], {}, "neither RLE nor polygons"),
        ({"size": [36, 52], "counts": [1872]}, {"width": 99}, "is 99x36, the video is 52x36"),
        ({"size": [36, 52], "counts": [1872]}, {"file_name": "cat.jpg"}, "matches no frame"),
    ],
)
def test_hostile_coco_never_reaches_the_c_decoder(tmp_path, capsys, seg, image, needle):
    frames = make_frames(tmp_path / "clip")
    path = coco(tmp_path, seg, **image)
    cli_error(
        capsys, ["import", str(frames), "--masks", str(path), "--out", str(tmp_path / "p.evosam")], "coco.json", needle
    )
    assert not (tmp_path / "p.evosam").exists()


def test_corrupt_and_future_projects_at_export_are_untouched(tmp_path, capsys):
    frames = make_frames(tmp_path / "clip")
    root = tmp_path / "p.evosam"
    save_project(root, sample_project(frames))
    manifest = json.loads((root / "project.json").read_text())
    out = tmp_path / "ds"
    for text, needle in (
        (json.dumps({**manifest, "schema_version": 99}), "project schema 99 is newer"),
        (json.dumps(manifest)[:200], "corrupt JSON"),
        ("", "corrupt JSON"),
    ):
        (root / "project.json").write_text(text)
        before = tree_digest(root)
        cli_error(capsys, ["export", str(root), "--format", "png", "--out", str(out)], "project.json", needle)
        assert tree_digest(root) == before and not out.exists()
    cli_error(capsys, ["export", str(frames), "--format", "png", "--out", str(out)], "not an EvoSAM project")


def test_moved_or_changed_video_at_export(tmp_path, capsys):
    frames = make_frames(tmp_path / "clip")
    root = tmp_path / "p.evosam"
    save_project(root, sample_project(frames))
    cv2.imwrite(str(frames / "000000.png"), np.zeros((36, 52, 3), np.uint8))
    cli_error(
        capsys, ["export", str(root), "--format", "video", "--out", str(tmp_path / "v.mp4")], "its content changed"
    )
    frames.rename(tmp_path / "gone")
    cli_error(
        capsys, ["export", str(root), "--format", "png", "--frames", "--out", str(tmp_path / "ds")], "video is missing"
    )
    assert not (tmp_path / "v.mp4").exists() and not (tmp_path / "ds").exists()


def test_read_only_and_full_output_leave_nothing(tmp_path, capsys, monkeypatch):
    frames = make_frames(tmp_path / "clip")
    root = tmp_path / "p.evosam"
    save_project(root, sample_project(frames))
    masks = tmp_path / "m"
    write_mask_png(masks / "000001.png", np.ones((36, 52), bool))
    before = files_in(tmp_path)

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    with monkeypatch.context() as m:  # a read-only output folder (chmod does not bind root)
        m.setattr("evosam.export.common.tempfile.mkdtemp", denied)
        m.setattr("evosam.export.common.tempfile.mkstemp", denied)
        m.setattr("evosam.imageio.tempfile.mkstemp", denied)
        cli_error(capsys, ["export", str(root), "--format", "png", "--out", str(tmp_path / "ds")], "Permission denied")
        cli_error(
            capsys, ["export", str(root), "--format", "coco", "--out", str(tmp_path / "c.json")], "Permission denied"
        )
        cli_error(
            capsys, ["import", str(frames), "--masks", str(tmp_path / "x.json"), "--out", str(tmp_path / "n")], "x.json"
        )
        cli_error(
            capsys,
            ["import", str(frames), "--masks", str(masks), "--out", str(tmp_path / "n.evosam")],
            "Permission denied",
        )
    calls = []

    def full_disk(path, image):
        calls.append(path)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")

    with monkeypatch.context() as m:
        m.setattr("evosam.export.png.write_png", full_disk)
        cli_error(
            capsys,
            ["export", str(root), "--format", "png", "--status", "proposed", "--out", str(tmp_path / "ds")],
            "No space left on device",
        )
        m.setattr(
            "evosam.imageio.os.fsync",
            lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")),
        )
        with pytest.raises(InputError, match="m.png: cannot write .No space left on device"):
            write_mask_png(tmp_path / "m.png", np.ones((4, 4), bool))
    assert files_in(tmp_path) == before  # nothing partial anywhere


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    """The same contract through ``python -m evosam``, as a user runs it."""
    frames = make_frames(tmp_path / "clip")
    (tmp_path / "p.evosam").mkdir()
    (tmp_path / "p.evosam" / "project.json").write_text('{"schema_version": 1, "vid')
    for args, needle in (
        (["export", str(tmp_path / "p.evosam"), "--format", "coco", "--out", str(tmp_path / "c.json")], "corrupt JSON"),
        (
            ["import", str(frames), "--masks", str(tmp_path / "nowhere"), "--out", str(tmp_path / "n")],
            "no such mask folder",
        ),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "evosam", *args], capture_output=True, text=True, cwd=REPO, timeout=300
        )
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "Warning" not in ln]
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(lines) == 1 and needle in lines[0], (
            proc.stderr
        )
    assert not (tmp_path / "c.json").exists() and not (tmp_path / "n").exists()
