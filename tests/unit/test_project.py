"""Projects: save/load round trip, incremental saves, migration, refusals, journal, autosave."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from evosam.annotations import AnnotationState, FrameMask, Label, PackedMask, Status
from evosam.errors import ProjectError
from evosam.project import SCHEMA_VERSION, Autosaver, Project, VideoRef, load_project, locate_video, save_project
from evosam.project import journal as journal_mod
from evosam.video import open_video

SIZE = (36, 52)  # (H, W)


def make_frames(folder: Path, n: int = 6, size: tuple[int, int] = SIZE) -> Path:
    """A frame folder whose frame i has brightness 30 + 30 i."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:06d}.png"), np.full((*size, 3), 30 + 30 * i, np.uint8))
    return folder


def blob(i: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A bool (H, W) mask that differs for every i: a box plus a 1-pixel diagonal 'vessel'."""
    m = np.zeros(size, bool)
    m[2 + i % 10 : 12 + i % 10, 3 : 9 + i % 30] = True
    rr = np.arange(min(size))
    m[rr, (rr + i) % size[1]] = True
    return m


def sample_project(frames: Path, n_masks: int = 4) -> Project:
    ref = VideoRef.of(open_video(frames))
    state = AnnotationState(ref.frame_count, ref.size, [Label("vessel", (0, 200, 255)), Label("a/b: odd", (9, 9, 9))])
    for i in range(n_masks):
        status = Status.CONFIRMED if i % 2 else Status.PROPOSED
        fm = FrameMask(blob(i), status, 0.5 + i / 10, ("low_iou",) if i == 2 else (), i == 3, f"litemedsam+head:{i}")
        state.apply(i, "vessel", fm, "t")
    state.apply(1, "a/b: odd", FrameMask(~blob(9), Status.REJECTED, source="user"), "t")
    return Project.capture(ref, state, None, {"brush": 4, "model": "litemedsam"})


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def assert_same(a: Project, b: Project) -> None:
    assert a.video == b.video and a.labels == b.labels and dict(a.settings) == dict(b.settings)
    assert set(a.masks) == set(b.masks)
    for k, v in a.masks.items():
        w = b.masks[k]
        assert np.array_equal(v.unpack().mask, w.unpack().mask), k
        assert (v.status, v.iou, v.flags, v.edited, v.source) == (w.status, w.iou, w.flags, w.edited, w.source), k


@pytest.fixture
def frames(tmp_path):
    return make_frames(tmp_path / "clip")


def test_round_trip_keeps_masks_status_and_provenance(frames, tmp_path):
    project = sample_project(frames)
    save_project(tmp_path / "p.evosam", project)
    back = load_project(tmp_path / "p.evosam")
    assert_same(project, back)
    assert back.recovered == 0 and back.head is None
    state = back.to_state()
    assert state.get(3, "vessel").edited and state.get(1, "a/b: odd").status == Status.REJECTED
    assert not state.can_undo
    # readable without our code: json + one 0/255 PNG per mask
    manifest = json.loads((tmp_path / "p.evosam" / "project.json").read_text())
    entry = next(e for e in manifest["masks"] if e["frame"] == 2 and e["label"] == "vessel")
    png = cv2.imread(str(tmp_path / "p.evosam" / entry["file"]), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8 and set(np.unique(png)) == {0, 255}
    assert np.array_equal(png > 0, blob(2)) and entry["source"] == "litemedsam+head:2"


def test_saves_are_incremental_and_collect_old_files(frames, tmp_path):
    root = tmp_path / "p.evosam"
    project = sample_project(frames)
    save_project(root, project)
    before = {p.name: p.stat().st_ino for p in root.rglob("*.png")}
    masks = dict(project.masks)
    masks[(0, "vessel")] = masks[(0, "vessel")].with_status(Status.CONFIRMED)  # same bits: no new file
    masks[(2, "vessel")] = PackedMask.from_mask(blob(20), Status.CONFIRMED, "user")
    del masks[(3, "vessel")]
    save_project(root, Project(project.video, project.labels, masks, None, project.settings))
    after = {p.name: p.stat().st_ino for p in root.rglob("*.png")}
    assert len(after) == len(masks)
    kept = set(before) & set(after)
    assert len(kept) == len(masks) - 1 and all(before[n] == after[n] for n in kept)
    assert load_project(root).masks[(0, "vessel")].status == Status.CONFIRMED
    assert not list(root.rglob("*.tmp"))


def write_v1(root: Path, frames: Path) -> None:
    """A project in the draft schema 1: video size as [H, W], masks without provenance."""
    ref = VideoRef.of(open_video(frames))
    (root / "masks" / "vessel").mkdir(parents=True)
    cv2.imwrite(str(root / "masks" / "vessel" / "000002.png"), np.where(blob(2), 255, 0).astype(np.uint8))
    manifest = {
        "format": "evosam-project",
        "schema_version": 1,
        "video": {"path": ref.path, "fingerprint": ref.fingerprint, "frame_count": 6, "size": list(SIZE)},
        "labels": [{"name": "vessel", "color": [0, 200, 255], "folder": "masks/vessel"}],
        "masks": [{"frame": 2, "label": "vessel", "file": "masks/vessel/000002.png", "status": "confirmed"}],
        "head": None,
    }
    (root / "project.json").write_text(json.dumps(manifest))


def test_older_schema_is_migrated_and_left_untouched_until_saved(frames, tmp_path):
    root = tmp_path / "old.evosam"
    write_v1(root, frames)
    before = tree_digest(root)
    project = load_project(root)
    assert tree_digest(root) == before
    assert project.video.size == SIZE and project.settings == {}
    packed = project.masks[(2, "vessel")]
    assert packed.status == Status.CONFIRMED and packed.source == "" and np.array_equal(packed.unpack().mask, blob(2))
    save_project(root, project)
    assert json.loads((root / "project.json").read_text())["schema_version"] == SCHEMA_VERSION
    assert not (root / "masks" / "vessel" / "000002.png").exists()  # replaced by the digest-named file
    assert_same(project, load_project(root))


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda m: {**m, "schema_version": 99}, "schema 99 is newer than this EvoSAM"),
        (lambda m: {**m, "schema_version": "2"}, "no valid schema_version"),
        (lambda m: {**m, "format": "labelme"}, "not an EvoSAM project manifest"),
        (lambda m: {**m, "masks": [{**m["masks"][0], "frame": 99}]}, "masks[0].frame is 99, outside"),
        (lambda m: {**m, "masks": [{**m["masks"][0], "file": "../../etc/passwd"}]}, "outside the project folder"),
        (lambda m: {**m, "masks": [{**m["masks"][0], "status": "maybe"}]}, "masks[0].status"),
        (lambda m: {**m, "masks": m["masks"] + m["masks"][:1]}, "repeats frame"),
        (lambda m: {**m, "labels": [{"name": "", "color": [1, 2, 3], "folder": "x"}]}, "labels[0] is invalid"),
        (lambda m: {**m, "video": {**m["video"], "width": 0}}, "video.width is 0"),
        (lambda m: {k: v for k, v in m.items() if k != "video"}, "project.video is missing"),
    ],
)
def test_bad_manifests_are_refused_and_untouched(frames, tmp_path, edit, needle):
    root = tmp_path / "p.evosam"
    save_project(root, sample_project(frames))
    manifest = json.loads((root / "project.json").read_text())
    (root / "project.json").write_text(json.dumps(edit(manifest)))
    before = tree_digest(root)
    with pytest.raises(ProjectError) as err:
        load_project(root)
    assert needle in str(err.value) and "project.json" in str(err.value) and "\n" not in str(err.value)
    assert tree_digest(root) == before


def test_corrupt_files_are_refused_naming_the_file(frames, tmp_path):
    root = tmp_path / "p.evosam"
    save_project(root, sample_project(frames))
    manifest = root / "project.json"
    data = manifest.read_bytes()
    manifest.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProjectError, match="corrupt JSON"):
        load_project(root)
    manifest.write_bytes(data)
    png = sorted((root / "masks" / "vessel").iterdir())[0]
    png.write_bytes(b"\x89PNG garbage")
    with pytest.raises(ProjectError, match=f"{png.name}: mask file of frame 0, label 'vessel' is not a readable"):
        load_project(root)
    cv2.imwrite(str(png), np.zeros((5, 5), np.uint8))
    with pytest.raises(ProjectError, match="is 5x5, the video is 52x36"):
        load_project(root)
    png.unlink()
    with pytest.raises(ProjectError, match="is missing"):
        load_project(root)
    with pytest.raises(ProjectError, match="no project.json"):
        load_project(tmp_path / "clip")
    with pytest.raises(ProjectError, match="no such project folder"):
        load_project(tmp_path / "nowhere.evosam")


def test_save_refuses_a_foreign_folder_and_reports_write_errors(frames, tmp_path, monkeypatch):
    with pytest.raises(ProjectError, match="not empty and holds no project"):
        save_project(frames, sample_project(frames))
    assert sorted(p.name for p in frames.iterdir())[0] == "000000.png" and len(list(frames.iterdir())) == 6
    root = tmp_path / "p.evosam"
    project = sample_project(frames)
    save_project(root, project)
    before = tree_digest(root)
    changed = Project(project.video, project.labels, {(0, "vessel"): PackedMask.from_mask(blob(7))}, None, {})

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("evosam.imageio.os.fsync", full)
    with pytest.raises(ProjectError) as err:
        save_project(root, changed)
    assert "No space left on device" in str(err.value) and "last save is intact" in str(err.value)
    monkeypatch.undo()
    assert tree_digest(root) == before
    assert_same(project, load_project(root))


def test_read_only_folder_is_one_line_and_the_old_save_survives(frames, tmp_path, monkeypatch):
    root = tmp_path / "p.evosam"
    project = sample_project(frames)
    save_project(root, project)
    masks = {(0, "vessel"): PackedMask.from_mask(blob(8))}

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("evosam.imageio.tempfile.mkstemp", read_only)
    with pytest.raises(ProjectError, match="Read-only file system"):
        save_project(root, Project(project.video, project.labels, masks, None, {}))
    monkeypatch.undo()
    assert_same(project, load_project(root))
    if os.geteuid() == 0:
        pytest.skip("running as root: the chmod part needs an unprivileged user (the monkeypatched part passed)")
    for d in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        d.chmod(0o555)
    try:
        with pytest.raises(ProjectError, match="Permission denied"):
            save_project(root, Project(project.video, project.labels, masks, None, {}))
    finally:
        for d in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
            d.chmod(0o755)
    assert_same(project, load_project(root))


def test_journal_recovers_unsaved_changes_and_ignores_a_torn_tail(frames, tmp_path):
    root = tmp_path / "p.evosam"
    clock = [0.0]
    state_box: dict = {}
    project = sample_project(frames)
    state = project.to_state()
    saver = Autosaver(root, lambda: Project.capture(project.video, state, None, state_box), clock=lambda: clock[0])
    assert saver.tick() == "save"  # a new folder is written at once
    state.apply(4, "vessel", FrameMask(blob(14), Status.CONFIRMED, source="user"), "t")
    assert saver.tick() is None and saver.dirty  # not yet a second of change
    clock[0] = 1.5
    assert saver.tick() == "journal"
    state.add_label("nerve")
    state.apply(5, "nerve", FrameMask(blob(15)), "t")
    state.apply(0, "vessel", None, "t")
    state_box["k"] = 1
    clock[0] = 2.0
    saver.tick()
    clock[0] = 3.5
    assert saver.tick() == "journal"
    expected = Project.capture(project.video, state, None, {"k": 1})
    back = load_project(root)  # as after a crash: manifest + journal
    assert back.recovered == 2
    assert_same(expected, back)
    with (root / journal_mod.JOURNAL).open("ab") as fh:  # a crash in the middle of an append
        fh.write(b'{"base": "x", "seq": 9, "cel')
    assert_same(expected, load_project(root))
    lines = (root / journal_mod.JOURNAL).read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"k":1', b'"k":2')  # damaged record: it and what follows are ignored
    (root / journal_mod.JOURNAL).write_bytes(b"\n".join(lines))
    assert load_project(root).recovered == 1
    clock[0] = 40.0
    state.apply(1, "vessel", None, "t")
    saver.tick()
    clock[0] = 42.0
    assert saver.tick() == "save" and not (root / journal_mod.JOURNAL).exists()
    assert_same(Project.capture(project.video, state, None, {"k": 1}), load_project(root))


def test_autosaver_flush_after_load(frames, tmp_path):
    root = tmp_path / "p.evosam"
    project = sample_project(frames)
    save_project(root, project)
    loaded = load_project(root)
    state = loaded.to_state()
    clock = [0.0]
    capture = lambda: Project.capture(loaded.video, state, None, loaded.settings)  # noqa: E731
    saver = Autosaver(root, capture, loaded, clock=lambda: clock[0])
    assert saver.tick() is None and not saver.dirty
    assert saver.flush()  # first flush after a load writes once (compacts any recovered journal)
    assert not saver.flush()
    state.apply(5, "vessel", FrameMask(blob(5)), "t")
    assert saver.flush() and 5 in {f for f, _ in load_project(root).masks}


def test_video_reference_detects_moved_and_changed_videos(frames, tmp_path):
    project = sample_project(frames)
    root = tmp_path / "work" / "p.evosam"
    save_project(root, project)
    project.video.check(open_video(frames))
    moved = tmp_path / "work" / "clip"
    frames.rename(moved)
    found = locate_video(root, load_project(root).video)
    assert found == moved
    project.video.check(open_video(found))
    cv2.imwrite(str(moved / "000000.png"), np.full((*SIZE, 3), 99, np.uint8))
    with pytest.raises(ProjectError, match="not the video this project annotates .its content changed"):
        project.video.check(open_video(moved))
    cv2.imwrite(str(moved / "000006.png"), np.full((*SIZE, 3), 99, np.uint8))
    with pytest.raises(ProjectError, match="7 frames instead of 6"):
        project.video.check(open_video(moved))
    moved.rename(tmp_path / "elsewhere")
    with pytest.raises(ProjectError, match="clip: the project's video is missing"):
        locate_video(root, project.video)
