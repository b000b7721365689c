"""Crash safety: a process saving a project (journal appends and full saves) is killed with
SIGKILL at random moments (after one to three committed states, so that a loaded machine
changes only how long it takes); every time, the project must open and hold exactly the last
committed state or the one being written, never a mix or a corrupt folder."""

from __future__ import annotations

import collections
import json
import random
import subprocess
import sys
import time

import numpy as np

from evosam.project import load_project
from tests.conftest import REPO

SIZE = (72, 96)
RUNS = 20

CHILD = r"""
import json, sys
from pathlib import Path
import numpy as np
from evosam.annotations import Label, PackedMask, Status
from evosam.project import Autosaver, Project, VideoRef, load_project
from tests.unit.test_project_kill import pattern, frames_of

root, ref = Path(sys.argv[1]), json.loads(sys.argv[2])
video = VideoRef(ref["path"], ref["fingerprint"], ref["frame_count"], tuple(ref["size"]))
last = load_project(root) if (root / "project.json").exists() else None
k = last.settings["k"] if last else 0
labels = (Label("vessel", (0, 200, 255)),)
now = [0.0]
current = {"project": last}

def state(k):
    masks = {(f, "vessel"): PackedMask.from_mask(pattern(k, f), Status.CONFIRMED, f"run:{k}") for f in frames_of(k)}
    return Project(video, labels, masks, None, {"k": k})

saver = Autosaver(root, lambda: current["project"], last, journal_after=1.0, save_after=4.0, clock=lambda: now[0])
while True:
    k += 1
    current["project"] = state(k)
    done = None
    while done is None:  # the first sighting of a change starts its timer; 1.1 s later it is written
        now[0] += 1.1
        done = saver.tick()
    print(k, done, flush=True)
"""


def pattern(k: int, frame: int) -> np.ndarray:
    """bool (H, W): a mask that encodes (k, frame), thin lines included."""
    m = np.zeros(SIZE, bool)
    m[(k + frame) % SIZE[0], :] = True
    m[:, (3 * k + frame) % SIZE[1]] = True
    m[10 : 10 + k % 40, 20 : 20 + frame % 50] = True
    return m


def frames_of(k: int) -> range:
    """Which frames hold a mask in state k (the set changes with k)."""
    return range(k % 7, 40 + k % 5)


def check_state(root) -> int:
    project = load_project(root)
    k = project.settings["k"]
    assert set(project.masks) == {(f, "vessel") for f in frames_of(k)}, k
    for (f, _), packed in project.masks.items():
        assert packed.source == f"run:{k}" and np.array_equal(packed.unpack().mask, pattern(k, f)), (k, f)
    return k


def test_kill_minus_nine_mid_save_never_loses_a_committed_state(tmp_path):
    root = tmp_path / "p.evosam"
    ref = {"path": str(tmp_path / "clip.mp4"), "fingerprint": "0" * 64, "frame_count": 60, "size": list(SIZE)}
    rng = random.Random(1234)
    committed, mid_write, t0 = 0, 0, time.monotonic()
    kinds: collections.Counter = collections.Counter()
    for _ in range(RUNS):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), json.dumps(ref)], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        # wait for a few committed states (however slow the machine), then kill at a random
        # moment of the next write
        seen = [proc.stdout.readline() for _ in range(rng.randint(1, 3))]
        time.sleep(rng.uniform(0.0, 0.05))
        proc.kill()
        out, _ = proc.communicate()
        out = "".join(seen) + out
        out = out[: out.rfind("\n") + 1]  # a line the kill cut short was a print after its commit: not yet said
        lines = [line.split() for line in out.splitlines() if line.strip()]
        printed = [int(k) for k, _ in lines]
        kinds.update(kind for _, kind in lines)
        if not (root / "project.json").exists():
            assert not printed
            continue
        leftovers = list(root.rglob("*.tmp"))
        journal = root / "journal.jsonl"
        torn = journal.exists() and not journal.read_bytes().endswith(b"\n") and journal.stat().st_size > 0
        mid_write += bool(leftovers or torn)
        k = check_state(root)
        last = printed[-1] if printed else committed
        assert last <= k <= last + 1, (printed[-3:], k)  # the last committed state, or the one being written
        committed = k
    assert committed >= RUNS and kinds["journal"] > 0 and kinds["save"] > 0  # progress, both paths used
    elapsed = time.monotonic() - t0
    print(f"\n{RUNS} kills, {committed} states, {dict(kinds)}, {mid_write} kills inside a write, {elapsed:.1f} s")
