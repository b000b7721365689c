"""Scale of ``evosam batch`` on this machine: jobs/s and frames/s for 1 and 2 workers.

Makes JOBS jobs of FRAMES frames each from the shared CholecSeg8k clip (a frame folder per
job, the gallbladder's true mask as the keyframe in the middle), then runs the batch with 1
and 2 Ray workers alternately (ROUNDS times each, fresh outputs every time) and prints a
table: wall time (Ray start, model loads and all jobs), jobs/s, frames/s, the seconds of
one frame inside a job, and each worker's peak memory.

    .venv/bin/python scripts/batch_scale.py [--jobs 4] [--frames 12] [--rounds 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evosam.batch import read_jobs  # noqa: E402
from evosam.batch.ray_pool import ModelSpec, run_batch  # noqa: E402

CLIP = REPO.parent / "shared" / "data" / "cholecseg8k_clip"
GALLBLADDER = 22


def make_jobs(root: Path, jobs: int, frames: int) -> Path:
    names = sorted(p.name for p in (CLIP / "frames").iterdir())
    specs = []
    for j in range(jobs):
        start = (j * frames) % max(1, len(names) - frames)
        folder, keys = root / f"case{j}" / "frames", root / f"keys{j}"
        folder.mkdir(parents=True)
        keys.mkdir()
        for name in names[start : start + frames]:
            shutil.copy(CLIP / "frames" / name, folder / name)
        mid = frames // 2
        truth = cv2.imread(str(CLIP / "masks" / names[start + mid]), cv2.IMREAD_UNCHANGED) == GALLBLADDER
        cv2.imwrite(str(keys / f"{mid:06d}.png"), np.where(truth, 255, 0).astype(np.uint8))
        specs.append({"name": f"case{j}", "source": str(folder), "label": "gallbladder", "keyframes": str(keys)})
    path = root / "jobs.json"
    path.write_text(json.dumps({"jobs": specs}))
    return path


def one_run(jobs_file: Path, out: Path, workers: int) -> dict:
    jobs = read_jobs(jobs_file)
    started = time.perf_counter()
    outcomes = run_batch(jobs, out, ModelSpec("litemedsam", device="cpu"), workers=workers)
    wall = time.perf_counter() - started
    if any(o.status != "done" for o in outcomes):
        raise SystemExit(f"a job did not finish: {[(o.name, o.status, o.error) for o in outcomes]}")
    frames = sum(o.frames for o in outcomes)
    peaks = {}
    for o in outcomes:
        pid, peak = re.match(r"pid (\d+), peak (\d+) MiB", o.worker).groups()
        peaks[pid] = max(peaks.get(pid, 0), int(peak))
    return {
        "workers": workers,
        "wall_s": wall,
        "jobs_per_s": len(outcomes) / wall,
        "frames_per_s": frames / wall,
        "s_per_frame_in_job": statistics.mean(o.seconds / o.frames for o in outcomes),
        "peak_mib_per_worker": max(peaks.values()),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if not CLIP.is_dir():
        print(f"shared data not found at {CLIP}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="batch-scale-") as tmp:
        jobs_file = make_jobs(Path(tmp), args.jobs, args.frames)
        for r in range(args.rounds):
            for workers in (1, 2):
                rows.append(one_run(jobs_file, Path(tmp) / f"out-{r}-{workers}", workers))
                print(f"round {r + 1}, {workers} worker(s): {rows[-1]['wall_s']:.1f} s", file=sys.stderr)
    print(f"{args.jobs} jobs x {args.frames} frames (854x480), LiteMedSAM on the CPU, sam-flow tracker")
    print(f"{'workers':>7} {'wall s':>8} {'jobs/s':>8} {'frames/s':>9} {'s/frame in job':>15} {'peak MiB/worker':>16}")
    for workers in (1, 2):
        mine = [r for r in rows if r["workers"] == workers]
        med = {k: statistics.median(r[k] for r in mine) for k in mine[0] if k != "workers"}
        print(
            f"{workers:>7} {med['wall_s']:>8.1f} {med['jobs_per_s']:>8.3f} {med['frames_per_s']:>9.2f} "
            f"{med['s_per_frame_in_job']:>15.2f} {med['peak_mib_per_worker']:>16.0f}"
        )
    if args.json:
        print(json.dumps({"rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
