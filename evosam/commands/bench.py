"""``evosam bench NAME``: benchmarks that print a table (and JSON with ``--json``).

Each benchmark is a module ``evosam.bench.<name>`` with ``run(args) -> int``; its arguments
are added by ``evosam.commands.bench_arguments.<name>``. The modules import torch and the
models, so a benchmark's module is imported only when it runs (``run_benchmark``):
``evosam --help``, ``evosam bench --help``, ``evosam bench NAME --help`` and a mistyped
argument answer at once.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from evosam.commands import bench_arguments as arguments

# name -> (help, the function adding its arguments)
BENCHMARKS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "propagation": ("propagation through a clip against per-frame ground truth", arguments.propagation),
    "continual": ("continual learning over tasks: accuracy matrix, ACC and BWT per method", arguments.continual),
    "generalize": (
        "a label's head taught from K frames, scored on frames it never saw (gated and not)",
        arguments.generalize,
    ),
    "annotate": ("a simulated annotator: corrections needed with and without the head", arguments.annotate),
    "review": ("the review queue: bad proposals found first, corrections with and without it", arguments.review),
    "speed": ("milliseconds per stage, propagation frames/s and peak memory on this machine", arguments.speed),
    "memory": ("a long video (made, 1 h 1080p by default) opens and scrubs with bounded memory", arguments.memory),
}


def run_benchmark(args: argparse.Namespace) -> int:
    """Import the chosen benchmark's module (torch, the models) and run it."""
    return importlib.import_module(args.benchmark_module).run(args)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run a benchmark and print a table")
    inner = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    inner.required = True
    for name, (help_text, add_arguments) in BENCHMARKS.items():
        p = inner.add_parser(name, help=help_text, description=help_text)
        add_arguments(p)
        p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
        p.set_defaults(func=run_benchmark, benchmark_module=f"evosam.bench.{name}")
