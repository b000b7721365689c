"""Arguments and helpers shared by several sub-commands.

Light on purpose: ``evosam --help`` imports this; torch and the models load in
``model_from_args`` when a command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from evosam.commands.progress import track
from evosam.errors import InputError
from evosam.names import DEFAULT_MODEL, MODEL_NAMES, RUNTIMES

if TYPE_CHECKING:
    from evosam.models import SamBackend

T = TypeVar("T")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=MODEL_NAMES, help="model name (default: %(default)s)")
    parser.add_argument(
        "--checkpoint", default=None, metavar="PATH", help="checkpoint file (needed for non-bundled models)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    parser.add_argument(
        "--runtime",
        default="auto",
        choices=RUNTIMES,
        help="what runs the image encoder on the CPU (default: %(default)s: OpenVINO, in bf16 where the CPU "
        "has native bf16)",
    )


def add_batch_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        metavar="N",
        help="frames per image-encoder call while propagating (default: 8 on CUDA, 1 on the CPU)",
    )


def add_keyframes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keyframes",
        choices=("auto", "on", "off"),
        default="auto",
        help="on: run the image encoder on keyframes only and carry them to the frames between by optical "
        "flow (about 3-5x faster on a 2-core CPU); off: encode every frame; auto (default): on with the "
        "sam-flow and sam-redetect trackers, off with flow (which runs no encoder)",
    )


def batch_from_args(args: argparse.Namespace, backend: SamBackend) -> int:
    """``--batch`` checked (one line on a bad value), or the device's default."""
    from evosam.ahead import default_batch

    if args.batch is None:
        return default_batch(backend)
    if not 1 <= args.batch <= 256:
        raise InputError(f"--batch {args.batch}: use 1 to 256 frames")
    return args.batch


def model_from_args(args: argparse.Namespace, random_init: bool = False) -> SamBackend:
    """The backend the model arguments name; ``random_init``: its architecture without weights."""
    from evosam.models import load_model

    return load_model(
        args.model, checkpoint=args.checkpoint, device=args.device, runtime=args.runtime, random_init=random_init
    )


def progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """Yield ``items``, drawing ``label 12/80  3.1 items/s  22 s left`` on stderr when it is a terminal."""
    return track(items, total, label, "items")
