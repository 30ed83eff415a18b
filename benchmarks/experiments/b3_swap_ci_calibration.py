"""Calibrate the CI quality test of ``LADDebiaser(method="swap")`` (tests/debias/test_lad_quality.py).

The test's setting: 600 digits28 training images with a class signal that
is not a colour (``texture``: a class grating in the background;
``corrupt-type1``: one corruption per class), 100 % bias; the independent
test images (the signal of a random class). ``LADClassifier`` with
``method="swap"`` (10 VQ-VAE epochs) and a LeNet (10 epochs) against the
same LeNet on the raw images. The figures in the test's docstring come from
this experiment (CPU, one thread)::

    python -m benchmarks.experiments.b3_swap_ci_calibration

Writes ``benchmarks/results/b3_swap_ci_calibration.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.base import clone

from sklproxy.classification import ImageClassifier
from sklproxy.datasets import load_digits28, make_corrupted, make_spatial_biased
from sklproxy.debias import LADClassifier, LADDebiaser

from .._report import markdown_table
from .._runner import Job, PartRunner, add_job_arguments, execute, plan, write_results

SETTINGS = {"texture": (0, 1, 2), "corrupt-type1": (0, 1, 2)}
N_TRAIN = 600


def biased_digits28(setting: str, seed: int = 0):
    """The test's data: ``(X_train, y_train, X_independent, y_test)``."""
    Xtr, ytr, Xte, yte = load_digits28(random_state=seed, return_X_y=True)
    Xtr, ytr = Xtr[:N_TRAIN], ytr[:N_TRAIN]
    if setting == "texture":
        make, kw = make_spatial_biased, dict(kind="texture")
    else:
        make, kw = make_corrupted, dict(corruptions="type1")
    Xb, _ = make(Xtr, ytr, random_state=seed, **kw)
    Xi, _ = make(Xte, yte, test_mode="independent", random_state=seed + 1, **kw)
    return Xb, ytr, Xi, yte


def swap_gain(setting: str, seed: int = 0):
    """``(raw accuracy, LAD swap accuracy, fitted LADClassifier)`` on the independent test set."""
    Xb, y, Xi, yi = biased_digits28(setting, seed)
    clf = ImageClassifier(backbone="lenet", max_epochs=10, device="cpu", random_state=seed)
    raw = clone(clf).fit(Xb, y).score(Xi, yi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no spurious code: expected, the swap does the work
        lad = LADClassifier(LADDebiaser(method="swap", max_epochs=10, device="cpu", random_state=seed),
                            clf).fit(Xb, y)
    return raw, lad.score(Xi, yi), lad


def work(job: Job, save) -> dict:
    raw, score, lad = swap_gain(job.setting, job.seed)
    d = lad.debiaser_
    out = {"raw": raw, "lad_swap": score, "gain": score - raw, "active": bool(d.swap_active_),
           "probe_accuracy": d.swap_probe_accuracy_}
    print(job.setting, job.seed, out, flush=True)
    return out


def merged(records: list[dict]) -> dict:
    rows = [(r["setting"], r["seed"], r["result"]["raw"], r["result"]["lad_swap"], r["result"]["gain"],
             r["result"]["probe_accuracy"], r["result"]["active"]) for r in records]
    gains = [r[4] for r in rows]
    res = {"records": [r["result"] | {"setting": r["setting"], "seed": r["seed"]} for r in records],
           "min_gain": float(np.min(gains))}
    table = markdown_table(("setting", "seed", "raw", "LAD swap", "gain", "amplitude probe", "swap on"),
                           rows)
    write_results("b3_swap_ci_calibration", res,
                  "# CI calibration of LADDebiaser(method='swap')\n\n" + __doc__.split("::")[0].strip()
                  + "\n\n" + table + f"\n\nSmallest gain: {res['min_gain']:.3f}.\n")
    return res


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_job_arguments(p, settings=tuple(SETTINGS), threads=1)
    args = p.parse_args(argv)
    jobs = plan(SETTINGS, ("gain",))
    execute(args, PartRunner("b3_swap_ci_calibration", work, threads=1), jobs, merged)


if __name__ == "__main__":
    main()
