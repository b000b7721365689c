"""``evosam bench continual``: tasks learned in order; after each, every task's test set is
evaluated, giving the accuracy matrix R[i][j] (mean Dice on task j after learning task i),
ACC and BWT as in GEM (Lopez-Paz & Ranzato 2017), for several learners side by side:

- ``sam``: SAM alone (no head);
- ``evosam``: the analytic head, statistics accumulated task after task;
- ``joint``: ridge on all tasks seen so far at once (the upper bound);
- ``finetune``: the same linear head on the same features, trained by SGD task after task;
- ``replay``: ``finetune`` plus a replay buffer of stored training pixels (a memory budget).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from evosam.bench.retina import Sample, load_sample, task_stems
from evosam.bench.sgd import ReplayBuffer, sgd_epochs
from evosam.commands.common import add_model_arguments, model_from_args, progress
from evosam.errors import InputError
from evosam.head import EvoHead, HeadConfig, Stats, solve
from evosam.head.head import roi_from_box
from evosam.masks import dice

METHODS = ("sam", "evosam", "joint", "finetune", "replay")


@dataclass
class Task:
    name: str
    train: list[Sample]
    test: list[Sample]
    z: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    w: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stats: Stats | None = None
    teach_ms: float = 0.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--task",
        action="append",
        required=True,
        metavar="NAME=TRAIN_DIR[:TEST_DIR]",
        help="a task, in learning order; without TEST_DIR, sorted stems alternate train/test",
    )
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N train and N test images per task")
    p.add_argument("--epochs", type=int, default=10, help="SGD epochs per task for finetune/replay")
    p.add_argument("--replay-budget", type=int, default=8000, metavar="PIXELS", help="replay buffer size")
    p.add_argument("--expansion", type=int, default=None, help="width of the head's random expansion")
    p.add_argument("--samples", type=int, default=None, help="pixels sampled per class per training image")
    add_model_arguments(p)


def parse_task(spec: str) -> tuple[str, Path, Path | None]:
    name, sep, dirs = spec.partition("=")
    if not sep or not name or not dirs:
        raise InputError(f"--task {spec!r}: expected NAME=TRAIN_DIR[:TEST_DIR]")
    train, _, test = dirs.partition(":")
    return name, Path(train), Path(test) if test else None


def load_task(spec: str, backend, limit: int | None) -> Task:
    name, train_dir, test_dir = parse_task(spec)
    if test_dir is None:
        stems = task_stems(train_dir)
        train, test = [(train_dir, s) for s in stems[0::2]], [(train_dir, s) for s in stems[1::2]]
    else:
        train = [(train_dir, s) for s in task_stems(train_dir)]
        test = [(test_dir, s) for s in task_stems(test_dir)]
    train, test = train[:limit], test[:limit]
    if not train or not test:
        raise InputError(f"--task {spec}: needs at least one train and one test image")
    items = progress(train + test, len(train) + len(test), f"SAM on {name}")
    samples = [load_sample(folder, stem, backend) for folder, stem in items]
    return Task(name, samples[: len(train)], samples[len(train) :])


def teach_task(head: EvoHead, task: Task) -> None:
    """Sample every training image once: the task's statistics and its raw samples (for SGD)."""
    zs, ys, ws, stats = [], [], [], Stats.zeros(head.config.features.dim)
    started = time.perf_counter()
    for s in task.train:
        z, y, w = head.frame_samples(s.image, s.sam, s.truth, s.box)
        stats = stats + Stats.from_samples(z, y, w)
        zs.append(z), ys.append(y), ws.append(w)
    task.teach_ms = 1000 * (time.perf_counter() - started) / len(task.train)
    task.z, task.y, task.w, task.stats = np.concatenate(zs), np.concatenate(ys), np.concatenate(ws), stats


def learn(head: EvoHead, tasks: list[Task], epochs: int, budget: int) -> dict[str, list[np.ndarray]]:
    """Weights (D,) of each learning method after each task."""
    weights: dict[str, list[np.ndarray]] = {m: [] for m in METHODS if m != "sam"}
    running = Stats.zeros(head.config.features.dim)
    w_ft = np.zeros(head.config.features.dim, np.float32)
    w_rp = w_ft.copy()
    buffer = ReplayBuffer(budget, seed=0)
    for i, task in enumerate(tasks):
        running = running + task.stats
        weights["evosam"].append(solve(running, head.config.ridge))
        seen = tasks[: i + 1]
        joint = Stats.from_samples(
            np.concatenate([t.z for t in seen]),
            np.concatenate([t.y for t in seen]),
            np.concatenate([t.w for t in seen]),
        )
        weights["joint"].append(solve(joint, head.config.ridge))
        w_ft = sgd_epochs(w_ft, task.z, task.y, task.w, epochs, seed=i)
        weights["finetune"].append(w_ft.copy())
        w_rp = sgd_epochs(w_rp, task.z, task.y, task.w, epochs, seed=i, replay=buffer)
        buffer.add(task.z, task.y, task.w)
        weights["replay"].append(w_rp.copy())
    return weights


def evaluate(head: EvoHead, tasks: list[Task], weights: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    """R matrices: method -> (T, T) mean Dice on task j after task i (sam: the same row repeated)."""
    names = [(m, i) for m, ws in weights.items() for i in range(len(ws))]
    w_all = np.stack([weights[m][i] for m, i in names], axis=1).astype(np.float32)
    n = len(tasks)
    scores = {m: np.zeros((n, n)) for m in METHODS}
    for j, task in enumerate(progress(tasks, n, "evaluating")):
        per_image = {key: [] for key in names}
        sam = []
        for s in task.test:
            for key, mask in zip(names, _head_masks(head, s, w_all), strict=True):
                per_image[key].append(dice(mask & s.fov, s.truth & s.fov))
            sam.append(dice(s.sam.mask & s.fov, s.truth & s.fov))
        for (m, i), values in per_image.items():
            scores[m][i, j] = float(np.mean(values))
        scores["sam"][:, j] = float(np.mean(sam))
    return scores


def _head_masks(head: EvoHead, s: Sample, w_all: np.ndarray) -> list[np.ndarray]:
    """Masks bool (H, W) of every weight column for one test image (one feature pass)."""
    roi = roi_from_box(s.box, s.truth.shape, head.config.roi_margin)
    base, (h, w) = head.extractor.base(s.image, s.sam, roi)
    chunk = head.config.chunk
    scores = np.concatenate([head.extractor.expand(base[i : i + chunk]) @ w_all for i in range(0, len(base), chunk)])
    masks = []
    for k in range(w_all.shape[1]):
        m = np.zeros(s.truth.shape, bool)
        m[roi[1] : roi[3] + 1, roi[0] : roi[2] + 1] = scores[:, k].reshape(h, w) > head.config.threshold
        masks.append(m)
    return masks


def gem_metrics(r: np.ndarray) -> tuple[float, float]:
    """ACC = mean of the last row; BWT = mean over j < T-1 of R[T-1, j] - R[j, j]."""
    t = r.shape[0]
    acc = float(r[-1].mean())
    bwt = float(np.mean([r[-1, j] - r[j, j] for j in range(t - 1)])) if t > 1 else 0.0
    return acc, bwt


def head_config(args: argparse.Namespace) -> HeadConfig:
    """The default head configuration with the command's overrides."""
    config = HeadConfig()
    if args.expansion:
        config = replace(config, features=replace(config.features, expansion=args.expansion))
    if args.samples:
        config = replace(config, samples_per_class=args.samples)
    return config


def run(args: argparse.Namespace) -> int:
    backend = model_from_args(args)
    tasks = [load_task(spec, backend, args.limit) for spec in args.task]
    head = EvoHead(backend.name, head_config(args))
    for task in progress(tasks, len(tasks), "sampling"):
        teach_task(head, task)
    weights = learn(head, tasks, args.epochs, args.replay_budget)
    scores = evaluate(head, tasks, weights)
    result = {"tasks": [t.name for t in tasks], "model": backend.describe(), "methods": {}}
    teach_ms = float(np.mean([t.teach_ms for t in tasks]))
    for m in METHODS:
        acc, bwt = gem_metrics(scores[m])
        result["methods"][m] = {
            "R": np.round(scores[m], 4).tolist(),
            "ACC": round(acc, 4),
            "BWT": round(bwt, 4),
            "teach_ms_per_image": round(teach_ms, 1) if m in ("evosam", "joint") else None,
        }
    print_table(result)
    if args.json:
        print(json.dumps(result))
    return 0


def print_table(result: dict) -> None:
    tasks = result["tasks"]
    print(f"continual learning benchmark ({result['model']}); R[i][j] = mean Dice on task j after task i")
    header = "".join(f"{'after ' + t:>16}" for t in tasks)
    for m, res in result["methods"].items():
        print(
            f"\n{m}: ACC {res['ACC']:.4f}  BWT {res['BWT']:+.4f}"
            + (f"  teach {res['teach_ms_per_image']:.0f} ms/image" if res["teach_ms_per_image"] else "")
        )
        print(f"{'test on':>12}{header}")
        for j, t in enumerate(tasks):
            print(f"{t:>12}" + "".join(f"{res['R'][i][j]:>16.4f}" for i in range(len(tasks))))
