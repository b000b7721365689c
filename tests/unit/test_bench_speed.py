"""``evosam bench speed`` on the bundled sample: a table and the JSON contract (not a speed test)."""

import json

from tests.unit.test_cli import assert_one_line_error, run_cli


def test_speed_benchmark_prints_a_table_and_json():
    proc = run_cli("bench", "speed", "--count", "2", "--device", "cpu", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert "speed benchmark: LiteMedSAM · CPU" in lines[0]
    result = json.loads(lines[-1])
    for key in ("embed_ms", "predict_ms", "teach_ms", "head_predict_ms", "box_ms", "propagate_fps", "peak_rss_mb"):
        assert result[key] > 0, key
    assert result["device"].startswith("LiteMedSAM · CPU") and result["frame_size"] == [360, 640]
    assert result["cpu"]  # the processor the figures came from


def test_speed_benchmark_needs_masks_for_other_frames(tmp_path):
    assert_one_line_error(run_cli("bench", "speed", "--frames", str(tmp_path)), "--frames needs --masks")


def test_speed_benchmark_times_an_architecture_with_random_weights():
    """No checkpoint needed (how SAM ViT-B is timed); here MobileSAM on PyTorch, 2 frames, batch 2."""
    proc = run_cli(
        "bench",
        "speed",
        "--model",
        "mobilesam_vit_t",
        "--random-weights",
        "--runtime",
        "torch",
        "--count",
        "2",
        "--batch",
        "2",
        "--device",
        "cpu",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    first = proc.stdout.splitlines()[0]  # "CPU bf16" on a CPU with native bfloat16
    assert "MobileSAM · CPU" in first and "random weights" in first, first
    assert result["random_weights"] is True and result["batch"] == 2 and result["propagate_fps"] > 0
