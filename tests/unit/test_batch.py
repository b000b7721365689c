"""``evosam batch``: the job file, the plan of runs, and a real run on Ray's local mode."""

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from evosam.batch import BatchJob, plan_runs, read_jobs
from evosam.batch.densify import read_inputs
from evosam.batch.ray_pool import _worker_shape
from evosam.errors import InputError
from tests.conftest import REPO, shared_data


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evosam", *args], capture_output=True, text=True, cwd=REPO, timeout=900
    )


@pytest.mark.parametrize("keys,count", [([0], 5), ([4], 5), ([0, 7], 10), ([2, 3, 9], 12), ([0, 1], 2)])
def test_runs_cover_every_frame_once_from_its_nearest_keyframe(keys, count):
    runs = plan_runs(keys, count)
    owner = {k: k for k in keys}
    for run in runs:
        assert run.frames.step in (1, -1) and (not run.frames or run.frames.start == run.keyframe + run.frames.step)
        for frame in run.frames:
            assert frame not in owner
            owner[frame] = run.keyframe
    assert sorted(owner) == list(range(count))
    for frame, key in owner.items():  # nearest keyframe; a tie goes to the earlier one
        assert abs(frame - key) == min(abs(frame - k) for k in keys)
        assert key == min(k for k in keys if abs(frame - k) == abs(frame - key))


def test_plan_refuses_bad_keyframes():
    for keys in ([], [3, 1], [1, 1], [5]):
        with pytest.raises(ValueError):
            plan_runs(keys, 5)


def write_jobs(path, jobs):
    path.write_text(json.dumps(jobs))
    return path


def test_job_file_paths_are_resolved_against_it(tmp_path):
    (tmp_path / "sub").mkdir()
    jobs = read_jobs(write_jobs(tmp_path / "sub" / "jobs.json", {"jobs": [
        {"name": "case12", "source": "../v.mp4", "label": " artery ", "keyframes": "keys"}]}))  # fmt: skip
    assert jobs == [BatchJob("case12", tmp_path / "v.mp4", "artery", tmp_path / "sub" / "keys")]


@pytest.mark.parametrize(
    "content,needle",
    [
        ("{", "not JSON"),
        ('{"job": []}', "expected"),
        ('{"jobs": []}', "no jobs"),
        ('{"jobs": [{"name": "a", "source": "v", "label": "x"}]}', "job 1: missing or empty keyframes"),
        ('{"jobs": [{"name": "a/b", "source": "v", "label": "x", "keyframes": "k"}]}', "folder name"),
        ('{"jobs": [{"name": "a", "source": "v", "label": "x", "keyframes": "k", "fps": 3}]}', "unknown field fps"),
        (
            '{"jobs": [{"name": "A", "source": "v", "label": "x", "keyframes": "k"}, '
            '{"name": "a", "source": "w", "label": "x", "keyframes": "k"}]}',
            "two jobs are named 'a'",
        ),
    ],
)
def test_bad_job_files_are_one_line(tmp_path, content, needle):
    path = tmp_path / "jobs.json"
    path.write_text(content)
    with pytest.raises(InputError, match="jobs.json") as err:
        read_jobs(path)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_worker_shape():
    assert _worker_shape({"CPU": 2.0}, None, 3) == (1, 2.0, 0.0)
    assert _worker_shape({"CPU": 2.0}, 2, 3) == (2, 1.0, 0.0)
    assert _worker_shape({"CPU": 32.0, "GPU": 4.0}, None, 10) == (4, 8.0, 1.0)
    assert _worker_shape({"CPU": 16.0}, None, 1) == (1, 16.0, 0.0)
    with pytest.raises(InputError, match="--workers 0"):
        _worker_shape({"CPU": 2.0}, 0, 3)


def clip_job(tmp_path, name, frames, keys, label=22):
    """A job made of ``frames`` (indices into the shared clip) copied to a frame folder, with the
    clip's true ``label`` masks as keyframes at positions ``keys`` of that folder."""
    clip = shared_data("cholecseg8k_clip")
    names = sorted(p.name for p in (clip / "frames").iterdir())
    folder, keydir = tmp_path / name / "frames", tmp_path / f"keys_{name}"
    folder.mkdir(parents=True)
    keydir.mkdir()
    for i in frames:
        shutil.copy(clip / "frames" / names[i], folder / names[i])
    for k in keys:
        truth = cv2.imread(str(clip / "masks" / names[frames[k]]), cv2.IMREAD_UNCHANGED) == label
        cv2.imwrite(str(keydir / f"{k:06d}.png"), np.where(truth, 255, 0).astype(np.uint8))
    return {"name": name, "source": f"{name}/frames", "label": "gallbladder", "keyframes": f"keys_{name}"}


def test_keyframe_errors_and_the_signature(tmp_path):
    from evosam.video import open_video

    spec = clip_job(tmp_path, "a", [0, 1, 2], [0])
    job = read_jobs(write_jobs(tmp_path / "jobs.json", {"jobs": [spec]}))[0]
    with open_video(job.source) as video:
        first = read_inputs(job, video, "m").signature
        assert read_inputs(job, video, "other model").signature != first
        key = job.keyframes / "000000.png"
        mask = cv2.imread(str(key), cv2.IMREAD_UNCHANGED)
        mask[:5, :5] = 255 - mask[:5, :5]
        cv2.imwrite(str(key), mask)
        assert read_inputs(job, video, "m").signature != first
        for name, content, needle in [
            ("000009.png", mask, "keyframe 9 is outside the video's frames 0..2"),
            ("key.png", mask, "named by its 0-based frame index"),
            ("000001.png", mask[:10], "mask is 854x10 but the frame is 854x480"),
            ("000001.png", 0 * mask, "the mask is empty"),
        ]:
            bad = job.keyframes / name
            cv2.imwrite(str(bad), content)
            with pytest.raises(InputError, match=needle):
                read_inputs(job, video, "m")
            bad.unlink()


def test_batch_on_ray_local_mode(tmp_path):
    """Three jobs, one broken: outputs, the failure report, skip on re-run, and masks
    bit-identical to ``evosam propagate``."""
    pytest.importorskip("ray")
    jobs = [clip_job(tmp_path, "one", [0, 1, 2, 3], [0]), clip_job(tmp_path, "two", [20, 21, 22, 23, 24], [0, 4])]
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    jobs.append({**jobs[0], "name": "broken", "source": "broken.mp4"})
    path = write_jobs(tmp_path / "jobs.json", {"jobs": jobs})
    out = tmp_path / "out"
    (out / ".two.partial" / "masks").mkdir(parents=True)  # left by a run that was killed
    proc = run_cli("batch", str(path), "--out", str(out), "--device", "cpu", "--json")
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    status = {j["name"]: j for j in summary["jobs"]}
    assert [status[n]["status"] for n in ("one", "two", "broken")] == ["done", "done", "failed"]
    assert "broken.mp4" in status["broken"]["error"] and "\n" not in status["broken"]["error"]
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in (out / "one" / "masks").iterdir()) == [f"{i:06d}.png" for i in range(4)]
    assert sorted(p.name for p in (out / "two" / "masks").iterdir()) == [f"{i:06d}.png" for i in range(5)]
    assert not (out / ".two.partial").exists() and not (out / "broken").exists()
    check_review_project(out / "two", tmp_path / "keys_two")

    again = run_cli("batch", str(path), "--out", str(out), "--device", "cpu", "--json")
    rerun = {j["name"]: j["status"] for j in json.loads(again.stdout.strip().splitlines()[-1])["jobs"]}
    assert again.returncode == 1 and rerun == {"one": "skipped", "two": "skipped", "broken": "failed"}

    alone = tmp_path / "alone"
    single = run_cli("propagate", str(tmp_path / "one" / "frames"), "--mask", str(tmp_path / "keys_one" / "000000.png"),
                     "--start", "0", "--device", "cpu", "--keyframes", "off", "--out", str(alone))  # fmt: skip
    assert single.returncode == 0, single.stderr
    for png in sorted(alone.iterdir()):
        assert png.read_bytes() == (out / "one" / "masks" / png.name).read_bytes(), png.name


def check_review_project(job_dir, keys):
    """The job's project opens: keyframes confirmed as given, every other frame proposed."""
    from evosam.project import load_project

    record = json.loads((job_dir / "job.json").read_text())
    assert record["keyframes"] == [0, 4] and record["frames"] == 5
    project = load_project(job_dir / "two.evosam")
    statuses = {frame: packed.status.value for (frame, label), packed in project.masks.items()}
    assert statuses == {0: "confirmed", 1: "proposed", 2: "proposed", 3: "proposed", 4: "confirmed"}
    for k in (0, 4):
        given = cv2.imread(str(keys / f"{k:06d}.png"), cv2.IMREAD_UNCHANGED) > 0
        assert np.array_equal(project.masks[(k, "gallbladder")].unpack().mask, given)
        written = cv2.imread(str(job_dir / "masks" / f"{k:06d}.png"), cv2.IMREAD_UNCHANGED) > 0
        assert np.array_equal(written, given)
