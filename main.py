"""Start the EvoSAM Annotator from a checkout: ``python main.py [VIDEO_OR_FRAME_FOLDER] [--model NAME] ...``.

The code lives in ``app/entry.py``, so an installed wheel starts the same way through its
``evosam-annotator`` command. torch is imported before PySide6 (see ``app/entry.py``).
"""

from __future__ import annotations

import evosam  # noqa: F401  - first: it limits OpenBLAS's idle spinning before numpy loads

# isort: split
import torch  # noqa: F401  - before PySide6

from app.entry import PROG, build_parser, check_model_args, main, warm_imports  # noqa: F401

if __name__ == "__main__":
    raise SystemExit(main())
