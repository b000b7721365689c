"""``evosam bench NAME``: benchmarks that print a table (and JSON with ``--json``).

Each benchmark is a module ``evosam.bench.<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = {
    "propagation": "propagation through a clip against per-frame ground truth",
    "continual": "continual learning over tasks: accuracy matrix, ACC and BWT per method",
    "generalize": "a label's head taught from K frames, scored on frames it never saw (gated and not)",
    "annotate": "a simulated annotator: corrections needed with and without the head",
    "speed": "milliseconds per stage, propagation frames/s and peak memory on this machine",
    "memory": "a long video (made, 1 h 1080p by default) opens and scrubs with bounded memory",
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run a benchmark and print a table")
    inner = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    inner.required = True
    for name, help_text in BENCHMARKS.items():
        module = importlib.import_module(f"evosam.bench.{name}")
        p = inner.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
        p.set_defaults(func=module.run)
