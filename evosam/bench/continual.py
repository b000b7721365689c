"""``evosam bench continual``: tasks learned in order; after each, every task's test set is
evaluated, giving the accuracy matrix R[i][j] (mean Dice on task j after learning task i),
ACC and BWT as in GEM (Lopez-Paz & Ranzato 2017), for several learners side by side:

- ``sam``: SAM alone (no head);
- ``evosam``: the analytic head, statistics accumulated task after task (one profile per
  task), predicting with all profiles' sum;
- ``evosam_auto``: the same head predicting with the profile it picks for each image;
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
from evosam.commands.common import model_from_args, progress
from evosam.errors import InputError
from evosam.head import AUTO_PROFILE, EvoHead, FrameStats, HeadConfig, RoiFeatures, Stats
from evosam.masks import dice

METHODS = ("sam", "evosam", "evosam_auto", "joint", "finetune", "replay")


@dataclass
class Task:
    name: str
    train: list[Sample]
    test: list[Sample]
    z: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    w: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stats: Stats | None = None
    teach_ms: list[float] = field(default_factory=list)  # per training image: features + sampling + statistics
    features_ms: list[float] = field(default_factory=list)  # the part spent computing the ROI features


def parse_task(spec: str) -> tuple[str, Path, Path | None]:
    name, sep, dirs = spec.partition("=")
    if not sep or not name or not dirs:
        raise InputError(f"--task {spec!r}: expected NAME=TRAIN_DIR[:TEST_DIR]")
    train, _, test = dirs.partition(":")
    return name, Path(train), Path(test) if test else None


def video_of(stem: str) -> str:
    """The video of an Endoscapes-style stem ``vNNN_FRAME``."""
    video, sep, frame = stem.partition("_")
    if not sep or not video.startswith("v") or not video[1:].isdigit():
        raise InputError(f"{stem!r}: --by-video needs stems vNNN_FRAME")
    return video


def task_splits(spec: str, args: argparse.Namespace) -> list[tuple[str, list, list]]:
    """(name, train, test) lists of (folder, stem) for one --task: a given TEST_DIR; else
    sorted stems alternating (or, ``--by-video``, whole videos alternating; ``--swap`` the
    other half trains; ``--video-groups N``: N tasks of consecutive groups of videos)."""
    name, train_dir, test_dir = parse_task(spec)
    if test_dir is not None:
        return [(name, [(train_dir, s) for s in task_stems(train_dir)], [(test_dir, s) for s in task_stems(test_dir)])]
    stems = task_stems(train_dir)
    if not getattr(args, "by_video", False):
        return [(name, [(train_dir, s) for s in stems[0::2]], [(train_dir, s) for s in stems[1::2]])]
    videos = sorted({video_of(s) for s in stems})
    groups = max(1, int(getattr(args, "video_groups", 1)))
    if groups > len(videos) // 2:
        raise InputError(f"--task {spec}: {len(videos)} videos cannot make {groups} groups of two or more")
    out = []
    for g, part in enumerate(np.array_split(np.array(videos), groups)):
        train_v = set(part[1::2] if args.swap else part[0::2])
        test_v = set(part) - train_v
        label = name if groups == 1 else f"{name}{g + 1}"
        out.append(
            (
                label,
                [(train_dir, s) for s in stems if video_of(s) in train_v],
                [(train_dir, s) for s in stems if video_of(s) in test_v],
            )
        )
    return out


def load_task(split: tuple[str, list, list], backend, limit: int | None) -> Task:
    name, train, test = split
    train, test = train[:limit], test[:limit]
    if not train or not test:
        raise InputError(f"task {name}: needs at least one train and one test image")
    items = progress(train + test, len(train) + len(test), f"SAM on {name}")
    samples = [load_sample(folder, stem, backend) for folder, stem in items]
    return Task(name, samples[: len(train)], samples[len(train) :])


def teach_task(head: EvoHead, task: Task) -> None:
    """Sample every training image once: the task's statistics and its raw samples (for SGD).
    Times are medians per image (robust to other work on a shared machine)."""
    zs, ys, ws, stats = [], [], [], Stats.zeros(head.config.features.dim)
    features_s, total_s = [], []
    for s in task.train:
        started = time.perf_counter()
        feats = head.roi_features(s.image, s.sam, s.box)
        features_s.append(time.perf_counter() - started)
        z, y, w = head.frame_samples(s.image, s.sam, s.truth, s.box, feats)
        stats = stats + Stats.from_samples(z, y, w)
        total_s.append(time.perf_counter() - started)
        zs.append(z), ys.append(y), ws.append(w)
    task.teach_ms, task.features_ms = [1000 * t for t in total_s], [1000 * t for t in features_s]
    task.z, task.y, task.w, task.stats = np.concatenate(zs), np.concatenate(ys), np.concatenate(ws), stats


def learn(head: EvoHead, tasks: list[Task], epochs: int, budget: int) -> dict[str, list]:
    """What each method holds after each task: heads (evosam, joint) or weights (D,) (SGD)."""
    learned: dict[str, list] = {m: [] for m in METHODS if m not in ("sam", "evosam_auto")}
    dim = head.config.features.dim
    w_ft = np.zeros(dim, np.float32)
    w_rp = w_ft.copy()
    buffer = ReplayBuffer(budget, seed=0)
    for i, task in enumerate(tasks):
        # evosam: the per-task statistics, accumulated one task at a time (one profile per task)
        learned["evosam"].append(head.taught(FrameStats(task.name, task.stats)))
        head = learned["evosam"][-1]
        seen = tasks[: i + 1]
        joint = Stats.from_samples(
            np.concatenate([t.z for t in seen]),
            np.concatenate([t.y for t in seen]),
            np.concatenate([t.w for t in seen]),
        )
        learned["joint"].append(EvoHead(head.model_name, head.config, {"joint": joint}))
        w_ft = sgd_epochs(w_ft, task.z, task.y, task.w, epochs, seed=i)
        learned["finetune"].append(w_ft.copy())
        w_rp = sgd_epochs(w_rp, task.z, task.y, task.w, epochs, seed=i, replay=buffer)
        buffer.add(task.z, task.y, task.w)
        learned["replay"].append(w_rp.copy())
    return learned


def evaluate(head: EvoHead, tasks: list[Task], learned: dict[str, list]) -> dict[str, np.ndarray]:
    """R matrices: method -> (T, T) mean Dice on task j after task i (sam: the same row repeated).
    Heads predict as the product does (``EvoHead.predict``, profile ``all``); the SGD weights
    score the same features without the linear-stage gate."""
    n = len(tasks)
    sgd = [(m, i) for m in ("finetune", "replay") for i in range(n)]
    w_sgd = np.stack([learned[m][i] for m, i in sgd], axis=1).astype(np.float32)
    scores = {m: np.zeros((n, n)) for m in METHODS}
    for j, task in enumerate(progress(tasks, n, "evaluating")):
        per_image: dict[tuple[str, int], list[float]] = {}
        for s in task.test:
            feats = head.roi_features(s.image, s.sam, s.box)
            masks = {
                (m, i): h.predict(s.image, s.sam, s.box, features=feats)
                for m in ("evosam", "joint")
                for i, h in enumerate(learned[m])
            }
            for i, h in enumerate(learned["evosam"]):
                masks[("evosam_auto", i)] = h.predict(s.image, s.sam, s.box, AUTO_PROFILE, feats)
            masks.update(zip(sgd, _sgd_masks(head, s, feats, w_sgd), strict=True))
            masks[("sam", 0)] = s.sam.mask
            for key, mask in masks.items():
                per_image.setdefault(key, []).append(dice(mask & s.fov, s.truth & s.fov))
        for (m, i), values in per_image.items():
            if m == "sam":
                scores[m][:, j] = float(np.mean(values))
            else:
                scores[m][i, j] = float(np.mean(values))
    return scores


def _sgd_masks(head: EvoHead, s: Sample, feats: RoiFeatures, w_all: np.ndarray) -> list[np.ndarray]:
    """Masks bool (H, W) of every weight column (D, k) on one test image: one feature pass;
    the head's output inside the ROI, SAM's mask outside, as ``EvoHead.predict``."""
    out = head.extractor.scores(feats.channels, w_all, head.config.chunk) > head.config.threshold
    x0, y0, x1, y1 = feats.roi
    masks = []
    for k in range(w_all.shape[1]):
        m = s.sam.mask.copy()
        m[y0 : y1 + 1, x0 : x1 + 1] = out[:, k].reshape(feats.shape)
        masks.append(m)
    return masks


def predict_ms(head: EvoHead, samples: list[Sample]) -> tuple[float, float]:
    """Median ms of ``head.predict`` per image: the whole call, and the part after the features."""
    total, after = [], []
    for s in samples:
        started = time.perf_counter()
        feats = head.roi_features(s.image, s.sam, s.box)
        middle = time.perf_counter()
        head.predict(s.image, s.sam, s.box, features=feats)
        total.append(time.perf_counter() - started)
        after.append(time.perf_counter() - middle)
    return 1000 * float(np.median(total)), 1000 * float(np.median(after))


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
        config = replace(config, samples=tuple(args.samples))
    return config


def run(args: argparse.Namespace) -> int:
    backend = model_from_args(args)
    tasks = [load_task(split, backend, args.limit) for spec in args.task for split in task_splits(spec, args)]
    head = EvoHead(backend.name, head_config(args))
    for task in progress(tasks, len(tasks), "sampling"):
        teach_task(head, task)
    learned = learn(head, tasks, args.epochs, args.replay_budget)
    scores = evaluate(head, tasks, learned)
    final = learned["evosam"][-1]
    final.weights()  # solve once, outside the timing
    pred_ms, head_ms = predict_ms(final, tasks[0].test)
    result = {"tasks": [t.name for t in tasks], "model": backend.describe(), "methods": {}}
    timing = {
        "teach_ms_per_image": round(float(np.median([ms for t in tasks for ms in t.teach_ms])), 1),
        "teach_features_ms_per_image": round(float(np.median([ms for t in tasks for ms in t.features_ms])), 1),
        "predict_ms_per_image": round(pred_ms, 1),
        "predict_head_ms_per_image": round(head_ms, 1),
    }
    for m in METHODS:
        acc, bwt = gem_metrics(scores[m])
        result["methods"][m] = {"R": np.round(scores[m], 4).tolist(), "ACC": round(acc, 4), "BWT": round(bwt, 4)}
        result["methods"][m].update(timing if m == "evosam" else {"teach_ms_per_image": None})
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
            + (
                f"  teach {res['teach_ms_per_image']:.0f} ms/image (features {res['teach_features_ms_per_image']:.0f})"
                f"  predict {res['predict_ms_per_image']:.0f} ms/image (after features"
                f" {res['predict_head_ms_per_image']:.0f})"
                if res["teach_ms_per_image"]
                else ""
            )
        )
        print(f"{'test on':>12}{header}")
        for j, t in enumerate(tasks):
            print(f"{t:>12}" + "".join(f"{res['R'][i][j]:>16.4f}" for i in range(len(tasks))))
