"""``evosam bench continual`` on a tiny two-site sequence (2 train + 2 test images per task)."""

import json

import numpy as np

from evosam.bench.continual import gem_metrics, parse_task
from evosam.bench.sgd import ReplayBuffer
from tests.conftest import shared_data
from tests.unit.test_cli import run_cli


def test_gem_metrics():
    r = np.array([[0.8, 0.1], [0.7, 0.9]])
    acc, bwt = gem_metrics(r)
    assert acc == np.float64(0.8) and abs(bwt - (-0.1)) < 1e-12


def test_parse_task():
    assert parse_task("drive=a:b")[0] == "drive"
    assert parse_task("stare=c")[2] is None


def test_replay_buffer_respects_its_budget():
    buf = ReplayBuffer(10)
    buf.add(np.ones((25, 3), np.float32), np.ones(25), np.ones(25))
    assert len(buf) == 10 and buf.seen == 25


def test_bench_continual_json_on_a_tiny_sequence():
    drive_train, drive_test, stare = shared_data("drive_train"), shared_data("drive_test"), shared_data("stare")
    proc = run_cli(
        "bench",
        "continual",
        "--task",
        f"drive={drive_train}:{drive_test}",
        "--task",
        f"stare={stare}",
        "--limit",
        "2",
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    methods = result["methods"]
    assert set(methods) == {"sam", "evosam", "evosam_auto", "joint", "finetune", "replay"}
    for res in methods.values():
        assert np.array(res["R"]).shape == (2, 2) and "ACC" in res and "BWT" in res
    # the analytic head equals joint training, and beats SAM alone on vessels
    np.testing.assert_allclose(methods["evosam"]["R"], methods["joint"]["R"], atol=2e-3)
    assert methods["evosam"]["ACC"] > methods["sam"]["ACC"] + 0.2
    assert methods["evosam"]["teach_ms_per_image"] > 0


def test_bad_task_spec_is_one_line():
    proc = run_cli("bench", "continual", "--task", "nonsense", "--device", "cpu")
    assert proc.returncode == 2 and "expected NAME=TRAIN_DIR" in proc.stderr and "Traceback" not in proc.stderr


def test_bench_annotate_json_on_the_sample():
    from evosam.sample import default_sample_path

    sample = default_sample_path()
    proc = run_cli(
        "bench",
        "annotate",
        "--frames",
        str(sample),
        "--masks",
        str(sample.parent / "masks"),
        "--limit",
        "4",
        "--device",
        "cpu",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["sam"]["frames"] == result["evosam"]["frames"] == 3
    # SAM alone gives a blob on a thin vessel tree: every frame needs correcting
    assert result["corrections_sam"] == 3
    assert result["evosam"]["mean_dice"] > result["sam"]["mean_dice"] + 0.3


def annotate_clip(*extra: str):
    """``evosam bench annotate`` on the shared clip's frames and masks, on the CPU, then ``extra``."""
    clip = shared_data("cholecseg8k_clip")
    return run_cli(
        "bench", "annotate", "--frames", str(clip / "frames"), "--masks", str(clip / "masks"), "--device", "cpu", *extra
    )


def test_bench_annotate_walks_each_label_and_totals_them():
    proc = annotate_clip("--label", "22", "31", "--limit", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    per_label = result["labels"]
    assert set(per_label) == {"22", "31"}
    for method in ("sam", "evosam"):
        assert [per_label[k][method]["frames"] for k in ("22", "31")] == [2, 2]
        assert result[method]["frames"] == 4
        assert result[method]["corrections"] == sum(per_label[k][method]["corrections"] for k in per_label)
    assert result["corrections_sam"] == result["sam"]["corrections"]
    assert "   all      sam" in proc.stdout  # the totals row of the table


def test_bench_annotate_refuses_a_label_missing_from_the_first_frame():
    proc = annotate_clip("--label", "99", "--limit", "2")
    assert proc.returncode != 0 and "holds no 99" in proc.stderr and "Traceback" not in proc.stderr
