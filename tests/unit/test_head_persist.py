"""Saving and loading the head: round trip, and one-line refusals of foreign or broken state."""

import json

import numpy as np
import pytest

from evosam.errors import InputError
from evosam.head import EvoHead, FeatureConfig, load_head, save_head
from evosam.head.features import FEATURE_VERSION
from evosam.head.persist import HEAD_SCHEMA_VERSION
from tests.unit.test_head import FULL_BOX, SMALL, fake_frame, stats_of, teach_all


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    head = EvoHead("litemedsam", SMALL)
    head = teach_all(head, stats_of(head, [fake_frame(s) for s in range(3)], ["a", "b", "a"]))
    path = tmp_path_factory.mktemp("head") / "head.npz"
    save_head(head, path)
    return head, path


def write_meta(path, **meta):
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    return path


def test_round_trip(saved):
    head, path = saved
    back = EvoHead.load(path, "litemedsam", SMALL.features)
    assert list(back.profiles) == ["a", "b"] and back.taught_frames == 3 and back.config == head.config
    for name in ("a", "b", "all"):
        np.testing.assert_array_equal(back.weights(name), head.weights(name))
    frame, _, pred = fake_frame(7)
    np.testing.assert_array_equal(back.predict(frame, pred, FULL_BOX), head.predict(frame, pred, FULL_BOX))
    with np.load(path, allow_pickle=False) as data:  # plain arrays only
        assert "meta" in data.files


def test_save_is_atomic_and_overwrites(saved, tmp_path):
    head, _ = saved
    path = tmp_path / "state.npz"
    save_head(EvoHead("litemedsam", SMALL), path)
    head.save(path)
    assert load_head(path, "litemedsam").taught_frames == 3
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]  # no temp file left


def test_refuses_another_model_or_feature_set(saved):
    _, path = saved
    with pytest.raises(InputError, match="built for model 'litemedsam', not 'sam_vit_b'"):
        load_head(path, "sam_vit_b")
    with pytest.raises(InputError, match="another feature set"):
        load_head(path, "litemedsam", FeatureConfig(expansion=128))


def test_refuses_corrupt_missing_and_foreign_files(saved, tmp_path):
    _, path = saved
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(path.read_bytes()[:300])
    cases = {
        corrupt: "corrupt.npz: not a readable head state",
        tmp_path / "missing.npz": "not found",
        write_meta(tmp_path / "other.npz", x=1): "not an EvoSAM head state",
    }
    np.savez(tmp_path / "nometa.npz", G=np.zeros(3))
    cases[tmp_path / "nometa.npz"] = "not a readable head state"
    for p, message in cases.items():
        with pytest.raises(InputError, match=message) as err:
            load_head(p, "litemedsam")
        assert "\n" not in str(err.value) and str(p.name) in str(err.value)


def test_refuses_future_schema_and_old_features(tmp_path):
    future = write_meta(tmp_path / "future.npz", schema_version=HEAD_SCHEMA_VERSION + 1, model_name="litemedsam")
    with pytest.raises(InputError, match="newer than this EvoSAM"):
        load_head(future, "litemedsam")
    old = write_meta(
        tmp_path / "old.npz", schema_version=HEAD_SCHEMA_VERSION, model_name="litemedsam", feature_version=1
    )
    with pytest.raises(InputError, match=f"feature version 1, this EvoSAM computes version {FEATURE_VERSION}"):
        load_head(old, "litemedsam")


def test_refuses_tampered_config_or_arrays(saved, tmp_path):
    _, path = saved
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    meta["config"]["features"]["expansion"] = 65  # description no longer matches its digest
    bad = dict(arrays, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    np.savez(tmp_path / "tampered.npz", **bad)
    with pytest.raises(InputError, match="does not match its digest"):
        load_head(tmp_path / "tampered.npz", "litemedsam")
    np.savez(tmp_path / "shape.npz", **dict(arrays, p0_G=np.zeros((3, 3))))
    with pytest.raises(InputError, match="incomplete or mis-shaped"):
        load_head(tmp_path / "shape.npz", "litemedsam")
