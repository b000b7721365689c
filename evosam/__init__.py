"""EvoSAM: frozen Segment Anything plus a closed-form continual-learning head.

The engine of EvoSAM Annotator. Never imports Qt: everything here is usable from
scripts, the ``evosam`` CLI and tests.

Importing it first (the CLI and the app do) limits how long numpy's OpenBLAS threads spin
after each matrix product: by default 2**28 CPU cycles (about 0.1 s at 2.5 GHz) of a busy
core that OpenCV, OpenVINO and the head's filter threads then wait for. On two cores (a
2-vCPU Xeon) that made teaching a frame about 15 % slower, a head prediction and a box answer
about 30 % slower. OpenBLAS reads
the limit once, when numpy loads; ``OPENBLAS_THREAD_TIMEOUT`` set by the user wins.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"

_LATE = "numpy" in _sys.modules and "OPENBLAS_THREAD_TIMEOUT" not in _os.environ
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")  # 2**20 cycles, about 0.4 ms at 2.5 GHz
_SPIN = _os.environ["OPENBLAS_THREAD_TIMEOUT"].strip()
# log2 of the cycles this process's OpenBLAS threads spin; None: numpy loaded first (default 28)
# or a value that is not a number
OPENBLAS_SPIN_LOG2: int | None = None if _LATE or not _SPIN.isdigit() else int(_SPIN)
