"""Export (PNG dataset, COCO RLE, overlay video) and import: round trips and the CLI."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from evosam.annotations import Status
from evosam.cli import main
from evosam.errors import InputError
from evosam.export import coco_dict, export_coco, export_png, export_video, import_project
from evosam.imageio import read_mask
from evosam.project import load_project, save_project
from evosam.video import open_video
from tests.unit.test_project import SIZE, blob, make_frames, sample_project

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools.*")


@pytest.fixture
def saved(tmp_path):
    """(project folder, project, frame folder): masks on frames 0..3 of 'vessel' (1 and 3
    confirmed) and a rejected mask on frame 1 of 'a/b: odd'."""
    frames = make_frames(tmp_path / "clip")
    project = sample_project(frames)
    save_project(tmp_path / "p.evosam", project)
    return tmp_path / "p.evosam", project, frames


def test_png_dataset_layout_round_trips_through_import(saved, tmp_path):
    root, project, frames = saved
    with open_video(frames) as video:
        done = export_png(project, tmp_path / "ds", None, [Status.CONFIRMED, Status.PROPOSED], video)
    assert (done.masks, done.frames) == (4, 4)
    masks = sorted(p.name for p in (tmp_path / "ds" / "vessel" / "masks").iterdir())
    images = sorted(p.name for p in (tmp_path / "ds" / "vessel" / "images").iterdir())
    assert masks == images == [f"{i:06d}.png" for i in range(4)]  # identical stems
    assert not (tmp_path / "ds" / "a_b_ odd").exists()  # rejected masks are not exported
    png = cv2.imread(str(tmp_path / "ds" / "vessel" / "masks" / "000002.png"), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8 and set(np.unique(png)) == {0, 255} and np.array_equal(png > 0, blob(2))
    frame = cv2.imread(str(tmp_path / "ds" / "vessel" / "images" / "000003.png"))
    assert frame.shape == (*SIZE, 3) and int(frame.mean()) == 120
    from evosam.bench.retina import task_stems  # what `evosam bench continual` reads

    assert task_stems(tmp_path / "ds" / "vessel") == [f"{i:06d}" for i in range(4)]
    with open_video(frames) as video:
        back = import_project(video, [(tmp_path / "ds" / "vessel" / "masks", "vessel")])
    assert set(back.masks) == {(i, "vessel") for i in range(4)}
    for i in range(4):
        assert np.array_equal(back.masks[(i, "vessel")].unpack().mask, project.masks[(i, "vessel")].unpack().mask)
        assert back.masks[(i, "vessel")].source == "import" and back.masks[(i, "vessel")].status == Status.CONFIRMED


def test_class_id_masks_with_a_legend(saved, tmp_path):
    _, project, _ = saved
    export_png(project, tmp_path / "ds", None, [Status.CONFIRMED, Status.REJECTED], class_ids=True)
    legend = json.loads((tmp_path / "ds" / "classes" / "legend.json").read_text())
    assert legend["classes"] == {"0": "background", "1": "vessel", "2": "a/b: odd"}
    ids = cv2.imread(str(tmp_path / "ds" / "classes" / "masks" / "000001.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(ids == 2, ~blob(9)) and np.array_equal(ids == 1, blob(1) & blob(9))


def test_coco_loads_in_pycocotools_and_decodes_to_identical_masks(saved, tmp_path):
    _, project, frames = saved
    out = tmp_path / "coco" / "annotations.json"
    with open_video(frames) as video:
        export_coco(project, out, None, [Status.CONFIRMED, Status.PROPOSED, Status.REJECTED], video)
    coco = COCO(str(out))
    cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert len(coco.getAnnIds()) == 5
    for ann in coco.loadAnns(coco.getAnnIds()):
        img = coco.loadImgs(ann["image_id"])[0]
        key = (img["frame_index"], cats[ann["category_id"]])
        assert np.array_equal(coco.annToMask(ann).astype(bool), project.masks[key].unpack().mask), key
        assert ann["status"] == project.masks[key].status.value and ann["source"] == project.masks[key].source
        assert (tmp_path / "coco" / "images" / img["file_name"]).is_file()
    with open_video(frames) as video:
        back = import_project(video, [(out, None)], Status.PROPOSED)
    assert {lab.name for lab in back.labels} == {"vessel", "a/b: odd"}
    for key, packed in project.masks.items():
        assert np.array_equal(back.masks[key].unpack().mask, packed.unpack().mask), key


def test_coco_import_of_polygons_and_uncompressed_rle(tmp_path):
    frames = make_frames(tmp_path / "clip")
    square = [[10.0, 5.0, 20.0, 5.0, 20.0, 15.0, 10.0, 15.0]]
    mask = np.zeros(SIZE, bool)
    mask[:, :3] = True  # column-major runs: 3 columns of H pixels, then the rest
    doc = {
        "images": [{"id": 7, "file_name": "000004.png", "height": SIZE[0], "width": SIZE[1]}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "segmentation": square},
            {
                "id": 2,
                "image_id": 7,
                "category_id": 1,
                "segmentation": {"size": list(SIZE), "counts": [0, 3 * SIZE[0], SIZE[0] * (SIZE[1] - 3)]},
            },
        ],
        "categories": [{"id": 1, "name": "artery"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(doc))
    with open_video(frames) as video:
        project = import_project(video, [(tmp_path / "c.json", None)])
    got = project.masks[(4, "artery")].unpack().mask
    assert got[10, 15] and got[:, :3].all() and not got[30, 40] and got.sum() > 3 * SIZE[0] + 80


def test_overlay_video_has_every_frame_and_shows_the_masks(saved, tmp_path):
    _, project, frames = saved
    with open_video(frames) as video:
        done = export_video(project, video, tmp_path / "review.mp4")
    assert done.frames == 6
    with open_video(tmp_path / "review.mp4") as back:
        assert back.frame_count == 6 and back.size == SIZE
        tinted, plain = back.frame(2)[blob(2)].mean(axis=0), back.frame(2)[~blob(2) & ~blob(9)].mean(axis=0)
        assert tinted[2] > plain[2] + 40  # vessel colour (0, 200, 255): blue rises where the mask is


def test_cli_export_and_import(saved, tmp_path, capsys):
    root, project, frames = saved
    assert main(["export", str(root), "--format", "png", "--out", str(tmp_path / "ds"), "--frames"]) == 0
    assert sorted(p.name for p in (tmp_path / "ds" / "vessel" / "masks").iterdir()) == ["000001.png", "000003.png"]
    assert main(["export", str(root), "--format", "coco", "--out", str(tmp_path / "c.json"), "--labels", "vessel"]) == 0
    assert len(json.loads((tmp_path / "c.json").read_text())["annotations"]) == 2
    assert main(["export", str(root), "--format", "video", "--out", str(tmp_path / "v.mp4")]) == 0
    assert open_video(tmp_path / "v.mp4").frame_count == 6
    out = tmp_path / "imported.evosam"
    masks = tmp_path / "ds" / "vessel" / "masks"
    assert main(["import", str(frames), "--masks", str(masks), "--label", "vessel", "--out", str(out)]) == 0
    back = load_project(out)
    assert set(back.masks) == {(1, "vessel"), (3, "vessel")}
    assert "2 masks (vessel: 2)" in capsys.readouterr().out
    for key in back.masks:
        assert np.array_equal(back.masks[key].unpack().mask, read_mask(masks / f"{key[0]:06d}.png"))


def test_cli_export_errors_are_one_line_and_leave_nothing(saved, tmp_path, capsys):
    root, _, _ = saved
    cases = [
        (["--format", "png", "--out", str(tmp_path / "x"), "--labels", "nerve"], "no label 'nerve'"),
        (["--format", "png", "--out", str(tmp_path / "x"), "--status", "rejected", "--labels", "vessel"], "nothing"),
        (["--format", "png", "--out", str(root)], "not an empty folder"),
    ]
    for args, needle in cases:
        assert main(["export", str(root), *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x*"))


def test_coco_dict_skips_empty_masks_but_keeps_their_frame(saved):
    _, project, _ = saved
    masks = dict(project.masks)
    empty = masks[(1, "vessel")].unpack().mask & False
    from evosam.annotations import PackedMask

    masks[(1, "vessel")] = PackedMask.from_mask(empty, Status.CONFIRMED)
    doc = coco_dict(type(project)(project.video, project.labels, masks), ["vessel"], [Status.CONFIRMED])
    assert [img["frame_index"] for img in doc["images"]] == [1, 3]
    assert [a["image_id"] for a in doc["annotations"]] == [4]
    with pytest.raises(InputError, match="no label"):
        coco_dict(project, ["nope"], [Status.CONFIRMED])
