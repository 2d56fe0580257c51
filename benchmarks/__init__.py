"""Benchmarks: suites, the resumable runner, reports and the figure scripts.

Modules: :mod:`~benchmarks.suite` (TOML suites, checked against the registries),
:mod:`~benchmarks.bench` (the runner: local processes or Dask, resumable),
:mod:`~benchmarks.report` (summary.md and plots), :mod:`~benchmarks.panels` (path and specimen
figures), :mod:`~benchmarks.eval_completion` and :mod:`~benchmarks.eval_rl` (the figures the
issues name), :mod:`~benchmarks.references` (published numbers), :mod:`~benchmarks.plotting`.
The command line that drives them is the :mod:`pstem` package.
"""
