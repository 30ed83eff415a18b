"""B1 hashing: ``python -m benchmarks.b1 [--quick | --cpu] [job options]``.

    python -m benchmarks.b1                 # headline, meant for one GPU
    python -m benchmarks.b1 --quick         # CPU smoke run, small subset (minutes)
    python -m benchmarks.b1 --cpu           # the CPU reference (3 seeds, about an hour at 1 thread)
    python -m benchmarks.b1 --cpu --seed 1 --part published   # one job
    python -m benchmarks.b1 --cpu --merge   # result files from the part files
    python -m benchmarks.b1 --replot        # only redraw docs/b1_level_bits_cpu.png
"""

from __future__ import annotations

import argparse
from functools import partial

from .._runner import PartRunner, benchmark_parser, execute, mode, plan, plan_seeds, resolve_device
from . import __doc__ as DESCRIPTION
from .plots import level_plot, replot_cpu
from .report import merge_cpu, merge_headline
from .run import CPU_PARTS, CPU_SEEDS, PARTS, cpu_work, headline_work


def parser() -> argparse.ArgumentParser:
    p = benchmark_parser("b1", DESCRIPTION, parts=tuple(dict.fromkeys(PARTS + CPU_PARTS)))
    p.add_argument("--replot", action="store_true",
                   help="only redraw the --cpu per-level plot from its JSON")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.replot:
        return replot_cpu()
    m = mode(args)
    parts = CPU_PARTS if m == "cpu" else PARTS
    if args.part and not set(args.part) <= set(parts):
        raise SystemExit(f"--part of {'--cpu' if m == 'cpu' else 'this mode'}: one of {parts}")
    if m == "cpu":
        jobs = plan({"fmnist-15k": plan_seeds(args, CPU_SEEDS)}, CPU_PARTS, seed_major=True)
        runner = PartRunner("b1_hashing_cpu", cpu_work, threads=args.threads or 2,
                            info={"device": "cpu", "concurrent": args.concurrent})

        def merge(records):
            level_plot(merge_cpu(records)["summary"])
    else:
        device = resolve_device(args.device)
        quick = m == "quick"
        stem = "b1_hashing_quick" if quick else "b1_hashing"
        jobs = plan({"fmnist": plan_seeds(args, (0,), single=True)}, PARTS)
        runner = PartRunner(stem, partial(headline_work, quick, device), threads=args.threads,
                            info={"device": device, "quick": quick, "concurrent": args.concurrent})
        merge = partial(merge_headline, stem=stem)
    execute(args, runner, jobs, merge)


if __name__ == "__main__":
    main()
