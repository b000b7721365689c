"""Arguments and helpers shared by several sub-commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from evosam.errors import InputError
from evosam.models import DEFAULT_MODEL, REGISTRY, SamBackend, load_model
from evosam.models.backend import RUNTIMES

T = TypeVar("T")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, choices=sorted(REGISTRY), help="model name (default: %(default)s)"
    )
    parser.add_argument(
        "--checkpoint", default=None, metavar="PATH", help="checkpoint file (needed for non-bundled models)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    parser.add_argument(
        "--runtime",
        default="auto",
        choices=RUNTIMES,
        help="what runs the image encoder on the CPU (default: %(default)s: OpenVINO where the encoder runs "
        "float32, else PyTorch)",
    )


def add_batch_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        metavar="N",
        help="frames per image-encoder call while propagating (default: 8 on CUDA, 1 on the CPU)",
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
    return load_model(
        args.model, checkpoint=args.checkpoint, device=args.device, runtime=args.runtime, random_init=random_init
    )


def progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """Yield ``items``, drawing a one-line progress bar on stderr when it is a terminal."""
    tty = sys.stderr.isatty()
    for i, item in enumerate(items, 1):
        yield item
        if tty:
            filled = int(30 * i / max(total, 1))
            sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {i}/{total}")
            sys.stderr.flush()
    if tty:
        sys.stderr.write("\n")
