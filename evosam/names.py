"""Names the ``evosam`` command offers before anything heavy is imported.

The CLI lists these in ``--help`` and as argparse ``choices`` without importing torch, OpenCV
or a model package. ``DEFAULT_MODEL``, ``RUNTIMES`` and ``DEFAULT_TRACKER`` are defined here
only (the registries import them); ``MODEL_NAMES`` and ``STATUSES`` mirror
``evosam.models.REGISTRY`` and ``evosam.annotations.Status``, and
``tests/unit/test_cli_startup.py`` checks that they match.
Standard library only: importing this module must stay instant.
"""

from __future__ import annotations

DEFAULT_MODEL = "litemedsam"
# sorted(evosam.models.REGISTRY): the names ``--model`` accepts
MODEL_NAMES = ("litemedsam", "medsam_vit_b", "mobilesam_vit_t", "sam_vit_b", "sam_vit_h", "sam_vit_l")
# evosam.models.backend.RUNTIMES: who runs the image encoder on the CPU
RUNTIMES = ("auto", "torch", "openvino")
# evosam.tracking.DEFAULT_TRACKER
DEFAULT_TRACKER = "sam-flow"
# [s.value for s in evosam.annotations.Status]
STATUSES = ("proposed", "confirmed", "rejected")
