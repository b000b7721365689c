"""The review queue: confidence of a proposal, its level, the order, and the benchmark's contract."""

import json
import math

import pytest

from evosam.review import confidence_level, next_to_review, review_confidence, review_order
from tests.conftest import shared_data


def test_confidence_is_the_predicted_iou_halved_by_a_flag_and_zero_when_lost():
    assert review_confidence(0.9) == pytest.approx(0.9)
    assert review_confidence(0.9, ("area_jump",)) == pytest.approx(0.45)
    assert review_confidence(0.9, ("lost",)) == 0.0
    assert review_confidence(None) == 0.0 and review_confidence(math.nan) == 0.0
    assert review_confidence(1.7) == 1.0
    assert [confidence_level(c) for c in (0.95, 0.8, 0.6, 0.3, 0.0)] == [
        "confident", "confident", "unsure", "lost", "lost"]  # fmt: skip


def test_the_queue_starts_with_the_least_sure_frame():
    conf = {3: 0.9, 7: 0.2, 1: 0.5, 9: 0.2}
    assert review_order(conf) == [7, 9, 1, 3]
    assert next_to_review(conf) == 7
    assert next_to_review(conf, after=7) == 9  # N again: the next in the queue
    assert next_to_review(conf, after=1) == 3
    assert next_to_review(conf, after=3) == 7  # wraps around
    assert next_to_review(conf, after=4) == 7  # from a frame not in the queue: its start
    assert next_to_review({}) is None


@pytest.mark.parametrize("keyframes", ["on", "off"])
def test_bench_review_json_contract(keyframes):
    from tests.unit.test_cli import run_cli

    clip = shared_data("cholecseg8k_clip")
    proc = run_cli("bench", "review", "--frames", str(clip / "frames"), "--masks", str(clip / "masks"),
                   "--label", "22", "--limit", "6", "--device", "cpu", "--keyframes", keyframes, "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert ("keyframes" if keyframes == "on" else "every frame encoded") in proc.stdout
    row = json.loads(proc.stdout.strip().splitlines()[-1])["labels"]["22"]
    assert row["frames"] == 5 and 0 <= row["bad_frames"] <= 5
    # a correction propagates again, which can make other frames bad: corrections may exceed bad_frames
    assert row["corrections"] <= row["reviews"] <= 5 and row["sequential_corrections"] <= row["sequential_reviews"] <= 5
    if row["bad_frames"]:
        assert 0 <= row["found_in_first_20pct"] <= row["attainable"] <= 1
