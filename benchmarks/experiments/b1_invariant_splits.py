"""Split directions chosen for view invariance, at median thresholds (issue 19).

Median splits give the reference's spread but move the splits through dense
regions of directions learned for other thresholds. A split is stable when
the items it separates differ along its direction by much more than one
item's views do. For each predicted class ``c`` this experiment whitens the
frozen backbone features by the class's *view* covariance (differences
between an item's cached augmented views and the item itself, shrunk towards
its trace), and then builds a median-split tree top-down: at every node,
the direction is the first principal component of the whitened features of
the class's items that reach it (the direction of largest spread per unit of
view noise: a generalised eigenvector), the threshold their median. Rows, on
the same stage-1 network per seed:

* the network's own splits, and its splits moved to the medians (today's
  default);
* ``PCA on features``: the same tree without whitening (CrPCA's rule on the
  learned features instead of pixels);
* ``view-whitened PCA``: the rule above.

Each is fitted twice: on the 10 classes (spread, mAP, accuracy, kept under one
training view and under jitter / occlusion / noise, all at class + 6 path
bits as B1, and the entropy-retention frontier) and on the 5 super-classes
(coarse-to-fine: fine accuracy of the 10 nearest training codes in code
order and of the leaf at class + 6 path bits).

    python -m benchmarks.experiments.b1_invariant_splits --setting fmnist --seed 0 1 2
    python -m benchmarks.experiments.b1_invariant_splits --setting digits --seed 0 1 2

Results: ``results/b1_invariant_splits.jsonl`` (one line per row and seed).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from sklproxy.datasets import fashion_mnist_superclasses
from sklproxy.hashing._net import cache_view_features
from sklproxy.metrics import (
    coarse_to_fine_accuracy,
    hash_retention_curves,
    hash_spread,
    mean_average_precision,
)

from .._runner import RESULTS, git_commit
from ..b1.run import with_median_splits
from .b1_balanced_refit import frontier
from .b1_spread_probe import learned, load, stage1

OUT = RESULTS / "b1_invariant_splits.jsonl"
VIEWS = 8
SHRINK = 0.1


class FeatureTree:
    """Median-split trees over (optionally view-whitened) backbone features.

    ``shared=False``: one tree per predicted class (its own whitening and
    directions). ``shared=True``: one direction per node for every class
    (the pooled view covariance; the node's items of every class, each class
    centred on its own mean at the node), thresholds still per class: the
    form :class:`~sklproxy.nn.tree.DecisionTreeLayer` stores (one weight row
    per node, per-class offsets).
    """

    def __init__(self, hasher, X: np.ndarray, seed: int, whiten: bool, shared: bool = False):
        self.hasher = hasher
        module = hasher.net_.module_
        Xt = torch.from_numpy(hasher._validate_fitted_input(X))
        feats = cache_view_features(hasher.net_, Xt, VIEWS, seed + 1).double()  # (n, V, F)
        with torch.no_grad():
            groups = module.class_head(feats[:, 0].float()).argmax(dim=1)
        depth = hasher.n_path_bits
        n_groups = module.class_head.out_features
        n_nodes, width = 2**depth - 1, feats.shape[2]
        self.depth = depth
        self.weight = torch.zeros(n_groups, n_nodes, width, dtype=torch.float64)
        self.bias = torch.zeros(n_groups, n_nodes, dtype=torch.float64)
        sets = [groups.unique()] if shared else [torch.tensor([c]) for c in groups.unique().tolist()]
        for classes in sets:
            take = torch.isin(groups, classes)
            mine, g = feats[take], groups[take]
            base = mine[:, 0]
            if whiten:
                diff = (mine[:, 1:] - mine[:, :1]).reshape(-1, width)
                cov = diff.T @ diff / len(diff)
                cov = (1 - SHRINK) * cov + SHRINK * cov.trace() / width * torch.eye(
                    width, dtype=cov.dtype)
                vals, vecs = torch.linalg.eigh(cov)
                W = vecs @ torch.diag(vals.clamp_min(1e-12).rsqrt()) @ vecs.T  # (F, F)
            else:
                W = torch.eye(width, dtype=base.dtype)
            Z = base @ W
            node = torch.zeros(len(Z), dtype=torch.long)
            for _ in range(depth):
                for i in node.unique().tolist():
                    at = node == i
                    Zi, gi = Z[at], g[at]
                    # each class centred on its own mean at the node
                    centred = Zi.clone()
                    for c in gi.unique():
                        centred[gi == c] -= Zi[gi == c].mean(dim=0)
                    if len(Zi) >= 2 and centred.abs().max() > 0:
                        v = torch.linalg.svd(centred, full_matrices=False)[2][0]
                        v = v * torch.sign(v[v.abs().argmax()])
                    else:
                        v = torch.zeros(width, dtype=Z.dtype)
                        v[0] = 1.0
                    for c in gi.unique().tolist():
                        p = Zi[gi == c] @ v
                        srt = p.sort().values
                        thr = srt[len(p) // 2] if len(p) % 2 else srt[len(p) // 2 - 1:
                                                                     len(p) // 2 + 1].mean()
                        self.weight[c, i] = W @ v            # u = x W v - thr
                        self.bias[c, i] = -thr
                u = torch.einsum("nf,nf->n", base, self.weight[g, node]) + self.bias[g, node]
                node = 2 * node + 1 + (u > 0).long()

    def transform(self, X: np.ndarray) -> np.ndarray:
        h = self.hasher
        module = h.net_.module_
        module.eval()
        Xt = torch.from_numpy(h._validate_fitted_input(X))
        out = []
        with torch.no_grad():
            for i in range(0, len(Xt), 1024):
                f = module.features(Xt[i:i + 1024]).double()
                logits = module.class_head(f.float())
                c = logits.argmax(dim=1)
                shifts = torch.arange(h.n_class_bits_ - 1, -1, -1)
                bits = [((c[:, None] >> shifts) & 1)]
                node = torch.zeros(len(f), dtype=torch.long)
                path = []
                for _ in range(self.depth):
                    u = torch.einsum("nf,nf->n", f, self.weight[c, node]) + self.bias[c, node]
                    b = (u > 0).long()
                    path.append(b)
                    node = 2 * node + 1 + b
                bits.append(torch.stack(path, dim=1))
                out.append(torch.cat(bits, dim=1).to(torch.uint8))
        return torch.cat(out).numpy()


class Tree:
    """A fitted hasher seen through another transform (for :func:`frontier`)."""

    def __init__(self, hasher, transform):
        self.net_, self.transform = hasher.net_, transform
        self.n_class_bits_, self.n_bits_ = hasher.n_class_bits_, hasher.n_bits_
        self._validate_fitted_input = hasher._validate_fitted_input


def rules(h, X, seed):
    """name -> transform of each split rule on hasher ``h``'s network."""
    m = with_median_splits(h, X)
    return {"learned splits": h.transform, "median splits (today's default)": m.transform,
            "PCA on features, median": FeatureTree(h, X, seed, whiten=False).transform,
            "view-whitened PCA, median": FeatureTree(h, X, seed, whiten=True).transform,
            "view-whitened PCA shared by the classes, median": FeatureTree(
                h, X, seed, whiten=True, shared=True).transform}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b1_invariant_splits",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=("digits", "fmnist"), default="digits")
    parser.add_argument("--seed", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data, base, k = load(args.setting)
    Xtr, ytr, Xte, yte = data
    # digits have no published super-classes: pairs of digits (0-1, 2-3, ...) stand in
    coarse = fashion_mnist_superclasses if args.setting == "fmnist" else (lambda y: y // 2)
    commit = git_commit()
    for seed in args.seed:
        params = {**base, "splits": learned(), "device": "cpu", "random_state": seed}
        h, _ = stage1(params, data, args.setting)
        hc, _ = stage1(params, (Xtr, coarse(ytr), Xte, coarse(yte)), args.setting + "-coarse")
        fine_rules, coarse_rules = rules(h, Xtr, seed), rules(hc, Xtr, seed)
        c = h.n_class_bits_
        for name, transform in fine_rules.items():
            start = time.perf_counter()
            db, q = transform(Xtr), transform(Xte)
            spread = hash_spread(db, ytr, n_class_bits=c)
            row = {"setting": args.setting, "seed": seed, "name": name, "commit": commit,
                   "test_accuracy": float((h.predict(Xte) == yte).mean()),
                   f"map@{k}_code": mean_average_precision(q, db, yte, ytr, k=k, ranking="code"),
                   **spread.as_dict(), **frontier(Tree(h, transform), data, seed)}
            row["kept_view_6"] = row["prefix_view_retention"][6]
            curves = hash_retention_curves(transform, Xte, prefix_lengths=[c + 6],
                                           random_state=seed)
            row.update({f"kept_{kind}_{s:g}": float(v[0]) for kind, by in curves.items()
                        for s, v in by.items()})
            dbc, qc = coarse_rules[name](Xtr), coarse_rules[name](Xte)
            c2f = coarse_to_fine_accuracy(dbc, ytr, qc, yte, n_neighbors=10)
            row.update(c2f_knn=c2f.knn_accuracy,
                       c2f_leaf_6=float(c2f.leaf_accuracy[hc.n_class_bits_ + 6]),
                       seconds=time.perf_counter() - start)
            print(f"seed {seed} {name:34s} H {spread.codes.entropy:.2f}/"
                  f"{spread.reference.entropy:.2f} uniq {100 * spread.codes.unique_ratio:.1f} "
                  f"mAP {row[f'map@{k}_code']:.3f} kept(view,c+6) {row['kept_view_6']:.2f} "
                  f"jit {row['kept_jitter_0.2']:.2f} occ {row['kept_occlusion_0.2']:.2f} "
                  f"noise {row['kept_noise_0.05']:.2f} c2f {row['c2f_knn']:.3f}/"
                  f"{row['c2f_leaf_6']:.3f}", flush=True)
            with OUT.open("a") as f:
                f.write(json.dumps(row, default=float) + "\n")


if __name__ == "__main__":
    main()
