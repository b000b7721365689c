"""Benchmarks that print tables; each module has ``add_arguments`` and ``run``."""
