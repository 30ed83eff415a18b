"""Which lever brings DDTL's code spread to the random reference (issue 12).

Stage-1 fits (the network, as ``DDTLHasher`` trains it, without median
splits) are cached under ``benchmarks/results/parts/`` so that several second
stages can be compared on the same network: per-class median split offsets
(``set_median_splits``), or the tree head refitted alone on frozen features
of augmented views (``SplitBalance(refit_epochs=...)``). Every row reports,
for the training codes, entropy, unique share, mean collisions, bits per
tree level and path bits per class beside the random reference
(:func:`sklproxy.metrics.hash_spread`), test accuracy and code-order mAP of
the test queries against the training codes, and the share of codes kept
under one training view.

    python -m benchmarks.experiments.b1_spread_probe --setting fmnist --seed 0 1
    python -m benchmarks.experiments.b1_spread_probe --setting digits --seed 0 1 2 --variants decide

Settings: ``fmnist``: the B1 CPU reference setting (Fashion-MNIST, 1500
training images per class, stratified; the 10k test images; 4 + 12 bits;
MLP, 10 epochs). ``digits``: scikit-learn's 8x8 digits as images, 70/30
stratified split, 4 + 8 bits, estimator defaults. Jobs: (setting, stage-1
variant, seed); each writes the rows of its variant and its second stages.
Results: ``results/b1_spread_probe_<setting>.json`` (rows of earlier runs are
kept, a rerun variant replaces its own).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import pickle
import re
import time
from functools import partial

import numpy as np
import torch

from sklproxy._training import TensorPairDataset
from sklproxy.hashing import DDTLHasher, SplitBalance
from sklproxy.hashing._net import set_median_splits
from sklproxy.hashing._options import resolve_splits
from sklproxy.metrics import hash_retention, hash_spread, mean_average_precision

from .._data import fmnist_subset
from .._runner import PARTS, RESULTS, Job, PartRunner, add_job_arguments, execute, plan, write_json


def learned(gamma: float = 0.0, reach: str = "greedy"):
    """Stage-1 splits: the loss's own (``gamma=0``), or with the split-balance term."""
    return "learned" if gamma == 0 else SplitBalance(gamma=gamma, reach=reach, median=False)


#: stage-1 name -> (stage-1 overrides, [(second-stage name, "calibrate" or refit settings) ...]);
#: refit settings: SplitBalance fields (``refit_epochs``, ``refit_views``, ``median``) and
#: ``batch_size``
REFIT = dict(refit_epochs=10, refit_views=8)
VARIANTS = {
    "lead": {
        "gamma=0": (dict(splits=learned()), []),
        "gamma=3 soft reach": (dict(splits=learned(3.0, "soft")), []),
        "gamma=3 greedy reach": (dict(splits=learned(3.0)),
                                 [("+ tree refit 10 ep x 8 views", REFIT)]),
    },
    "stage2": {
        "gamma=3 greedy reach": (dict(splits=learned(3.0)), [
            ("+ per-class median offsets", "calibrate"),
            ("+ tree refit 10 ep x 8 views, batch 2048", {**REFIT, "batch_size": 2048}),
            ("+ tree refit 30 ep x 8 views", dict(refit_epochs=30, refit_views=8))]),
        "gamma=0": (dict(splits=learned()), [("+ per-class median offsets", "calibrate")]),
    },
    # which default: the published loss, the shipped loss, the lead (balance with
    # greedy reach + the tree head refitted), each without and with median splits
    "decide": {
        "published (gamma=0, tau=1)": (dict(splits=learned(), temperature=1.0),
                                       [("+ median splits", "calibrate")]),
        "gamma=0, tau=0.1": (dict(splits=learned()), [("+ median splits", "calibrate")]),
        "gamma=3 greedy reach": (dict(splits=learned(3.0)), [
            ("+ median splits", "calibrate"),
            ("+ tree refit 10 ep x 8 views", REFIT),
            ("+ tree refit 10 ep x 8 views + median splits", {**REFIT, "median": True})]),
    },
    # the defaults chosen (tau=0.1, gamma=0, median splits): the CI tests' thresholds
    "defaults": {
        "gamma=0, tau=0.1": (dict(splits=learned()), [("+ median splits", "calibrate")]),
        "gamma=3 greedy reach": (dict(splits=learned(3.0)), []),
    },
}
SETTINGS = ("digits", "fmnist")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def load(setting: str):
    """``(data, base parameters, k of mAP@k)`` of a setting."""
    if setting == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X = X.astype(np.float32).reshape(-1, 8, 8)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        return (Xtr, ytr, Xte, yte), dict(n_path_bits=8), 100
    return fmnist_subset(1500), dict(n_path_bits=12, backbone="mlp", max_epochs=10), 1000


def stage1(params: dict, data, tag: str):
    """The fitted hasher for ``params`` (cached on disk by its parameters) and its fit seconds."""
    key = hashlib.sha1(repr((sorted((k, repr(v)) for k, v in params.items()), tag)).encode()
                       ).hexdigest()[:12]
    path = PARTS / f"b1_probe_stage1_{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes()), None
    start = time.perf_counter()
    hasher = DDTLHasher(**params).fit(data[0], data[1])
    seconds = time.perf_counter() - start
    PARTS.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(hasher))
    return hasher, seconds


def refit(hasher: DDTLHasher, data, seed: int, refit_epochs: int, refit_views: int,
          batch_size: int | None = None, median: bool = False):
    """A copy of ``hasher`` whose tree head is refitted alone (the second stage)."""
    h = copy.deepcopy(hasher)
    balance = resolve_splits(h.splits)
    h.set_params(splits=SplitBalance(gamma=balance.gamma, reach=balance.reach,
                                     refit_epochs=refit_epochs, refit_views=refit_views,
                                     median=False))
    if batch_size is not None:
        h.set_params(batch_size=batch_size)
    X = torch.from_numpy(h._validate_fitted_input(data[0]))
    y = torch.from_numpy(np.searchsorted(h.classes_, data[1]))
    start = time.perf_counter()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        h._refit_tree(TensorPairDataset(X, y), seed, resolve_splits(h.splits))
    seconds = time.perf_counter() - start
    if median:
        h, more = calibrated(h, data)
        seconds += more
    return h, seconds


def calibrated(hasher: DDTLHasher, data):
    """A copy of ``hasher`` with per-class median split offsets on the training set."""
    h = copy.deepcopy(hasher)
    X = torch.from_numpy(h._validate_fitted_input(data[0]))
    start = time.perf_counter()
    set_median_splits(h.net_, X)
    return h, time.perf_counter() - start


def view_retention(h: DDTLHasher, X, seed: int = 0) -> dict:
    """Share of items whose code (class bits; class bits + half the path; all bits) is
    unchanged when the item is replaced by one random training view of it."""
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
          f"kept {row['retention_half_path']:.2f}/{row['retention_all_bits']:.2f}", flush=True)
    return row


def work(variant_set: str, job: Job, save) -> dict:
    """One stage-1 variant and its second stages, for one setting and seed."""
    data, base, k = load(job.setting)
    names = {slug(n): n for n in VARIANTS[variant_set]}
    name = names[job.part]
    over, second = VARIANTS[variant_set][name]
    params = {**base, **over, "device": "cpu", "random_state": job.seed}
    h, t = stage1(params, data, job.setting)
    rows = [measure(f"{name} (seed {job.seed})", h, data, k, t)]
    save({"rows": rows})
    for stage_name, stage in second:
        h2, t2 = calibrated(h, data) if stage == "calibrate" else refit(h, data, job.seed, **stage)
        rows.append(measure(f"{name} {stage_name} (seed {job.seed})", h2, data, k, t2))
        save({"rows": rows})
    for row in rows:
        row.update(seed=job.seed, variant_set=variant_set)
    return {"rows": rows, "n_train": len(data[0]), "n_test": len(data[2]), "base_params": str(base)}


def merge(setting: str, records: list[dict]) -> None:
    """The new rows into ``results/b1_spread_probe_<setting>.json`` (a variant replaces its own)."""
    path = RESULTS / f"b1_spread_probe_{setting}.json"
    result = json.loads(path.read_text()) if path.exists() else {"rows": []}
    for record in records:
        for row in record["result"]["rows"]:
            row["commit"] = record["info"]["commit"]
            result["rows"] = [r for r in result["rows"] if r["variant"] != row["variant"]] + [row]
    last = records[-1]
    result["info"] = {**last["info"], "n_train": last["result"]["n_train"],
                      "n_test": last["result"]["n_test"], "base_params": last["result"]["base_params"]}
    write_json(path, result)
    print(f"wrote {path} ({len(result['rows'])} rows)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b1_spread_probe",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="lead", choices=sorted(VARIANTS))
    add_job_arguments(parser, settings=SETTINGS, threads=1)
    args = parser.parse_args(argv)
    for setting in args.setting or ["digits"]:
        jobs = plan({setting: args.seed or [0]}, [slug(n) for n in VARIANTS[args.variants]],
                    seed_major=True)
        runner = PartRunner(f"b1_spread_probe_{args.variants}", partial(work, args.variants),
                            threads=args.threads, info={"device": "cpu"})
        execute(args, runner, jobs, partial(merge, setting))


if __name__ == "__main__":
    main()
