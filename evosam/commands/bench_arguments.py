"""The arguments of each ``evosam bench NAME``, apart from the benchmarks themselves.

A benchmark's module (``evosam.bench.<name>``) imports torch and the models; this one imports
only argparse, so ``evosam bench NAME --help`` and a mistyped argument answer at once."""

from __future__ import annotations

import argparse

from evosam.commands.common import add_batch_argument, add_keyframes_argument, add_model_arguments
from evosam.names import DEFAULT_TRACKER


def propagation(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", required=True, metavar="DIR", help="folder of frames (or a video file)")
    p.add_argument("--masks", required=True, metavar="DIR", help="folder of class-id masks with the frames' stems")
    p.add_argument("--label", required=True, type=int, nargs="+", metavar="ID", help="class id(s) to follow")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use only the first N frames")
    p.add_argument(
        "--tracker",
        nargs="+",
        default=[DEFAULT_TRACKER],
        metavar="NAME",
        help="tracker(s) to compare, each on every label (default: %(default)s)",
    )
    add_keyframes_argument(p)
    add_model_arguments(p)


def continual(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--task",
        action="append",
        required=True,
        metavar="NAME=TRAIN_DIR[:TEST_DIR]",
        help="a task, in learning order; without TEST_DIR, sorted stems alternate train/test",
    )
    p.add_argument(
        "--by-video",
        action="store_true",
        help="split a TRAIN_DIR without TEST_DIR by video (stems vNNN_FRAME): alternate videos train and test",
    )
    p.add_argument("--swap", action="store_true", help="with --by-video: the other half of the videos trains")
    p.add_argument(
        "--video-groups",
        type=int,
        default=1,
        metavar="N",
        help="with --by-video: each task becomes N tasks of consecutive groups of videos (BWT across patients)",
    )
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N train and N test images per task")
    p.add_argument("--epochs", type=int, default=30, help="SGD epochs per task for finetune/replay")
    p.add_argument("--replay-budget", type=int, default=8000, metavar="PIXELS", help="replay buffer size")
    p.add_argument("--expansion", type=int, default=None, help="width of the head's random expansion")
    p.add_argument(
        "--samples",
        type=int,
        nargs=3,
        default=None,
        metavar=("FG", "NEAR", "FAR"),
        help="pixels sampled per training image: foreground, near background, far background",
    )
    add_model_arguments(p)


def generalize(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SOURCE", help="task folder (images/, masks/) or clip (frames/, masks/)")
    p.add_argument("--label", type=int, default=None, metavar="ID", help="class id in a clip's masks")
    p.add_argument(
        "--teach",
        nargs="+",
        default=["1", "2", "5", "10", "20"],
        metavar="K",
        help="numbers of taught frames (default 1 2 5 10 20; 'all': every teaching frame)",
    )
    p.add_argument("--limit", type=int, default=None, metavar="N", help="a task folder's first N videos only")
    p.add_argument(
        "--order",
        choices=("spread", "video"),
        default="spread",
        help="a task folder's teaching order: one frame of each video in turn (spread), or video after video",
    )
    add_model_arguments(p)


def annotate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", metavar="DIR", help="folder of frames (or a video file) to propagate through")
    p.add_argument("--masks", metavar="DIR", help="ground-truth masks with the frames' stems")
    p.add_argument(
        "--videos",
        metavar="DIR",
        help="instead: a task folder of frames far apart (stems vNNN_FRAME, e.g. Endoscapes), walked video "
        "after video, each frame prompted with its ground-truth box",
    )
    p.add_argument(
        "--label",
        type=int,
        nargs="+",
        action="extend",
        metavar="ID",
        help="class id(s): each is walked on its own, then totalled (default: any non-zero pixel)",
    )
    p.add_argument("--accept", type=float, default=0.9, help="Dice at which a proposal is accepted (default 0.9)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use only the first N frames")
    add_model_arguments(p)


def review(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", required=True, metavar="DIR", help="folder of frames (or a video file)")
    p.add_argument("--masks", required=True, metavar="DIR", help="folder of class-id masks with the frames' stems")
    p.add_argument("--label", required=True, type=int, nargs="+", metavar="ID", help="class id(s) to follow")
    p.add_argument("--bad", type=float, default=0.8, help="a proposal below this Dice is bad (default 0.8)")
    p.add_argument("--tracker", default=DEFAULT_TRACKER, metavar="NAME", help="tracker (default: %(default)s)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use only the first N frames")
    add_keyframes_argument(p)
    add_model_arguments(p)


def speed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", default=None, metavar="SOURCE", help="video or frame folder (default: bundled sample)")
    p.add_argument(
        "--masks",
        default=None,
        metavar="DIR",
        help="masks named like the frames or by index (default: the sample's ground truth)",
    )
    p.add_argument("--count", type=int, default=8, metavar="N", help="frames to time per stage (default 8)")
    add_model_arguments(p)
    add_batch_argument(p)
    p.add_argument(
        "--random-weights",
        action="store_true",
        help="time the architecture with random weights (no checkpoint needed; speed does not depend "
        "on the weights, the masks are meaningless)",
    )


def memory(p: argparse.ArgumentParser) -> None:
    p.add_argument("--video", default=None, metavar="PATH", help="a long video (default: make one)")
    p.add_argument("--minutes", type=float, default=60.0, help="length of the made video (default 60)")
    p.add_argument("--size", type=int, nargs=2, default=(1920, 1080), metavar=("W", "H"), help="made video size")
    p.add_argument("--fps", type=float, default=30.0, help="made video frame rate (default 30)")
    p.add_argument("--visits", type=int, default=600, metavar="N", help="frames visited per round (default 600)")
