"""User folders (platformdirs, EVOSAM_HOME) and the models found in the checkpoints folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from evosam.errors import CheckpointError
from evosam.models import REGISTRY, load_model
from evosam.models.registry import available_models, find_checkpoint
from evosam.paths import APP_NAME, checkpoints_dir, user_cache_dir, user_config_dir, user_data_dir
from tests.conftest import REPO


def test_evosam_home_moves_every_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOSAM_HOME", str(tmp_path))
    assert user_config_dir() == tmp_path / "config"
    assert user_data_dir() == tmp_path / "data"
    assert checkpoints_dir() == tmp_path / "data" / "checkpoints"
    assert user_cache_dir() == tmp_path / "cache"
    assert not (tmp_path / "data").exists(), "looking a folder up must not create it"


def test_default_folders_are_the_platform_user_folders(monkeypatch):
    import platformdirs

    monkeypatch.delenv("EVOSAM_HOME", raising=False)
    assert user_config_dir() == Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    assert user_data_dir() == Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    assert user_cache_dir() == Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    assert checkpoints_dir().parent == user_data_dir() and checkpoints_dir().name == "checkpoints"
    if sys.platform.startswith("linux"):
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        assert user_data_dir() == Path.home() / ".local" / "share" / "evosam-annotator"


def test_available_models_reports_bundled_and_found_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOSAM_HOME", str(tmp_path))
    before = {m.name: m for m in available_models()}
    assert before["litemedsam"].ready and before["litemedsam"].origin == "bundled"
    assert Path(before["litemedsam"].source).is_file()
    assert not any(m.ready for name, m in before.items() if name != "litemedsam")
    assert set(before) == set(REGISTRY)

    checkpoints_dir().mkdir(parents=True)
    (checkpoints_dir() / "medsam_vit_b.pth").write_bytes(b"not read here")
    after = {m.name: m for m in available_models()}
    assert after["medsam_vit_b"].ready and after["medsam_vit_b"].origin == "checkpoint folder"
    assert find_checkpoint("medsam_vit_b") == checkpoints_dir() / "medsam_vit_b.pth"
    assert find_checkpoint("sam_vit_b") is None and find_checkpoint("litemedsam") is None


def test_load_model_takes_the_checkpoint_from_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOSAM_HOME", str(tmp_path))
    with pytest.raises(CheckpointError, match=f"put mobile_sam.pt in {checkpoints_dir()}"):
        load_model("mobilesam_vit_t", device="cpu")
    torch.manual_seed(3)
    net = REGISTRY["mobilesam_vit_t"].build()
    checkpoints_dir().mkdir(parents=True)
    torch.save(net.state_dict(), checkpoints_dir() / "mobile_sam.pt")
    backend = load_model("mobilesam_vit_t", device="cpu", runtime="torch")  # the weights' path, not OpenVINO's
    want = net.mask_decoder.iou_prediction_head.layers[0].weight
    assert torch.equal(backend.net.mask_decoder.iou_prediction_head.layers[0].weight.cpu(), want)
    # an explicit --checkpoint still wins over the folder
    other = tmp_path / "other.pt"
    torch.save({k: torch.zeros_like(v) for k, v in net.state_dict().items()}, other)
    zeroed = load_model("mobilesam_vit_t", checkpoint=other, device="cpu", runtime="torch")
    assert not zeroed.net.mask_decoder.iou_prediction_head.layers[0].weight.any()


def test_models_command_lists_readiness(tmp_path):
    env = {"EVOSAM_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "evosam", "models", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["checkpoints"] == str(tmp_path / "data" / "checkpoints")
    ready = {m["name"]: m["ready"] for m in out["models"]}
    assert ready == {name: name == "litemedsam" for name in REGISTRY}


def test_fresh_home_links_the_cache_and_checkpoints_and_nothing_else(tmp_path, monkeypatch):
    from evosam.paths import HOME_ENV, checkpoints_dir, fresh_home, user_cache_dir, user_config_dir

    monkeypatch.setenv(HOME_ENV, str(tmp_path / "user"))
    (user_cache_dir() / "openvino").mkdir(parents=True)
    user_config_dir().mkdir(parents=True)
    (user_config_dir() / "recent.json").write_text("[]")
    home = fresh_home(tmp_path / "fresh")
    monkeypatch.setenv(HOME_ENV, str(home))
    assert (user_cache_dir() / "openvino").is_dir() and checkpoints_dir().is_dir()
    assert not user_config_dir().exists()
