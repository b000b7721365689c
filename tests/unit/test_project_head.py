"""The head inside a project: saved once per change, loaded for its model only, kept when
a project is re-saved without loading it, and saved by the Autosaver at full saves only."""

from __future__ import annotations

import numpy as np
import pytest

from evosam.errors import InputError
from evosam.head import EvoHead
from evosam.project import Autosaver, HeadFile, Project, load_project, save_project
from tests.unit.test_head import FULL_BOX, SMALL, fake_frame, stats_of, teach_all
from tests.unit.test_project import make_frames, sample_project


@pytest.fixture(scope="module")
def head():
    h = EvoHead("litemedsam", SMALL)
    return teach_all(h, stats_of(h, [fake_frame(s) for s in range(2)], ["a", "b"]))


def with_head(project: Project, head) -> Project:
    return Project(project.video, project.labels, project.masks, head, project.settings)


def test_head_round_trip_and_refusal_for_another_model(tmp_path, head):
    project = with_head(sample_project(make_frames(tmp_path / "clip")), head)
    root = tmp_path / "p.evosam"
    save_project(root, project)
    heads = list(root.glob("head-*.npz"))
    assert len(heads) == 1
    back = load_project(root)
    assert isinstance(back.head, HeadFile) and back.head.model == "litemedsam"
    loaded = back.load_head("litemedsam")
    frame, _, pred = fake_frame(5)
    np.testing.assert_array_equal(loaded.predict(frame, pred, FULL_BOX), head.predict(frame, pred, FULL_BOX))
    with pytest.raises(InputError, match=r"head-.*\.npz: head state was built for model 'litemedsam'"):
        back.load_head("sam_vit_b")
    mtime = heads[0].stat().st_mtime_ns
    save_project(root, with_head(back, loaded))  # same statistics: the file is not rewritten
    assert [p.stat().st_mtime_ns for p in root.glob("head-*.npz")] == [mtime]
    copy = tmp_path / "copy.evosam"
    save_project(copy, back)  # a head never loaded is carried over byte for byte
    assert [p.read_bytes() for p in copy.glob("head-*.npz")] == [heads[0].read_bytes()]
    save_project(root, with_head(back, None))
    assert not list(root.glob("head-*.npz")) and load_project(root).head is None


def test_autosaver_writes_a_new_head_at_the_next_full_save(tmp_path, head):
    project = sample_project(make_frames(tmp_path / "clip"))
    current = {"head": None}
    clock = [0.0]
    root = tmp_path / "p.evosam"
    saver = Autosaver(root, lambda: with_head(project, current["head"]), save_after=30.0, clock=lambda: clock[0])
    assert saver.tick() == "save"
    current["head"] = head
    for t in (1.0, 3.0, 10.0):  # masks unchanged, only the head: nothing to journal
        clock[0] = t
        assert saver.tick() is None and saver.dirty
    clock[0] = 31.0
    assert saver.tick() == "save" and load_project(root).head is not None
