"""B4 throughput: ``python -m benchmarks.b4 [--quick | --defaults] [--repeats N] [--epochs E]``.

    python -m benchmarks.b4                       # meant for one GPU
    python -m benchmarks.b4 --quick               # CPU smoke run, small data
    python -m benchmarks.b4 --defaults            # CPU: default fits, quiet and loaded (20 min)
    python -m benchmarks.b4 --defaults --part load
"""

from __future__ import annotations

import argparse
from functools import partial

from .._runner import PartRunner, benchmark_parser, execute, plan, resolve_device
from . import __doc__ as DESCRIPTION
from .defaults import DEFAULT_PARTS, defaults_work
from .report import merge, merge_defaults
from .run import PARTS, throughput_work


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser("b4", DESCRIPTION, cpu=False, parts=DEFAULT_PARTS)
    p.add_argument("--defaults", action="store_true",
                   help="the CPU benchmark of the default fits (parts: defaults, load; quiet machine)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per timed fit (default 2; quick 1)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.jobs = 1  # a timing: nothing beside it
    if args.defaults:
        runner = PartRunner("b4_defaults_cpu", defaults_work, info={"device": "cpu"})
        return execute(args, runner, plan({"cpu": (0,)}, DEFAULT_PARTS), merge_defaults)
    if args.part:
        raise SystemExit("--part: only with --defaults")
    stem = "b4_throughput_quick" if args.quick else "b4_throughput"
    runner = PartRunner(stem, partial(throughput_work, args.quick, args.repeats, args.epochs),
                        threads=args.threads,
                        info={"device": resolve_device(args.device), "quick": args.quick,
                              "concurrent": args.concurrent})
    execute(args, runner, plan({"fmnist": (0,)}, PARTS), partial(merge, stem=stem))


if __name__ == "__main__":
    main()
