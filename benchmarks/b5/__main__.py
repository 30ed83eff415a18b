"""B5 retrieval speed (CPU): ``python -m benchmarks.b5 [--quick] [--part SECTION]``.

    python -m benchmarks.b5                # full size, a few minutes
    python -m benchmarks.b5 --quick        # small sizes, seconds
    python -m benchmarks.b5 --part scale   # one section; the others from their part
                                           # files, or from the last JSON
"""

from __future__ import annotations

import argparse
import os
from functools import partial

from .._runner import PartRunner, benchmark_parser, execute, plan, plan_seeds
from . import __doc__ as DESCRIPTION
from .report import merge
from .run import PARTS, section_work


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser("b5", DESCRIPTION, cpu=False, parts=PARTS)
    p.add_argument("--repeats", type=int, default=None, help="timing repeats (default 5; quick 3)")
    p.add_argument("--n-jobs", type=int, default=None, help="threads (default: all CPUs)")
    p.add_argument("--only", choices=PARTS, default=None, help="the same as --part SECTION")
    p.add_argument("--scale-sizes", default=None, help="comma-separated database sizes for the scale rows")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.only:
        args.part = [args.only]
    args.jobs = 1  # timings: one section at a time
    stem = "b5_retrieval_quick" if args.quick else "b5_retrieval"
    repeats = args.repeats or (3 if args.quick else 5)
    n_jobs = args.n_jobs or len(os.sched_getaffinity(0))
    scale = [int(x) for x in args.scale_sizes.split(",")] if args.scale_sizes else None
    runner = PartRunner(stem, partial(section_work, args.quick, repeats, n_jobs, scale),
                        threads=args.threads, info={"device": "cpu", "quick": args.quick})
    jobs = plan({"codes": plan_seeds(args, (0,), single=True)}, PARTS)
    execute(args, runner, jobs, partial(merge, stem=stem, quick=args.quick, repeats=repeats,
                                        n_jobs=n_jobs))


if __name__ == "__main__":
    main()
