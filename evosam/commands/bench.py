"""``evosam bench NAME``: benchmarks that print a table (and JSON with ``--json``).

Each benchmark is a module ``evosam.bench.<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``. Those modules import torch and the models, so a benchmark's module is
imported only when that benchmark is named on the command line (``_BenchParser``):
``evosam --help`` and ``evosam bench --help`` answer at once.
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = {
    "propagation": "propagation through a clip against per-frame ground truth",
    "continual": "continual learning over tasks: accuracy matrix, ACC and BWT per method",
    "generalize": "a label's head taught from K frames, scored on frames it never saw (gated and not)",
    "annotate": "a simulated annotator: corrections needed with and without the head",
    "review": "the review queue: bad proposals found first, corrections with and without it",
    "speed": "milliseconds per stage, propagation frames/s and peak memory on this machine",
    "memory": "a long video (made, 1 h 1080p by default) opens and scrubs with bounded memory",
}


class _BenchParser(argparse.ArgumentParser):
    """One benchmark's parser; its arguments are added from ``evosam.bench.<benchmark>`` the
    first time it parses (argparse calls ``parse_known_args`` only on the chosen sub-parser)."""

    def __init__(self, *args, benchmark: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._benchmark = benchmark

    def load(self) -> None:
        """Add the benchmark's arguments, ``--json`` and its ``func`` (once)."""
        if self._benchmark is None:
            return
        module = importlib.import_module(f"evosam.bench.{self._benchmark}")
        self._benchmark = None
        module.add_arguments(self)
        self.add_argument("--json", action="store_true", help="print one JSON object on the last line")
        self.set_defaults(func=module.run)

    def parse_known_args(self, args=None, namespace=None):
        self.load()
        return super().parse_known_args(args, namespace)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run a benchmark and print a table")
    inner = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", parser_class=_BenchParser)
    inner.required = True
    for name, help_text in BENCHMARKS.items():
        inner.add_parser(name, help=help_text, description=help_text, benchmark=name)
