"""``evosam bench generalize``: does a label's head, taught from K confirmed frames, help on
frames it has not seen, and never hurt?

For each K the label's ``Learner`` is taught K frames (tight ground-truth boxes, the
confirmed mask = the ground truth), then SAM alone, the gated proposal (what the tool
proposes: SAM's mask until leave-out evidence says the head is better) and the ungated head
are scored on frames at a distance:

- a task folder of ``vNNN_FRAME`` stems (Endoscapes): split **by video** into two halves
  (sorted videos alternate); each half teaches and the other half is scored (the proposer
  for a video the label was not taught on); both directions are pooled. ``--order spread``
  (default) teaches the first frame of every teaching video, then the second, ...: K frames
  from as many patients; ``--order video`` teaches video after video, frames in order;
- a clip (``frames/`` and class-id ``masks/``, with ``--label``): the first K frames holding
  the label teach, every frame at least 10 after the last teaching frame of the largest K
  is scored (one test set for every K; the proposer for frames far from taught ones).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evosam.bench.retina import Sample, cached_prediction, load_sample, task_stems
from evosam.commands.common import model_from_args, progress
from evosam.errors import InputError
from evosam.head.evidence import BANK, Choice
from evosam.imageio import read_rgb
from evosam.learning import FAR, OTHER, Learner
from evosam.masks import dice, prompt_box
from evosam.models import SamBackend

DISTANCE = 10  # clip frames scored are at least this far after the teaching frames
WORSE = 0.01  # a frame is "worse" when the gated proposal's Dice is below SAM's by more
STEM = re.compile(r"^(v\d+)_(\d+)$")


@dataclass(frozen=True)
class Item:
    """One frame with its ground truth and SAM's answer, placed in its video."""

    sample: Sample
    video: str
    index: int


def folder_items(folder: Path, backend: SamBackend, limit: int | None = None) -> list[Item]:
    """Every frame of a task folder whose stems are ``vNNN_FRAME`` (of its first ``limit`` videos)."""
    stems = task_stems(folder)
    bad = [s for s in stems if not STEM.match(s)]
    if bad:
        raise InputError(f"{folder}/images/{bad[0]}: stems must be vNNN_FRAME to split by video")
    if limit is not None:
        keep = sorted({STEM.match(s).group(1) for s in stems})[:limit]
        stems = [s for s in stems if STEM.match(s).group(1) in keep]
    items = []
    for stem in progress(stems, len(stems), f"SAM on {folder.name}"):
        video, frame = STEM.match(stem).groups()
        items.append(Item(load_sample(folder, stem, backend), video, int(frame)))
    return items


def clip_items(folder: Path, label: int, backend: SamBackend) -> list[Item]:
    """The clip's frames whose class-id mask holds ``label``, in order."""
    import cv2

    frames = sorted(p for p in (folder / "frames").iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not frames:
        raise InputError(f"{folder}/frames: no frames")
    items = []
    for i, path in enumerate(progress(frames, len(frames), f"SAM on {folder.name}")):
        raw = cv2.imread(str(folder / "masks" / f"{path.stem}.png"), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise InputError(f"{folder}/masks/{path.stem}.png: missing or unreadable ground-truth mask")
        truth = (raw if raw.ndim == 2 else raw[..., 0]) == label
        box = prompt_box(truth)
        if box is None:
            continue
        image = read_rgb(path)
        sample = Sample(path.stem, image, truth, np.ones_like(truth), box, cached_prediction(backend, image, box))
        items.append(Item(sample, folder.name, i))
    if not items:
        raise InputError(f"{folder}/masks: no frame holds label {label}")
    return items


def splits(items: list[Item], clip: bool, largest: int, order: str) -> list[tuple[list[Item], list[Item]]]:
    """(teaching frames in teaching order, scored frames) for each direction."""
    if clip:
        teach = items[:largest]
        last = teach[-1].index
        return [(teach, [it for it in items if it.index >= last + DISTANCE])]
    videos = sorted({it.video for it in items})
    halves = [set(videos[0::2]), set(videos[1::2])]
    by_video = sorted(items, key=lambda it: (it.video, it.index))
    rank = {}
    for it in by_video:  # the n-th frame of its video
        rank[(it.video, it.index)] = sum(1 for r in rank if r[0] == it.video)
    if order == "spread":
        by_video.sort(key=lambda it: (rank[(it.video, it.index)], it.video))
    return [([it for it in by_video if it.video in h], [it for it in by_video if it.video not in h]) for h in halves]


def ks(raw: list[str], available: int) -> list[int]:
    out = []
    for k in raw:
        if k == "all":
            out.append(available)
        elif k.isdigit() and int(k) > 0:
            out.append(min(int(k), available))
        else:
            raise InputError(f"--teach {k!r}: a positive number of frames, or 'all'")
    return sorted(set(out))


def score_split(
    backend: SamBackend, teach: list[Item], test: list[Item], k_list: list[int], where: str
) -> dict[int, dict]:
    """Per K: per-frame Dice of SAM, the gated proposal (the proposer ``where`` the scored
    frames are: FAR or OTHER) and the ungated head on ``test``."""
    learner = Learner(backend.name)
    head0 = learner.head_of("label")
    feats = [
        head0.roi_features(it.sample.image, it.sample.sam, it.sample.box)
        for it in progress(test, len(test), "features")
    ]
    out, taught = {}, 0
    for k in k_list:
        for it in teach[taught:k]:
            s = it.sample
            learner.teach((it.video, it.index), s.image, s.sam, s.truth, s.box, "label", it.video, it.index)
        taught = k
        head, choice = learner.head_of("label"), learner.choice("label", where)
        chosen = learner.head_of("label", choice.view)
        sam, gated, raw = [], [], []
        for it, f in zip(test, feats, strict=True):
            s = it.sample
            sam.append(dice(s.sam.mask, s.truth))
            prob = head.probability(s.image, s.sam, s.box, features=f)  # the ungated head: the BANK view
            raw.append(dice(prob > head.config.threshold, s.truth))
            if chosen is not head:
                prob = chosen.probability(s.image, s.sam, s.box, features=learner.view_features(f, choice.view))
            gated.append(dice(chosen.gated(prob, s.sam, choice), s.truth))
        out[k] = {"sam": sam, "gated": gated, "raw": raw, "choice": choice}
    return out


def run(args: argparse.Namespace) -> int:
    source = Path(args.source)
    clip = (source / "frames").is_dir()
    if clip and args.label is None:
        raise InputError(f"{source}: a clip needs --label ID (its masks hold class ids)")
    if not clip and not (source / "images").is_dir():
        raise InputError(f"{source}: neither a task folder (images/, masks/) nor a clip (frames/, masks/)")
    backend = model_from_args(args)
    items = clip_items(source, args.label, backend) if clip else folder_items(source, backend, args.limit)
    largest = max(ks(args.teach, len(items) - DISTANCE - 1 if clip else len(items)))
    parts = splits(items, clip, largest, args.order)
    k_list = ks(args.teach, min(len(t) for t, _ in parts))
    if not all(test for _, test in parts):
        raise InputError(f"{source}: no frame left to score at a distance from {largest} teaching frames")
    where = FAR if clip else OTHER
    results = [score_split(backend, teach, test, k_list, where) for teach, test in parts]
    rows = []
    for k in k_list:
        sam = np.concatenate([r[k]["sam"] for r in results])
        gated = np.concatenate([r[k]["gated"] for r in results])
        raw = np.concatenate([r[k]["raw"] for r in results])
        choices: list[Choice] = [r[k]["choice"] for r in results]
        rows.append(
            {
                "k": k,
                "sam_dice": round(float(sam.mean()), 4),
                "head_dice": round(float(gated.mean()), 4),
                "ungated_head_dice": round(float(raw.mean()), 4),
                "frames": int(sam.size),
                "worse_frames": int(np.sum(gated < sam - WORSE)),
                "proposers": [
                    c.proposer if not c.uses_head or c.view == BANK else f"{c.proposer}-{c.view}" for c in choices
                ],
            }
        )
    result = {
        "source": str(source),
        "label": args.label,
        "model": backend.describe(),
        "split": "clip" if clip else f"by video (two halves), order {args.order}",
        "rows": rows,
    }
    print_table(result)
    if args.json:
        print(json.dumps(result))
    return 0


def print_table(result: dict) -> None:
    label = f", label {result['label']}" if result["label"] is not None else ""
    print(f"generalize benchmark ({result['model']}): {result['source']}{label}, split {result['split']}")
    print(f"{'K':>5} {'frames':>7} {'SAM':>7} {'gated':>7} {'ungated':>8} {'gain':>7} {'worse':>6}  proposer")
    for r in result["rows"]:
        print(
            f"{r['k']:>5} {r['frames']:>7} {r['sam_dice']:>7.4f} {r['head_dice']:>7.4f} {r['ungated_head_dice']:>8.4f}"
            f" {r['head_dice'] - r['sam_dice']:>+7.4f} {r['worse_frames']:>6}  {'/'.join(r['proposers'])}"
        )
