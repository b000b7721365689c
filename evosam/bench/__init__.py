"""Benchmarks that print tables; each module has ``run(args)``.

Their arguments are in ``evosam.commands.bench_arguments``."""
