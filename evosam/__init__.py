"""EvoSAM: frozen Segment Anything plus a closed-form continual-learning head.

The engine of EvoSAM Annotator. Never imports Qt: everything here is usable from
scripts, the ``evosam`` CLI and tests.
"""

__version__ = "0.1.0"
