"""What each part of the head costs on this machine, per frame: a table of median milliseconds.

Run: ``.venv/bin/python scripts/head_cost.py [--frames N]``. Frames: Endoscapes cystic
arteries (854x480, tight ground-truth box) and the CholecSeg8k clip's gallbladder (a large
ROI), with the real LiteMedSAM. Parts: SAM's decoder channels, the filter bank (both
resolutions), the box geometry, then teaching (samples + statistics), the leave-out
evidence after a teaching (12 frames taught, one video each), and prediction (features +
scores over the ROI).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

import evosam  # noqa: F401  (sets the BLAS thread timeout before numpy loads)
from evosam.bench.retina import load_sample, task_stems
from evosam.head import EvoHead
from evosam.head.features import box_geometry, filter_bank, sam_channels_roi
from evosam.head.head import roi_from_box
from evosam.imageio import read_rgb
from evosam.learning import Learner
from evosam.masks import prompt_box
from evosam.models import load_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def median_ms(fn, *args, repeat: int = 3, **kwargs) -> float:
    """Median milliseconds of ``fn(*args, **kwargs)`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def rows_for(name: str, samples, backend) -> list[tuple[str, str, float]]:
    head = EvoHead(backend.name)
    cfg = head.config.features
    rows: dict[str, list[float]] = {}
    learner = Learner(backend.name)
    for i, s in enumerate(samples):
        roi = roi_from_box(s.box, s.image.shape[:2], head.config.roi_margin)
        x0, y0, x1, y1 = roi
        crop = np.ascontiguousarray(s.image[y0 : y1 + 1, x0 : x1 + 1])
        rows.setdefault("ROI pixels (k)", []).append((y1 - y0 + 1) * (x1 - x0 + 1) / 1000)
        rows.setdefault("SAM decoder channels", []).append(median_ms(sam_channels_roi, s.sam, roi))
        rows.setdefault("filter bank (2 resolutions)", []).append(median_ms(filter_bank, crop, cfg))
        rows.setdefault("box geometry", []).append(median_ms(box_geometry, roi, s.box))
        feats = head.roi_features(s.image, s.sam, s.box)
        rows.setdefault("all features", []).append(median_ms(head.roi_features, s.image, s.sam, s.box))
        rows.setdefault("teach after features", []).append(
            median_ms(head.frame_stats, s.image, s.sam, s.truth, s.box, features=feats)
        )
        record = learner.teach(i, s.image, s.sam, s.truth, s.box, "label", f"v{i}", 0)
        rows.setdefault("teach (Learner: features + statistics)", []).append(record.teach_ms)
        rows.setdefault("leave-out evidence after teaching", []).append(record.evidence_ms)
    taught = learner.head_of("label")
    taught.weights()
    for s in samples:
        feats = taught.roi_features(s.image, s.sam, s.box)
        rows.setdefault("predict after features", []).append(
            median_ms(taught.predict, s.image, s.sam, s.box, features=feats)
        )
        rows.setdefault("predict (features + scores)", []).append(median_ms(taught.predict, s.image, s.sam, s.box))
    return [(name, part, float(np.median(v))) for part, v in rows.items()]


def clip_samples(backend, count: int):
    from evosam.bench.retina import Sample, cached_prediction

    clip = DATA / "cholecseg8k_clip"
    out = []
    for path in sorted((clip / "frames").iterdir())[::3]:
        if len(out) == count:
            break
        raw = cv2.imread(str(clip / "masks" / f"{path.stem}.png"), cv2.IMREAD_UNCHANGED)
        truth = (raw if raw.ndim == 2 else raw[..., 0]) == 22
        box = prompt_box(truth)
        if box is None:  # hidden behind the grasper on this frame
            continue
        image = read_rgb(path)
        out.append(Sample(path.stem, image, truth, np.ones_like(truth), box, cached_prediction(backend, image, box)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12, help="frames of each set (default 12)")
    args = parser.parse_args()
    backend = load_model("litemedsam", device="cpu")
    endo = DATA / "endoscapes_dev"
    stems = task_stems(endo)[:: max(1, len(task_stems(endo)) // args.frames)][: args.frames]
    table = rows_for("artery", [load_sample(endo, s, backend) for s in stems], backend)
    table += rows_for("gallbladder", clip_samples(backend, args.frames), backend)
    print(f"head cost per frame, median ms ({backend.describe()}, {args.frames} frames each)")
    print(f"{'set':>12}  {'part':<42}{'median':>8}")
    for name, part, value in table:
        print(f"{name:>12}  {part:<42}{value:>8.1f}")


if __name__ == "__main__":
    main()
