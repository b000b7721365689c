"""glibc's mmap threshold is fixed at start (app.heap): freed large buffers leave the process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Frees a 16 MB buffer (glibc then raises its threshold to 16 MB), then allocates 8 MB buffers
# with small live objects between them (so the heap cannot shrink from its top), frees them,
# and prints how much resident memory stayed behind, MB.
KEPT_AFTER_FREE = """
import os, sys
{setup}
import numpy as np
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
big = np.ones(2 * 2**20); del big
before = rss()
bufs, pins = [], []
for _ in range(4):
    bufs.append(np.ones(2**20))
    pins.append(np.ones(25_000))  # 200 KB: new heap memory after the buffer
del bufs
print(rss() - before)
"""


def kept_mb(setup: str) -> float:
    code = KEPT_AFTER_FREE.format(setup=setup)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_large_buffers_return_to_the_system():
    from app.heap import map_large_buffers

    assert map_large_buffers() is True
    assert kept_mb("from app.heap import map_large_buffers; map_large_buffers()") < 4  # default: ~32
