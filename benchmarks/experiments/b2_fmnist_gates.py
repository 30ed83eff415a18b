"""B2 gate on 28x28 Fashion-MNIST: which partition do DHOG's views reward most?

Every DHOG head maximises the mutual information between its clusters of
two views of the same image, so a head can only be pushed towards the labels
if the label partition scores *higher* under the views than the easy
partitions the first heads find (the thesis's mechanism: the easy solution
must score lower than the better one). This cheap gate (no network training,
a minute per policy) scores fixed partitions of views of the ``fmnist-20k-28``
training images, for the default grey views and stronger photometric ones:

* labels: a logistic regression on the view's pixels, trained on views of
  5000 training images (its errors only lower the figure: a lower bound);
* k-means: 10 pixel centroids of the clean training images, nearest centroid;
* brightness: deciles of the view's mean pixel;
* size: deciles of the fraction of the view's pixels above 0.2 (B2's ``image_measures``);
* brightness x size: the 10 clusters of k-means on those two figures.

For each: MI (nats) between the partition of view a and of view b of 5000
other training images, and the partition's entropy (its ceiling).

    python -m benchmarks.experiments.b2_fmnist_gates      # about 3 minutes on one core

Writes ``benchmarks/results/b2_fmnist_gates.json`` and ``.md``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score

from sklproxy.nn import dhog_augment

from .._data import clustering_setting
from .._report import markdown_table
from .._runner import run_info, write_results
from ..b2.run import image_measures

#: photometric magnitude of the views (0.22: the grey policy's default)
MAGNITUDES = (0.22, 0.6, 1.0)
N_DECODER, N_SCORE = 5000, 5000


def entropy(labels: np.ndarray) -> float:
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def deciles(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, values)


class Partitions:
    """The fixed partitions of the gate, fitted on clean training images and views."""

    def __init__(self, X_clean: np.ndarray, views: np.ndarray, y_views: np.ndarray, seed: int):
        flat = X_clean.reshape(len(X_clean), -1)
        self.kmeans = KMeans(10, n_init=4, random_state=seed).fit(flat)
        self.b_edges = np.quantile(self.brightness(X_clean), np.linspace(0.1, 0.9, 9))
        self.s_edges = np.quantile(self.size(X_clean), np.linspace(0.1, 0.9, 9))
        stats = np.c_[self.brightness(X_clean), self.size(X_clean)]
        self.stat_scale = stats.std(axis=0)
        self.stats_km = KMeans(10, n_init=4, random_state=seed).fit(stats / self.stat_scale)
        self.decoder = LogisticRegression(max_iter=300, C=0.1).fit(
            views.reshape(len(views), -1), y_views)

    @staticmethod
    def brightness(X: np.ndarray) -> np.ndarray:
        return image_measures(X, (0.0, 1.0))["brightness"]

    @staticmethod
    def size(X: np.ndarray) -> np.ndarray:
        return image_measures(X, (0.0, 1.0))["size"]

    def __call__(self, X: np.ndarray) -> dict[str, np.ndarray]:
        flat = X.reshape(len(X), -1)
        stats = np.c_[self.brightness(X), self.size(X)] / self.stat_scale
        return {"labels (decoder)": self.decoder.predict(flat),
                "k-means on pixels": self.kmeans.predict(flat),
                "brightness deciles": deciles(self.brightness(X), self.b_edges),
                "size deciles": deciles(self.size(X), self.s_edges),
                "brightness x size (k-means)": self.stats_km.predict(stats)}


def views_of(policy, X: np.ndarray, seed: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return torch.cat([policy(chunk, gen) for chunk in torch.from_numpy(X).split(1000)]).numpy()


def gate(magnitude: float, data: dict, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(data["X_train"]))
    dec, score = idx[:N_DECODER], idx[N_DECODER:N_DECODER + N_SCORE]
    X = data["X_train"]
    policy = dhog_augment(torch.from_numpy(X), magnitude=magnitude)
    parts = Partitions(X[dec], views_of(policy, X[dec], seed), data["y_train"][dec], seed)
    a = parts(views_of(policy, X[score], seed + 1))
    b = parts(views_of(policy, X[score], seed + 2))
    clean = parts(X[score])
    y = data["y_train"][score]
    out = {}
    for name in a:
        out[name] = {"mi_between_views": float(mutual_info_score(a[name], b[name])),
                     "entropy": entropy(a[name]),
                     "mi_with_labels_clean": float(mutual_info_score(y, clean[name]))}
    out["labels (decoder)"]["view_accuracy"] = float(np.mean(a["labels (decoder)"] == y))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b2_fmnist_gates",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--magnitude", type=float, nargs="+", default=list(MAGNITUDES))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = clustering_setting("fmnist-20k-28")
    results = {}
    for m in args.magnitude:
        results[str(m)] = gate(m, data)
        print(m, {k: round(v["mi_between_views"], 3) for k, v in results[str(m)].items()},
              flush=True)
    names = list(next(iter(results.values())))
    rows = [[name, *[f"{results[str(m)][name]['mi_between_views']:.3f} / "
                     f"{results[str(m)][name]['entropy']:.2f}" for m in args.magnitude]]
            for name in names]
    acc = " / ".join(f"{results[str(m)]['labels (decoder)']['view_accuracy']:.3f}"
                     for m in args.magnitude)
    table = ("# B2 gate: MI between two views of fixed partitions (fmnist-20k-28)\n\n"
             "Nats, on 5000 training images (MI between views / entropy of the partition). "
             f"The label decoder's accuracy on one view: {acc}. "
             "`python -m benchmarks.experiments.b2_fmnist_gates`.\n\n"
             + markdown_table(["partition", *[f"magnitude {m}" for m in args.magnitude]], rows)
             + "\n")
    write_results("b2_fmnist_gates", {"info": run_info("cpu"), "results": results}, table, indent=1)


if __name__ == "__main__":
    main()
