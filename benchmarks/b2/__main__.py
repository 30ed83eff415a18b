"""B2 clustering: ``python -m benchmarks.b2 [--quick | --cpu] [job options]``.

    python -m benchmarks.b2 --cpu                       # the CPU reference, all settings
    python -m benchmarks.b2 --cpu --setting digits --jobs 1
    python -m benchmarks.b2 --cpu --resume              # continue an interrupted run
    python -m benchmarks.b2                             # headline, meant for one GPU
    python -m benchmarks.b2 --part dhog                 # one part of it
    python -m benchmarks.b2 --quick                     # CPU smoke run (3k images)
"""

from __future__ import annotations

import argparse
from functools import partial

from .._runner import PartRunner, benchmark_parser, execute, mode, plan, plan_seeds, resolve_device
from . import __doc__ as DESCRIPTION
from .plots import plot_cpu
from .report import merge_cpu, merge_headline
from .run import HEADLINE_PARTS, METHODS, SETTINGS, cpu_work, headline_params, headline_work


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser("b2", DESCRIPTION, parts=METHODS, settings=list(SETTINGS), jobs=2)
    p.add_argument("--alpha", type=float, default=None, help="headline DHOG alpha")
    p.add_argument("--epochs", type=int, default=None, help="headline epochs")
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--data-home", default=None)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    m = mode(args)
    if m == "cpu":
        settings = args.setting or list(SETTINGS)
        seeds = {s: plan_seeds(args, SETTINGS[s]) if args.seed else SETTINGS[s] for s in settings}
        jobs = plan(seeds, METHODS)
        stem = "b2_clustering_cpu" if not args.setting else "b2_clustering_cpu_" + "_".join(settings)
        runner = PartRunner(stem, partial(cpu_work, args.data_home), threads=1,
                            info={"device": "cpu", "concurrent": args.concurrent})

        def merge(records):
            plot_cpu(merge_cpu(records, stem, args.jobs), stem)
    else:
        if args.setting:
            raise SystemExit("--setting is for --cpu; the headline has one setting (Fashion-MNIST)")
        quick = m == "quick"
        device = resolve_device(args.device)
        stem = "b2_clustering_quick_cpu" if quick else "b2_clustering"
        seeds = plan_seeds(args, (0,), single=True)
        params = headline_params(quick, args.device, seeds[0], args.epochs, args.verbose)
        jobs = plan({"fmnist": seeds}, HEADLINE_PARTS)
        args.jobs = 1  # the parts' times are reported: one at a time
        runner = PartRunner(stem, partial(headline_work, quick, params, args.alpha, args.data_home),
                            threads=args.threads or (1 if quick else None),
                            info={"device": device, "quick": quick, "concurrent": args.concurrent})
        merge = partial(merge_headline, stem=stem)
    execute(args, runner, jobs, merge)


if __name__ == "__main__":
    main()
