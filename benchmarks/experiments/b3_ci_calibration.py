"""Calibrate the LAD quality tests (tests/debias/test_lad_quality.py) over seeds and palettes.

Runs the tests' own setting (8x8 digits on a background colour equal to the
class, 1200 training images; ``make_pipeline(LADDebiaser(), LogisticRegression())``
at default settings against the same pipeline without LAD, scored on test
images coloured independently of the class) for seeds 0-2 with the ReBias
palette and for ten random palettes (drawn from fixed seeds here, so the
figures rerun), and reports raw and LAD accuracy on the independent test
set. The figures in the tests' docstrings come from this experiment (CPU,
one thread). The setting is written out here, through the public API, as
the tests write it: change both together.

    python -m benchmarks.experiments.b3_ci_calibration

Jobs: (``rebias``, ``gain``, seed 0-2) and (``palette``, ``gain``, draw 0-9).
Writes ``benchmarks/results/b3_ci_calibration.json`` and ``.md``.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklproxy.datasets import make_colour_biased
from sklproxy.debias import LADDebiaser

from .._report import markdown_table
from .._runner import Job, PartRunner, add_job_arguments, execute, plan, write_results

SETTINGS = {"rebias": (0, 1, 2), "palette": tuple(range(10))}


def biased_digits(palette=None, seed=0):
    """The tests' data: 1200 training digits coloured by class, the rest coloured at random."""
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8)
    perm = np.random.RandomState(seed).permutation(len(X))
    tr, te = perm[:1200], perm[1200:]
    kw = dict(kind="background", max_value=16, palette=palette)
    Xtr, _ = make_colour_biased(X[tr], y[tr], random_state=seed, **kw)
    Xind, _ = make_colour_biased(X[te], y[te], test_mode="independent", random_state=seed + 1, **kw)
    flat = lambda A: A.reshape(len(A), -1)  # noqa: E731  (flattened, as LogisticRegression wants)
    return flat(Xtr), y[tr], flat(Xind), y[te]


def gain(palette=None, seed=0):
    """``(raw accuracy, LAD accuracy, fitted LADDebiaser)`` on the independent test set."""
    Xtr, ytr, Xind, yte = biased_digits(palette, seed)
    raw = make_pipeline(LogisticRegression(max_iter=3000)).fit(Xtr, ytr).score(Xind, yte)
    lad = LADDebiaser(image_shape=(3, 8, 8), device="cpu", random_state=seed)
    pipe = make_pipeline(lad, LogisticRegression(max_iter=3000)).fit(Xtr, ytr)
    return raw, pipe.score(Xind, yte), lad


def random_palette(rng):
    """Ten random colours, none close to white (the digit) or to each other."""
    colours = []
    while len(colours) < 10:
        c = rng.integers(0, 256, 3)
        if np.abs(c - 255).max() < 60 or any(np.abs(c - o).max() < 40 for o in colours):
            continue
        colours.append(c)
    return np.array(colours)


def work(job: Job, save) -> dict:
    if job.setting == "rebias":
        raw, lad, est = gain(seed=job.seed)
        out = {"raw": raw, "lad": lad, "gain": lad - raw,
               "colour_before": est.diagnostics_["colour_before"],
               "colour_after": est.diagnostics_["colour_after"]}
    else:
        palette = random_palette(np.random.default_rng(job.seed))
        raw, lad, _ = gain(palette)
        out = {"raw": raw, "lad": lad, "gain": lad - raw, "palette": palette.tolist()}
    print(job.setting, job.seed, {k: v for k, v in out.items() if k != "palette"}, flush=True)
    return out


def merge(records: list[dict]) -> None:
    rows = [[r["setting"], r["seed"], r["result"]["raw"], r["result"]["lad"], r["result"]["gain"],
             (f"{r['result']['colour_before']:.2f} -> {r['result']['colour_after']:.2f}"
              if "colour_before" in r["result"] else "-")] for r in records]
    table = ("# LAD quality tests: calibration over seeds and palettes (CPU, one thread)\n\n"
             "The setting of `tests/debias/test_lad_quality.py`; accuracy on test images "
             "coloured independently of the class. `rebias`: the ReBias palette, seed = data "
             "and model seed; `palette`: ten random colours drawn with `default_rng(seed)`, "
             f"data and model seed 0. Commit `{records[0]['info']['commit'][:12]}`.\n\n"
             + markdown_table(["palette", "seed", "raw", "LAD", "gain", "colour tells class"], rows))
    write_results("b3_ci_calibration", {"info": records[0]["info"],
                                        "runs": [{"setting": r["setting"], "seed": r["seed"],
                                                  **r["result"]} for r in records]}, table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b3_ci_calibration",
                                     description=__doc__.splitlines()[0])
    add_job_arguments(parser, settings=list(SETTINGS), threads=1)
    args = parser.parse_args(argv)
    jobs = plan({s: args.seed or seeds for s, seeds in SETTINGS.items()}, ("gain",))
    execute(args, PartRunner("b3_ci_calibration", work, threads=args.threads, info={"device": "cpu"}),
            jobs, merge)


if __name__ == "__main__":
    main()
