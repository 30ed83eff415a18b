"""DHOG with stronger photometric views on 28x28 Fashion-MNIST (issue 20, lever "view policy").

The issue 20 gates (research branch) found that under the default grey views
(brightness / contrast within 1 +- 0.22) an easy partition (k-means, a
brightness hybrid) scores a higher IIC mutual information between views than
the labels, so the push has nothing better to push towards; with factors
within 1 +- 0.6 the labels rank first. This runs the B2 CPU setting
``fmnist-20k-28`` (20k training images at 28x28, the 10k test images) with
``augment=dhog_augment(X, magnitude=M)`` for DHOG (``alpha=0.2``) and its
``alpha=0`` twin (IIC), the same seeds as B2, so that each row pairs with
B2's default-views row of the same seed.

    python -m benchmarks.experiments.b2_view_magnitude --magnitude 0.6 --seed 0 1 2 --jobs 2

Results: ``results/b2_view_magnitude.{json,md}``.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch

from sklproxy.nn import dhog_augment

from .._data import clustering_setting
from .._report import markdown_table, seed_stats
from .._runner import Job, PartRunner, add_job_arguments, execute, plan, write_results
from ..b2.run import run_dhog

SETTING = "fmnist-20k-28"


def work(magnitude: float, job: Job, save) -> dict:
    data = clustering_setting(SETTING)
    augment = dhog_augment(torch.from_numpy(data["X_train"]), magnitude=magnitude)
    params = {"n_clusters": 10, "device": "cpu", "random_state": job.seed, "augment": augment,
              "alpha": 0.0 if job.part == "iic" else 0.2}
    run = run_dhog(params, data)
    print(f"magnitude {magnitude} {job.part} seed {job.seed}: "
          f"test acc {run['selected']['test_accuracy']:.3f}", flush=True)
    return {"magnitude": magnitude, **run}


def merge(records: list[dict]) -> dict:
    acc = {m: [r["result"]["selected"]["test_accuracy"] for r in records if r["part"] == m]
           for m in ("dhog", "iic")}
    seeds = sorted({r["seed"] for r in records})
    diffs = [d - i for d, i in zip(acc["dhog"], acc["iic"])] if len(acc["dhog"]) == len(acc["iic"]) else []
    result = {"setting": SETTING, "seeds": seeds, "records": records,
              "dhog": seed_stats(acc["dhog"]) if acc["dhog"] else None,
              "iic": seed_stats(acc["iic"]) if acc["iic"] else None,
              "dhog_minus_iic": seed_stats(diffs) if diffs else None}
    rows = [[m, *[f"{a:.3f}" for a in acc[m]]] for m in ("dhog", "iic")]
    table = (f"# DHOG view magnitude on {SETTING}\n\nHeld-out accuracy of `best_head_` per seed "
             f"{seeds}, magnitude {records[0]['result']['magnitude']}.\n\n"
             + markdown_table(["method", *[f"seed {s}" for s in seeds]], rows) + "\n")
    write_results("b2_view_magnitude", result, table, indent=1)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b2_view_magnitude",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--magnitude", type=float, default=0.6)
    add_job_arguments(parser, parts=("dhog", "iic"), jobs=2)
    args = parser.parse_args(argv)
    seeds = tuple(args.seed or (0, 1, 2))
    runner = PartRunner("b2_view_magnitude", partial(work, args.magnitude), threads=1,
                        info={"device": "cpu"})
    execute(args, runner, plan({SETTING: seeds}, ("dhog", "iic")), merge)


if __name__ == "__main__":
    main()
