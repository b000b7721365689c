"""``evosam bench generalize`` and the by-video splits of ``bench continual``, on real
Endoscapes frames (a few videos) with the real model."""

import argparse
import json

import numpy as np

from evosam.bench.continual import task_splits
from tests.conftest import shared_data
from tests.unit.test_cli import run_cli


def test_continual_splits_by_video_never_by_frame():
    endo = shared_data("endoscapes_dev")
    args = argparse.Namespace(by_video=True, swap=False, video_groups=1)
    [(name, train, test)] = task_splits(f"endo={endo}", args)
    video = lambda item: item[1].split("_")[0]  # noqa: E731
    assert name == "endo" and train and test
    assert not {video(i) for i in train} & {video(i) for i in test}
    swapped = task_splits(f"endo={endo}", argparse.Namespace(by_video=True, swap=True, video_groups=1))[0]
    assert {video(i) for i in swapped[2]} == {video(i) for i in train}  # the other half trains
    groups = task_splits(f"endo={endo}", argparse.Namespace(by_video=True, swap=False, video_groups=3))
    assert [g[0] for g in groups] == ["endo1", "endo2", "endo3"]
    seen = [{video(i) for i in g[1] + g[2]} for g in groups]
    assert not seen[0] & seen[1] and not seen[1] & seen[2]
    assert max(seen[0]) < min(seen[1])  # consecutive groups of videos, in order


def test_bench_generalize_on_four_videos():
    endo = shared_data("endoscapes_dev")
    proc = run_cli(
        "bench", "generalize", str(endo), "--limit", "4", "--teach", "1", "2", "all", "--device", "cpu", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = result["rows"]
    assert [r["k"] for r in rows][:2] == [1, 2] and all(r["frames"] > 0 for r in rows)
    first = rows[0]
    # one confirmed frame: nothing has been scored as unseen, so the proposal is SAM's own
    assert first["proposers"] == ["sam", "sam"] and first["head_dice"] == first["sam_dice"]
    assert first["worse_frames"] == 0
    for r in rows:
        assert 0 <= r["sam_dice"] <= 1 and 0 <= r["head_dice"] <= 1 and np.isfinite(r["ungated_head_dice"])


def test_bench_generalize_refuses_a_clip_without_label():
    clip = shared_data("cholecseg8k_clip")
    proc = run_cli("bench", "generalize", str(clip), "--device", "cpu")
    assert proc.returncode == 2 and "--label" in proc.stderr and "Traceback" not in proc.stderr
