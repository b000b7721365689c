"""The ``evosam`` command: one sub-command per module in ``evosam.commands``.

Every command prints one clear line and exits non-zero on a user error; a traceback is
shown only for bugs (set ``EVOSAM_DEBUG=1`` to see it for user errors too).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from evosam import __version__
from evosam.errors import EvoSamError

# Each module exposes ``register(subparsers)``; it sets ``func(args) -> int`` on its parser.
COMMAND_MODULES = ("segment", "propagate", "bench", "models", "doctor", "export", "ingest", "batch")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evosam", description="EvoSAM: SAM segmentation, propagation and continual learning for video."
    )
    parser.add_argument("--version", action="version", version=f"evosam {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"evosam.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EvoSamError as exc:
        if os.environ.get("EVOSAM_DEBUG"):
            raise
        print(f"evosam {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"evosam {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
