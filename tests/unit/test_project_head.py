"""The learner inside a project: saved once per change, loaded for its model only with its
taught keys and evidence, kept when a project is re-saved without loading it, saved by the
Autosaver at full saves only; a schema 2 project's single head migrates as a legacy head."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evosam.errors import InputError, ProjectError
from evosam.head import EvoHead
from evosam.learning import Learner, teaching_box
from evosam.project import SCHEMA_VERSION, Autosaver, HeadFile, Project, load_project, save_project
from tests.unit.test_head import FULL_BOX, SMALL, fake_frame, stats_of, teach_all
from tests.unit.test_project import make_frames, sample_project


@pytest.fixture(scope="module")
def learner() -> Learner:
    """Two labels; frames of one video far enough apart in time to be scored as unseen."""
    lr = Learner("litemedsam", SMALL)
    for i, (frame, label) in enumerate([(0, "vessel"), (20, "vessel"), (40, "vessel"), (0, "vein")]):
        img, mask, pred = fake_frame(i)
        lr.teach(("fp", frame, label), img, pred, mask, teaching_box(mask), label, "fp", frame)
    return lr


@pytest.fixture(scope="module")
def head() -> EvoHead:
    h = EvoHead("litemedsam", SMALL)
    return teach_all(h, stats_of(h, [fake_frame(s) for s in range(2)], ["a", "b"]))


def with_head(project: Project, head) -> Project:
    return Project(project.video, project.labels, project.masks, head, project.settings)


def test_learner_round_trip_and_refusal_for_another_model(tmp_path, learner):
    project = with_head(sample_project(make_frames(tmp_path / "clip")), learner)
    root = tmp_path / "p.evosam"
    save_project(root, project)
    heads = list(root.glob("head-*.npz"))
    assert len(heads) == 1
    manifest = json.loads((root / "project.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION and manifest["head"]["kind"] == "learner"
    back = load_project(root)
    assert isinstance(back.head, HeadFile) and back.head.model == "litemedsam" and not back.head.legacy
    loaded = back.load_head("litemedsam")
    assert isinstance(loaded, Learner) and loaded.taught_keys == learner.taught_keys
    for label in ("vessel", "vein"):
        assert loaded.report(label) == learner.report(label)  # the curve and the choice come back
        np.testing.assert_array_equal(loaded.head_of(label).total().G, learner.head_of(label).total().G)
    assert loaded.report("vessel").curve[0][1].head is not None  # scored as unseen: frames apart in time
    assert loaded.untaught(("fp", 20, "vessel")) and loaded.head_of("vessel").taught_frames == 2
    with pytest.raises(InputError, match=r"head-.*\.npz: head state was built for model 'litemedsam'"):
        back.load_head("sam_vit_b")
    mtime = heads[0].stat().st_mtime_ns
    save_project(root, with_head(back, learner))  # the same learner: the file is not rewritten
    assert [p.stat().st_mtime_ns for p in root.glob("head-*.npz")] == [mtime]
    copy = tmp_path / "copy.evosam"
    save_project(copy, back)  # a head never loaded is carried over byte for byte
    assert [p.read_bytes() for p in copy.glob("head-*.npz")] == [heads[0].read_bytes()]
    assert load_project(copy).head.kind == "learner"
    save_project(root, with_head(back, None))
    assert not list(root.glob("head-*.npz")) and load_project(root).head is None


def test_a_bare_head_is_stored_as_a_legacy_single_head(tmp_path, head):
    root = tmp_path / "p.evosam"
    save_project(root, with_head(sample_project(make_frames(tmp_path / "clip")), head))
    back = load_project(root)
    assert back.head.kind == "head" and back.head.legacy
    loaded = back.load_head("litemedsam")
    frame, _, pred = fake_frame(5)
    np.testing.assert_array_equal(loaded.predict(frame, pred, FULL_BOX), head.predict(frame, pred, FULL_BOX))


def test_schema_2_head_migrates_as_legacy_and_is_carried(tmp_path, head):
    root = tmp_path / "old.evosam"
    save_project(root, with_head(sample_project(make_frames(tmp_path / "clip")), head))
    manifest = json.loads((root / "project.json").read_text())
    manifest["schema_version"] = 2
    del manifest["head"]["kind"]  # as schema 2 wrote it
    (root / "project.json").write_text(json.dumps(manifest))
    project = load_project(root)
    assert isinstance(project.head, HeadFile) and project.head.legacy and project.head.model == "litemedsam"
    assert len(project.masks) == 5
    save_project(root, project)
    saved = json.loads((root / "project.json").read_text())
    assert saved["schema_version"] == SCHEMA_VERSION and saved["head"] == {**manifest["head"], "kind": "head"}


def test_unknown_head_kind_is_refused(tmp_path, head):
    root = tmp_path / "p.evosam"
    save_project(root, with_head(sample_project(make_frames(tmp_path / "clip")), head))
    manifest = json.loads((root / "project.json").read_text())
    manifest["head"]["kind"] = "brain"
    (root / "project.json").write_text(json.dumps(manifest))
    with pytest.raises(ProjectError, match=r"project.json: head.kind is 'brain'"):
        load_project(root)


def test_autosaver_writes_a_new_learner_at_the_next_full_save(tmp_path, learner):
    project = sample_project(make_frames(tmp_path / "clip"))
    current = {"head": None}
    clock = [0.0]
    root = tmp_path / "p.evosam"
    saver = Autosaver(root, lambda: with_head(project, current["head"]), save_after=30.0, clock=lambda: clock[0])
    assert saver.tick() == "save"
    current["head"] = learner
    for t in (1.0, 3.0, 10.0):  # masks unchanged, only the head: nothing to journal
        clock[0] = t
        assert saver.tick() is None and saver.dirty
    clock[0] = 31.0
    assert saver.tick() == "save" and load_project(root).head.kind == "learner"
