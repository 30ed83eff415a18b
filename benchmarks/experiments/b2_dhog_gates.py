"""B2 gates for DHOG's views: do they disturb the nuisance and keep the digit?

IIC (and so every DHOG head) settles on the grouping whose labels two views
agree on most. This cheap gate (seconds per policy, no network) measures that
agreement for each candidate view policy on 8x8 digits with a background
colour drawn independently of the digit
(``make_colour_biased(test_mode="independent")``):

* colour MI: mutual information (nats) between the colour decoded from view
  a and from view b of the same test image; the decoder is an RBF SVM on the
  view's mean RGB and its sorted mean RGB (so that it can also read what a
  channel shuffle keeps), trained on views of the training set.
* digit MI: the same for the digit, decoded by an RBF SVM on the view's
  grey-level pixels (trained on views of the training set), plus the
  decoder's accuracy on single views.

A policy is a candidate only if the colour MI falls well below the digit MI:
with mild views colour is the objective's global optimum (ln 10 = 2.30 nats)
and no push can help (methods page, DHOG).

    python -m benchmarks.experiments.b2_dhog_gates     # about a minute on one core

Jobs: (``digits-colour``, policy, seed 0). Writes
``benchmarks/results/b2_dhog_gates.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import re

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import mutual_info_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklproxy.datasets import make_colour_biased
from sklproxy.nn.augment import (
    AUTOAUGMENT_OPERATIONS,
    ImageAugment,
    ViewPolicy,
    colour_policy,
    grey_policy,
)

from .._report import markdown_table
from .._runner import Job, PartRunner, add_job_arguments, execute, plan, run_info, write_results


def coloured_digits(seed: int = 0):
    """8x8 digits, background colour independent of the digit; 70/30 split."""
    X, y = load_digits(return_X_y=True)
    Xc, colour = make_colour_biased(X.reshape(-1, 8, 8), y, kind="background",
                                    test_mode="independent", random_state=seed)
    return train_test_split(Xc, y, colour, test_size=0.3, random_state=seed, stratify=y)


def policies() -> dict:
    rng = (0.0, 1.0)
    colour = lambda **kw: ViewPolicy(**colour_policy(**kw), value_range=rng)  # noqa: E731
    return {
        "mild (ImageAugment default)": ImageAugment(),
        "mild + grey 0.5": ImageAugment(grayscale=0.5),
        "grey policy (no colour scrambling)": ViewPolicy(**grey_policy(), value_range=rng),
        "colour policy (default: channel order + grey 0.5)": colour(),
        "colour policy + any hue": colour(hue=0.5),
        "colour policy without grey": colour(grayscale=0.0),
        "colour policy + AutoAugment operations": colour(operations=AUTOAUGMENT_OPERATIONS),
        "colour policy + any hue + AutoAugment operations": colour(
            hue=0.5, operations=AUTOAUGMENT_OPERATIONS),
    }


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


POLICY_NAMES = {slug(name): name for name in policies()}


def views(aug, X: np.ndarray, seed: int) -> np.ndarray:
    return aug(torch.from_numpy(X), torch.Generator().manual_seed(seed)).numpy()


def decoders(V: np.ndarray):
    """(colour features, digit features) of views ``(n, 3, 8, 8)``."""
    rgb = V.mean(axis=(2, 3))                                               # (n, 3)
    rgb = np.concatenate([rgb, np.sort(rgb, axis=1)], axis=1)              # (n, 6)
    grey = (0.299 * V[:, 0] + 0.587 * V[:, 1] + 0.114 * V[:, 2]).reshape(len(V), -1)
    return rgb, grey


def gate(aug, data, seed: int = 0) -> dict:
    X_tr, X_te, y_tr, y_te, c_tr, c_te = data
    # decoders trained on 3 views of the training images
    V = np.concatenate([views(aug, X_tr, seed + k) for k in range(3)])
    rgb, grey = decoders(V)
    col = make_pipeline(StandardScaler(), SVC()).fit(rgb, np.tile(c_tr, 3))
    dig = make_pipeline(StandardScaler(), SVC()).fit(grey, np.tile(y_tr, 3))
    a, b = (decoders(views(aug, X_te, 100 + seed + k)) for k in range(2))
    ca, cb = col.predict(a[0]), col.predict(b[0])
    da, db = dig.predict(a[1]), dig.predict(b[1])
    return {
        "colour_mi_between_views": float(mutual_info_score(ca, cb)),
        "colour_accuracy_single_view": float(np.mean(ca == c_te)),
        "digit_mi_between_views": float(mutual_info_score(da, db)),
        "digit_accuracy_single_view": float(np.mean(da == y_te)),
    }


def work(job: Job, save) -> dict:
    """The gate of one view policy (the data's split seed is 0; ``job.seed`` draws the views)."""
    result = gate(policies()[POLICY_NAMES[job.part]], coloured_digits(0), job.seed)
    print(POLICY_NAMES[job.part], result, flush=True)
    return result


def merge(records: list[dict]) -> None:
    out = {POLICY_NAMES[r["part"]]: r["result"] for r in records}
    rows = [[name, r["colour_mi_between_views"], r["colour_accuracy_single_view"],
             r["digit_mi_between_views"], r["digit_accuracy_single_view"]] for name, r in out.items()]
    table = ("# B2 gate: do the views disturb the colour and keep the digit?\n\n"
             "8x8 digits, background colour independent of the digit, 1257 train / 540 test, "
             "seed 0. MI in nats between the labels decoded from two views of the same test "
             "image (ln 10 = 2.303 is perfect agreement on 10 balanced groups); decoders are "
             "RBF SVMs trained on views (colour: mean and sorted mean RGB; digit: grey pixels).\n\n"
             + markdown_table(["views", "colour MI (views)", "colour acc (1 view)",
                               "digit MI (views)", "digit acc (1 view)"], rows))
    result = {**run_info("cpu"), **{k: records[0]["info"][k] for k in ("commit", "threads", "date")},
              "seed": records[0]["seed"], "wall_seconds": sum(r["wall_seconds"] for r in records),
              "gates": out}
    write_results("b2_dhog_gates", result, table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b2_dhog_gates",
                                     description=__doc__.splitlines()[0])
    add_job_arguments(parser, parts=list(POLICY_NAMES), threads=1)
    args = parser.parse_args(argv)
    jobs = plan({"digits-colour": args.seed[:1] if args.seed else [0]}, list(POLICY_NAMES))
    execute(args, PartRunner("b2_dhog_gates", work, threads=args.threads, info={"device": "cpu"}),
            jobs, merge)


if __name__ == "__main__":
    main()
