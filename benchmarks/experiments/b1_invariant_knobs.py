"""``splits="invariant"`` on 8x8 digits: its two knobs, and the CI test's thresholds (issue 19).

Per seed, one network at the defaults fitted on the 10 digits and one on the
5 digit pairs (0-1, 2-3, ...: coarse classes for coarse-to-fine; digits have
no published super-classes), both 4 + 8 bits (3 + 8 for the pairs), 70/30
stratified split. On the same two networks: the learned splits, median
splits along the learned directions (``splits="median"``), and the
view-invariant trees for views per item in {8, 16, 32} and covariance
shrinkage in {0, 0.1, 0.3, 0.6, 1} (1 is plain PCA on the features: no
whitening), cells of fewer than 4 items keeping the learned direction, and the
default without that fallback (``min_items=0``: every cell its own principal
direction, which on 2-3 items is their difference).
Figures: training-code entropy, kept under one training view at class + 4
and + 6 path bits, kept under jitter 0.2 / occlusion 0.2 / noise 0.05 at
class + 6, coarse-to-fine 10-NN fine accuracy, code-order mAP@100.

    python -m benchmarks.experiments.b1_invariant_knobs --seed 0 1 2 3 4

Results: ``results/b1_invariant_knobs.{json,md}``.
"""

from __future__ import annotations

import argparse
import copy
from functools import partial

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import sklproxy.hashing._net as hashing_net
from sklproxy.hashing import DDTLHasher
from sklproxy.hashing._net import set_median_splits
from sklproxy.metrics import (
    coarse_to_fine_accuracy,
    hash_entropy,
    hash_retention,
    hash_retention_curves,
    mean_average_precision,
)
from sklproxy.nn import tree as tree_module
from sklproxy.utils import seed_from_random_state

from .._report import markdown_table, mean_sd
from .._runner import git_commit, write_results

#: (views per item, shrinkage, min_items: cells of fewer items keep the learned direction)
KNOBS = [(8, 0.1, 0)] + [(views, shrink, 4) for views in (8, 16, 32)
                         for shrink in (0.0, 0.1, 0.3, 0.6, 1.0)]
DEFAULT = (8, 0.1, 4)


def data():
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32).reshape(-1, 8, 8)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def with_splits(h, X, rule):
    """A copy of ``h`` (fitted with ``splits="learned"``) with ``rule``'s splits."""
    m = copy.deepcopy(h)
    Xt = torch.from_numpy(m._validate_fitted_input(X))
    if rule == "median":
        set_median_splits(m.net_, Xt)
    elif rule != "learned":
        views, shrink, min_items = rule
        original = tree_module.invariant_split_weights
        saved = (hashing_net.INVARIANT_VIEWS, hashing_net.INVARIANT_MIN_ITEMS,
                 hashing_net.invariant_split_weights)
        hashing_net.INVARIANT_VIEWS, hashing_net.INVARIANT_MIN_ITEMS = views, min_items
        hashing_net.invariant_split_weights = partial(original, shrinkage=shrink)
        try:
            hashing_net.set_invariant_splits(m.net_, Xt, seed_from_random_state(m.random_state) + 3)
        finally:
            (hashing_net.INVARIANT_VIEWS, hashing_net.INVARIANT_MIN_ITEMS,
             hashing_net.invariant_split_weights) = saved
    return m


def measure(h, hc, split, seed):
    Xtr, Xte, ytr, yte = split
    db, q = h.transform(Xtr), h.transform(Xte)
    Xv = torch.from_numpy(h._validate_fitted_input(Xte))
    views = h.net_.augmented(Xv, torch.Generator().manual_seed(seed)).numpy()
    c = h.n_class_bits_
    kept = hash_retention(q, h.transform(views), [c + 4, c + 6])
    curves = hash_retention_curves(h.transform, Xte, prefix_lengths=[c + 6], random_state=seed)
    c2f = coarse_to_fine_accuracy(hc.transform(Xtr), ytr, hc.transform(Xte), yte)
    return {"entropy_bits": hash_entropy(db), "test_entropy_bits": hash_entropy(q),
            "kept_view_4": float(kept[0]),
            "kept_view_6": float(kept[1]),
            **{f"kept_{kind}_{s:g}": float(curves[kind][s][0])
               for kind, s in (("jitter", 0.2), ("occlusion", 0.2), ("noise", 0.05))},
            "c2f_knn": c2f.knn_accuracy,
            "map@100_code": mean_average_precision(q, db, yte, ytr, k=100, ranking="code")}


def name_of(rule):
    if isinstance(rule, str):
        return {"learned": "learned splits", "median": 'median splits (splits="median")'}[rule]
    views, shrink, min_items = rule
    tag = " (the default)" if rule == DEFAULT else " (plain PCA)" if shrink == 1.0 else ""
    return f"invariant, {views} views, shrinkage {shrink:g}, min_items {min_items}{tag}"


COLUMNS = ["entropy_bits", "test_entropy_bits", "kept_view_4", "kept_view_6", "kept_jitter_0.2", "kept_occlusion_0.2",
           "kept_noise_0.05", "c2f_knn", "map@100_code"]


def markdown(result) -> str:
    rows = result["rows"]
    lines = []
    for name in dict.fromkeys(r["name"] for r in rows):
        mine = [r for r in rows if r["name"] == name]
        cells = []
        for key in COLUMNS:
            m, s = mean_sd([r[key] for r in mine])
            cells.append(f"{m:.3f} ± {s:.3f} ({min(r[key] for r in mine):.3f}-"
                         f"{max(r[key] for r in mine):.3f})")
        lines.append([name, *cells])
    header = ["splits", "train entropy (ref 9.85)", "test entropy (ref 8.88)", "kept, view, c+4", "kept, view, c+6",
              "kept, jitter 0.2", "kept, occlusion 0.2", "kept, noise 0.05",
              "coarse-to-fine 10-NN", "mAP@100 code"]
    return (f"### `splits=\"invariant\"` knobs on 8x8 digits, seeds {result['seeds']}, "
            f"commit {result['commit'][:8]}\n\n"
            + markdown_table(header, lines, floats=None)
            + "\nMean ± sd (min-max) over seeds; every row of a seed on the same two networks "
              "(10 digits; 5 digit pairs for coarse-to-fine). "
              "`python -m benchmarks.experiments.b1_invariant_knobs`.\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b1_invariant_knobs",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    split = Xtr, Xte, ytr, yte = data()
    rows = []
    for seed in args.seed:
        params = dict(n_path_bits=8, splits="learned", device="cpu", random_state=seed)
        h = DDTLHasher(**params).fit(Xtr, ytr)
        hc = DDTLHasher(**params).fit(Xtr, ytr // 2)
        for rule in ["learned", "median", *KNOBS]:
            row = {"seed": seed, "name": name_of(rule),
                   **measure(with_splits(h, Xtr, rule), with_splits(hc, Xtr, rule), split, seed)}
            print(row, flush=True)
            rows.append(row)
    result = {"seeds": args.seed, "commit": git_commit(), "rows": rows}
    write_results("b1_invariant_knobs", result, markdown(result))


if __name__ == "__main__":
    main()
