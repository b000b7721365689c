"""Fuzzing the readers (hypothesis): the project manifest, the journal, mask files and COCO
segmentations. Whatever the bytes, a reader returns a value or raises our one-line typed
error; nothing else escapes (no crash, no other exception type), and nothing is written."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evosam.errors import InputError, ProjectError
from evosam.export.ingest import _decode
from evosam.imageio import read_mask
from evosam.project import load_project, save_project
from tests.unit.test_project import make_frames, sample_project, tree_digest

FUZZ = settings(
    max_examples=int(os.environ.get("EVOSAM_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("fuzz")
    save_project(base / "p.evosam", sample_project(make_frames(base / "clip")))
    return base / "p.evosam"


def fresh_copy(template: Path, tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(template, root)
    return root


def paths_of(obj, prefix=()):
    """Every (path of keys/indices) inside a JSON value."""
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield from paths_of(v, (*prefix, k))


def load_or_refuse(root: Path) -> None:
    before = tree_digest(root)
    try:
        load_project(root).to_state()
    except ProjectError as exc:
        assert "\n" not in str(exc) and str(exc)
    assert tree_digest(root) == before


@FUZZ
@given(data=st.data())
def test_manifest_with_any_field_replaced(template, tmp_path, data):
    root = fresh_copy(template, tmp_path, "m")
    manifest = json.loads((root / "project.json").read_text())
    path = data.draw(st.sampled_from(list(paths_of(manifest))[1:]))
    target = manifest
    for key in path[:-1]:
        target = target[key]
    if data.draw(st.booleans()):
        target[path[-1]] = data.draw(JSON)
    elif isinstance(target, dict):
        del target[path[-1]]
    (root / "project.json").write_text(json.dumps(manifest))
    load_or_refuse(root)


@FUZZ
@given(blob=st.binary(max_size=400), cut=st.integers(0, 5000))
def test_manifest_bytes_truncated_or_garbage(template, tmp_path, blob, cut):
    root = fresh_copy(template, tmp_path, "b")
    data = (root / "project.json").read_bytes()
    (root / "project.json").write_bytes(data[:cut] + blob)
    load_or_refuse(root)


@FUZZ
@given(lines=st.lists(st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()), max_size=4))
def test_journal_garbage_is_ignored(template, tmp_path, lines):
    root = fresh_copy(template, tmp_path, "j")
    (root / "journal.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    project = load_project(root)
    assert project.recovered == 0 and len(project.masks) == 5


@FUZZ
@given(blob=st.binary(max_size=300), png_header=st.booleans())
def test_mask_reader_on_random_bytes(tmp_path, blob, png_header):
    path = tmp_path / "mask.png"
    good = cv2.imencode(".png", np.zeros((6, 7), np.uint8))[1].tobytes()
    path.write_bytes((good[: len(good) // 2] if png_header else b"") + blob)
    try:
        m = read_mask(path, (6, 7))
        assert m.dtype == bool and m.shape == (6, 7)
    except InputError as exc:
        assert "mask.png" in str(exc)


@FUZZ
@given(
    counts=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
    | st.lists(st.integers(-5, 400), max_size=8),
    size=st.lists(st.integers(0, 40), min_size=2, max_size=2),
)
def test_coco_rle_decoder_on_random_run_lengths(counts, size):
    try:
        m = _decode({"size": size, "counts": counts}, 12, 20)
        assert m.shape == (12, 20) and m.dtype == bool
    except (ValueError, TypeError):
        pass
