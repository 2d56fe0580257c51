"""Benchmarks: speed scripts, suites, metrics and plots; also home of the ``pstem`` CLI."""
