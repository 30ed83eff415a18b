"""Which lever brings DDTL's code spread to the random reference (issue 12).

Stage-1 fits (the network, as ``DDTLHasher`` trains it) are cached under
``benchmarks/results/parts/`` so that several second stages (the tree head
refitted alone on frozen features of augmented views) can be compared on
the same network. Every row reports, for the training codes, entropy,
unique share, mean collisions, bits per tree level and path bits per class
beside the random reference (:func:`sklproxy.metrics.hash_spread`), test
accuracy and code-order mAP of the test queries against the training codes.

    python benchmarks/b1_spread_probe.py --setting fmnist --seeds 0 1
    python benchmarks/b1_spread_probe.py --setting digits --seeds 0 1 2

Settings: ``fmnist``: the B1 CPU reference setting (Fashion-MNIST, 1500
training images per class, stratified; the 10k test images; 4 + 12 bits;
MLP). ``digits``: scikit-learn's 8x8 digits as images, 70/30 stratified
split, 4 + 8 bits, estimator defaults. Results: ``results/b1_spread_probe_<setting>.json``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import pickle
import time

import numpy as np
import torch
from _common import PARTS, RESULTS, load_fmnist, run_info

from sklproxy.hashing import DDTLHasher
from sklproxy.hashing._net import set_median_splits
from sklproxy.metrics import hash_retention, hash_spread, mean_average_precision
from sklproxy.utils import TensorPairDataset


class SoftReachHasher(DDTLHasher):
    """The split-balance term with soft reach (as shipped before issue 12)."""

    _balance_reach = "soft"


def fmnist_subset(per_class: int, seed: int = 0):
    """A stratified Fashion-MNIST training subset (``per_class`` images per class, drawn
    with ``seed``) and the 10k test images, float32 in [0, 1], shape (n, 1, 28, 28)."""
    Xtr, ytr, Xte, yte = load_fmnist()
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(ytr == c), per_class, replace=False)
                                   for c in range(10)]))
    return Xtr[keep], ytr[keep], Xte, yte


def load(setting: str):
    if setting == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X = X.astype(np.float32).reshape(-1, 8, 8)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        return (Xtr, ytr, Xte, yte), dict(n_path_bits=8), 100
    return fmnist_subset(1500), dict(n_path_bits=12, backbone="mlp", max_epochs=10), 1000


def stage1(cls, params: dict, data, tag: str):
    """The fitted hasher for ``params`` (cached on disk by its parameters)."""
    keyed = {k: v for k, v in params.items() if k != "median_splits"}  # (added later; always off)
    key = hashlib.sha1(repr((cls.__name__, sorted(keyed.items()), tag)).encode()).hexdigest()[:12]
    path = PARTS / f"b1_probe_stage1_{key}.pkl"
    if path.exists():
        hasher = pickle.loads(path.read_bytes())
        # cached before later plumbing (progress stages, lean pickles) existed;
        # the training code the cached networks ran is the current one
        for key, value in (("pickle_optimizer", False), ("stage", None), ("max_loss_rise", 2.0)):
            hasher.net_.__dict__.setdefault(key, value)
        module = hasher.net_.module_
        if not hasattr(module, "group_by_class"):  # cached before split offsets existed
            module.group_by_class = True
            module.tree.register_buffer("offsets", None)
            for key, value in DDTLHasher(median_splits=False).get_params().items():
                hasher.__dict__.setdefault(key, value)
        return hasher, None
    Xtr, ytr = data[0], data[1]
    start = time.perf_counter()
    hasher = cls(**params).fit(Xtr, ytr)
    seconds = time.perf_counter() - start
    PARTS.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(hasher))
    return hasher, seconds


def refit(hasher: DDTLHasher, data, seed: int, **params):
    """A copy of ``hasher`` whose tree head is refitted alone (the second stage)."""
    h = copy.deepcopy(hasher).set_params(**params)
    Xtr, ytr = data[0], data[1]
    X = torch.from_numpy(h._validate_fitted_input(Xtr))
    y = torch.from_numpy(np.searchsorted(h.classes_, ytr))
    start = time.perf_counter()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        h._refit_tree(TensorPairDataset(X, y), seed)
    return h, time.perf_counter() - start


def calibrated(hasher: DDTLHasher, data):
    """A copy of ``hasher`` with per-class median split offsets on the training set."""
    h = copy.deepcopy(hasher)
    X = torch.from_numpy(h._validate_fitted_input(data[0]))
    start = time.perf_counter()
    set_median_splits(h.net_, X)
    return h, time.perf_counter() - start


def view_retention(h: DDTLHasher, X, seed: int = 0) -> dict:
    """Share of items whose code (all bits; class bits + half the path) is unchanged when
    the item is replaced by one random training view of it (the fit's augmentation)."""
    Xv = torch.from_numpy(h._validate_fitted_input(X))
    gen = torch.Generator().manual_seed(seed)
    views = torch.cat([h.net_.augmented(Xv[i:i + 512], gen) for i in range(0, len(Xv), 512)])
    clean, moved = h.transform(Xv.numpy()), h.transform(views.numpy())
    half = h.n_class_bits_ + h.n_path_bits // 2
    retained = hash_retention(clean, moved, [h.n_class_bits_, half, h.n_bits_])
    return {"retention_class_bits": float(retained[0]), "retention_half_path": float(retained[1]),
            "retention_all_bits": float(retained[2])}


def measure(name: str, h: DDTLHasher, data, k: int, seconds) -> dict:
    Xtr, ytr, Xte, yte = data
    db, q = h.transform(Xtr), h.transform(Xte)
    spread = hash_spread(db, ytr, n_class_bits=h.n_class_bits_)
    test = hash_spread(q, yte, n_class_bits=h.n_class_bits_)
    row = {"variant": name, "fit_seconds": seconds,
           "test_accuracy": float((h.predict(Xte) == yte).mean()),
           f"map@{k}_code": mean_average_precision(q, db, yte, ytr, k=k, ranking="code"),
           **spread.as_dict(), **{f"test_{key}": v for key, v in test.as_dict().items()},
           **view_retention(h, Xte)}
    print(f"{name:44s} acc {row['test_accuracy']:.3f} mAP {row[f'map@{k}_code']:.3f} "
          f"H {spread.codes.entropy:.2f}/{spread.reference.entropy:.2f} "
          f"uniq {100 * spread.codes.unique_ratio:.1f}/{100 * spread.reference.unique_ratio:.1f} "
          f"coll {spread.codes.mean_collisions:.2f}/{spread.reference.mean_collisions:.2f} "
          f"test H {test.codes.entropy:.2f}/{test.reference.entropy:.2f} "
          f"kept {row['retention_half_path']:.2f}/{row['retention_all_bits']:.2f} "
          f"levels {np.round(spread.codes.level_bits, 2).tolist()}", flush=True)
    return row


# (name, class, stage-1 overrides, [(second-stage name, overrides) ...])
VARIANTS = {
    "lead": [
        ("gamma=0", DDTLHasher, dict(gamma=0.0), []),
        ("gamma=3 soft reach", SoftReachHasher, dict(gamma=3.0), []),
        ("gamma=3 greedy reach", DDTLHasher, dict(gamma=3.0),
         [("+ tree refit 10 ep x 8 views", dict(refit_tree_epochs=10, refit_tree_views=8))]),
    ],
    "stage2": [
        ("gamma=3 greedy reach", DDTLHasher, dict(gamma=3.0),
         [("+ per-class median offsets", "calibrate"),
          ("+ tree refit 10 ep x 8 views, batch 2048",
           dict(refit_tree_epochs=10, refit_tree_views=8, batch_size=2048)),
          ("+ tree refit 30 ep x 8 views", dict(refit_tree_epochs=30, refit_tree_views=8))]),
        ("gamma=0", DDTLHasher, dict(gamma=0.0),
         [("+ per-class median offsets", "calibrate")]),
    ],
    # which default: the published loss, the shipped loss, the lead (balance with
    # greedy reach + the tree head refitted), each without and with median splits
    "decide": [
        ("published (gamma=0, tau=1)", DDTLHasher, dict(gamma=0.0, temperature=1.0),
         [("+ median splits", "calibrate")]),
        ("gamma=0, tau=0.1", DDTLHasher, dict(gamma=0.0),
         [("+ median splits", "calibrate")]),
        ("gamma=3 greedy reach", DDTLHasher, dict(gamma=3.0),
         [("+ median splits", "calibrate"),
          ("+ tree refit 10 ep x 8 views", dict(refit_tree_epochs=10, refit_tree_views=8)),
          ("+ tree refit 10 ep x 8 views + median splits",
           dict(refit_tree_epochs=10, refit_tree_views=8, median_splits=True))]),
    ],
    # the defaults chosen (tau=0.1, gamma=0, median splits): the CI tests' thresholds
    "defaults": [
        ("gamma=0, tau=0.1", DDTLHasher, dict(gamma=0.0), [("+ median splits", "calibrate")]),
        ("gamma=3 greedy reach", DDTLHasher, dict(gamma=3.0), []),
    ],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=("digits", "fmnist"), default="digits")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--variants", default="lead", choices=sorted(VARIANTS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data, base, k = load(args.setting)
    out_path = RESULTS / f"b1_spread_probe_{args.setting}.json"
    result = json.loads(out_path.read_text()) if out_path.exists() else {"rows": []}
    result["info"] = run_info(args.seeds[0], "cpu", False)
    result["info"].update(n_train=len(data[0]), n_test=len(data[2]), base_params=str(base))
    for seed in args.seeds:
        for name, cls, over, seconds_stage in VARIANTS[args.variants]:
            # stage 1 without median splits: they are a separate second step here
            params = {**base, "median_splits": False, **over, "device": "cpu", "random_state": seed}
            h, t = stage1(cls, params, data, args.setting)
            rows = [measure(f"{name} (seed {seed})", h, data, k, t)]
            for stage_name, stage_over in seconds_stage:
                if stage_over == "calibrate":
                    h2, t2 = calibrated(h, data)
                elif "median_splits" in stage_over:  # refit, then calibrate
                    over = {key: v for key, v in stage_over.items() if key != "median_splits"}
                    h2, t2 = refit(h, data, seed, **over)
                    h2, t3 = calibrated(h2, data)
                    t2 += t3
                else:
                    h2, t2 = refit(h, data, seed, **stage_over)
                rows.append(measure(f"{name} {stage_name} (seed {seed})", h2, data, k, t2))
            for row in rows:
                row.update(seed=seed, variant_set=args.variants, commit=result["info"]["commit"])
                result["rows"] = [r for r in result["rows"] if r["variant"] != row["variant"]]
                result["rows"].append(row)
            RESULTS.mkdir(exist_ok=True)
            out_path.write_text(json.dumps(result, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
