"""Importing evosam first stops numpy's OpenBLAS threads from spinning a core after each product.

Measured in child processes (OpenBLAS reads its limit once, when numpy loads): the CPU time a
process burns while its main thread sleeps right after a matrix product.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

IDLE_CPU_AFTER_PRODUCT = """
import time
{first}
import numpy as np
a = np.ones((600, 600))
for _ in range(3):
    a @ a
start = time.process_time()
time.sleep(0.3)
print(time.process_time() - start)
"""


def run_python(code: str, openblas: str | None = None) -> str:
    """Stdout of ``code`` in a fresh interpreter, ``OPENBLAS_THREAD_TIMEOUT`` set to ``openblas`` or unset."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if openblas is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = openblas
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return out.stdout.strip()


def idle_cpu_s(first_import: str) -> float:
    """CPU seconds a fresh interpreter spends during 0.3 s of sleep after three 600x600 products."""
    return float(run_python(IDLE_CPU_AFTER_PRODUCT.format(first=first_import)).splitlines()[-1])


def test_evosam_first_keeps_openblas_from_spinning_after_a_product():
    plain = idle_cpu_s("")
    if plain < 0.03:
        pytest.skip(f"OpenBLAS does not spin here even by default ({plain:.3f} s of CPU while idle: one core?)")
    assert idle_cpu_s("import evosam") < 0.02, f"by default OpenBLAS spun {plain:.3f} s"


@pytest.mark.parametrize("entry", ["main", "app.entry", "evosam.cli"])
def test_entry_points_import_evosam_before_numpy(entry):
    assert run_python(f"import {entry}, evosam; print(evosam.OPENBLAS_SPIN_LOG2)") == "20"


def test_numpy_loaded_first_is_reported():
    assert run_python("import numpy, evosam; print(evosam.OPENBLAS_SPIN_LOG2)") == "None"


def test_a_users_openblas_setting_wins():
    assert run_python("import evosam; print(evosam.OPENBLAS_SPIN_LOG2)", openblas="26") == "26"
