"""B3 debiasing: ``python -m benchmarks.b3 [--quick | --cpu] [job options]``.

    python -m benchmarks.b3 --cpu                               # all settings, seeds 0-2
    python -m benchmarks.b3 --cpu --setting background --seed 1 # one job
    python -m benchmarks.b3 --cpu --merge                       # tables from the part files
    python -m benchmarks.b3 --cpu --plots                       # per-class image grids (seed 0)
    python -m benchmarks.b3 --cpu --generic                     # corruptions, texture, patch (issue 18)
    python -m benchmarks.b3 --quick                             # smoke run, minutes
    python -m benchmarks.b3                                     # GPU headline (full sizes)
"""

from __future__ import annotations

import argparse
from functools import partial

import torch

from sklproxy.utils import resolve_device

from .._runner import PartRunner, benchmark_parser, execute, mode, plan, plan_seeds
from . import __doc__ as DESCRIPTION
from .generic import COLOUR_SETTINGS, GENERIC_SETTINGS, GENERIC_STEMS, generic_work
from .generic_report import merge_generic
from .plots import plot_grids, plot_results
from .report import merge
from .run import PARTS, SEEDS, SETTINGS, rows_work

STEMS = {"quick": "b3_debias_quick", "cpu": "b3_debias_cpu", "headline": "b3_debias"}


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser("b3", DESCRIPTION, settings=SETTINGS + GENERIC_SETTINGS, threads=1)
    p.add_argument("--plots", action="store_true",
                   help="only draw the per-class image grids (seed 0) into docs/")
    p.add_argument("--generic", action="store_true",
                   help="the settings beyond pixel colours (corruptions, texture, patch, 99.5 %% "
                        "bias) and the swap's test on the colour settings (issue 18)")
    p.add_argument("--reuse", action="store_true",
                   help="--generic: keep the rows up to LAD from existing part files and rerun "
                        "only the swap's (after a change to the swap)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    m = mode(args)
    device = str(resolve_device("cpu" if m == "cpu" else args.device))
    if args.plots:
        torch.set_num_threads(1)
        return plot_grids(m, device, args.setting or SETTINGS)
    if args.generic:
        settings = GENERIC_SETTINGS + COLOUR_SETTINGS
        stem = GENERIC_STEMS[m]
        jobs = plan({s: plan_seeds(args, SEEDS[m]) for s in settings}, PARTS)
        runner = PartRunner(stem, partial(generic_work, m, device, reuse=args.reuse), threads=1,
                            info={"device": device, "mode": m, "concurrent": args.concurrent})
        return execute(args, runner, jobs, lambda records: merge_generic(records, stem, m))
    stem = STEMS[m]
    jobs = plan({s: plan_seeds(args, SEEDS[m]) for s in SETTINGS}, PARTS)
    runner = PartRunner(stem, partial(rows_work, m, device), threads=1,
                        info={"device": device, "mode": m, "concurrent": args.concurrent})

    def merged(records):
        plot_results(merge(records, stem, m), m)
    execute(args, runner, jobs, merged)


if __name__ == "__main__":
    main()
