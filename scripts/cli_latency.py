"""How long ``evosam`` takes to answer ``--help``, ``--version`` and an argument error, before
and after the CLI stopped importing torch and OpenCV at start-up (issue 19).

The old code is a git worktree of ``--old`` (made in ``--old-dir`` when missing, removed again
afterwards); both trees run with this venv's python as ``python -m evosam ...`` from a neutral
folder with ``PYTHONPATH`` naming the tree. Old and new alternate within each round (and swap
order every round), so a noisy VM slows both alike.

    .venv/bin/python scripts/cli_latency.py [--old 8daba76] [--old-dir /tmp/cli_old] [--repeats 5]

Prints a Markdown table of median wall times (seconds) over ``--repeats`` runs each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = (
    ("--help",),
    ("--version",),
    ("propagate", "--help"),
    ("propagate", "--nonsense"),
    ("bench", "propagation", "--help"),
    ("bench", "generalize", "--nonsense"),
)


def run(tree: Path, args: tuple[str, ...], cwd: str) -> tuple[float, int]:
    """(wall seconds, exit status) of ``python -m evosam ARGS`` with ``tree`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "evosam", *args], cwd=cwd, env=env, capture_output=True)
    return time.perf_counter() - start, proc.returncode


def check_tree(tree: Path, cwd: str) -> None:
    """Fail unless ``PYTHONPATH=tree`` really imports the CLI from ``tree`` (not the editable install)."""
    code = "import evosam.cli; print(evosam.cli.__file__)"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    if not Path(out.stdout.strip()).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"{tree}: evosam.cli comes from {out.stdout.strip()} instead")


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="8daba76", help="git revision of the old CLI (default: %(default)s)")
    parser.add_argument("--old-dir", default="/tmp/cli_old", help="worktree of --old (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command per tree (default: 5)")
    args = parser.parse_args()

    old = Path(args.old_dir)
    made = not old.exists()
    if made:
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), args.old], check=True)
    try:
        with tempfile.TemporaryDirectory() as cwd:
            trees = {"old": old, "new": REPO}
            for tree in trees.values():
                check_tree(tree, cwd)
                run(tree, ("--version",), cwd)  # warm the page cache; not counted
            times: dict[tuple[str, tuple[str, ...]], list[float]] = {}
            codes: dict[tuple[str, tuple[str, ...]], set[int]] = {}
            for r in range(args.repeats):
                order = ("old", "new") if r % 2 == 0 else ("new", "old")
                for case in CASES:
                    for name in order:
                        seconds, code = run(trees[name], case, cwd)
                        times.setdefault((name, case), []).append(seconds)
                        codes.setdefault((name, case), set()).add(code)
    finally:
        if made:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False)

    print(f"{cpu_model()}, {os.cpu_count()} CPUs; median of {args.repeats} wall times, seconds\n")
    print(f"| command | old ({args.old}) | new | old / new | exit status |")
    print("|---|---|---|---|---|")
    for case in CASES:
        o, n = (statistics.median(times[(name, case)]) for name in ("old", "new"))
        status = "/".join(str(c) for c in sorted(codes[("old", case)] | codes[("new", case)]))
        same = "" if codes[("old", case)] == codes[("new", case)] else " (differs!)"
        print(f"| `evosam {' '.join(case)}` | {o:.2f} | {n:.2f} | {o / n:.0f}× | {status}{same} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
