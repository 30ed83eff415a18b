"""The benchmarks of sklproxy, one package per benchmark, on one part runner.

Run from the repository root::

    python -m benchmarks.b1 --quick     # B1 hashing (also b2 clustering, b3 debiasing,
                                        # b4 throughput, b5 retrieval speed)
    python -m benchmarks.b1 --cpu       # the CPU reference setting
    python -m benchmarks.b1             # the headline, meant for one GPU
    python -m benchmarks.docs           # regenerate docs/benchmarks.md

Each package has ``run.py`` (settings and jobs), ``report.py`` (result files
and tables), ``plots.py`` (figures) and ``__main__.py`` (the command line);
``_runner.py`` runs the jobs (part files, ``--resume``, ``--merge``),
``_data.py`` holds the data, ``_report.py`` the table helpers.
``benchmarks/experiments/`` holds the design experiments. See
``benchmarks/README.md``.
"""
