"""Keep the app's resident memory close to what it holds (glibc's malloc, Linux).

By default glibc raises its mmap threshold to the largest buffer freed (up to 32 MB); after
that, 1080p frames, embeddings and feature maps come from heap arenas, which keep freed
memory resident. A long scrub of a 1080p video then held 190 MB more (2586 against 2399 MB,
``scripts/window_memory.py``). With a fixed threshold, buffers of a megabyte and more are
mapped on their own and go back to the system when freed.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)
THRESHOLD_BYTES = 1 << 20


def map_large_buffers(threshold: int = THRESHOLD_BYTES) -> bool:
    """Serve buffers of ``threshold`` bytes and more from mmap (fixed, not raised by frees).
    False where glibc's ``mallopt`` is not available (other systems: nothing changes)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1
