"""The design experiments behind the defaults (internal; not on the benchmarks page).

Each module runs on the benchmarks' part runner
(``python -m benchmarks.experiments.<name> ...``, ``--help`` for its
options) and writes its result file under ``benchmarks/results/``;
``benchmarks/README.md`` ("Internal experiments") lists them.
"""
