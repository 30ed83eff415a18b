"""The thesis's literal QE-walk on B3's settings beyond colour (issue 18's "QE-walk in every table").

Per setting and seed: ``LADDebiaser(method="substitute")`` at B3's CPU
settings, then the same fitted VQ-VAE and ``f`` with ``QEWalk(steps=20,
alpha=0.1)`` (the thesis's background-colour setting), B3's LeNet trained on
the walked training images and scored on walked independent test images, as
``b3 --cpu`` does for the colour rows. About 15 CPU minutes per job (every
image is walked). Rerun::

    python -m benchmarks.experiments.b3_walk_generic --setting corrupt-type0 --seed 0

Writes ``benchmarks/results/b3_walk_generic.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
from sklearn.base import clone

from sklproxy.classification import ImageClassifier
from sklproxy.debias import LADDebiaser, QEWalk

from .._data import B3_GENERIC_SETTINGS, biased_setting
from .._report import markdown_table
from .._runner import Job, PartRunner, add_job_arguments, execute, plan, write_results
from ..b3.run import CLF, MODES, with_method

SETTINGS = {s: (0,) for s in B3_GENERIC_SETTINGS if s not in ("fmnist-corrupt", "background-99.5")}


def work(job: Job, save) -> dict:
    torch.set_num_threads(1)
    Xb, y, _, tests = biased_setting(job.setting, job.seed)
    X_ind, y_ind = tests["independent"]
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lad = LADDebiaser(method="substitute", **MODES["cpu"]["lad"], device="cpu",
                          random_state=job.seed).fit(Xb, y)
    walker = with_method(lad, Xb, y, QEWalk(steps=20, alpha=0.1))
    clf = clone(ImageClassifier(**CLF, device="cpu", random_state=job.seed)).fit(walker.transform(Xb), y)
    out = {"independent": float(clf.score(walker.transform(X_ind), y_ind)),
           "raw_independent": float(clf.score(X_ind, y_ind)),
           "entropy_before": walker.diagnostics_["entropy_before"],
           "entropy_after": walker.diagnostics_["entropy_after"],
           "code_change": walker.diagnostics_["code_change"], "wall_s": time.perf_counter() - t}
    print(job.setting, job.seed, out, flush=True)
    return out


def merged(records: list[dict]) -> dict:
    rows = [(r["setting"], r["seed"], 100 * r["result"]["independent"],
             100 * r["result"]["raw_independent"], r["result"]["entropy_before"],
             r["result"]["entropy_after"], r["result"]["code_change"]) for r in records]
    res = {"records": [r["result"] | {"setting": r["setting"], "seed": r["seed"],
                                      "commit": r["info"]["commit"]} for r in records]}
    table = markdown_table(("setting", "seed", "QE-walk independent %", "raw independent %",
                            "f entropy before", "after", "codes changed"), rows, floats=".2f")
    write_results("b3_walk_generic", res, "# The literal QE-walk beyond colour (B3, CPU)\n\n"
                  + __doc__.split("::")[0].strip() + "\n\n" + table + "\n")
    return res


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_job_arguments(p, settings=tuple(SETTINGS), threads=1)
    args = p.parse_args(argv)
    execute(args, PartRunner("b3_walk_generic", work, threads=1), plan(SETTINGS, ("walk",)), merged)


if __name__ == "__main__":
    main()
