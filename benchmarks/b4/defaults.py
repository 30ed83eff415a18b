"""B4 on the CPU: what the default fits cost, quiet and on a busy machine.

Part ``defaults`` (setting ``fmnist-5k``): each net estimator at its
defaults (``device="cpu"``, ``random_state=0``) on 5000 Fashion-MNIST training
images at 28x28, wall time beside the quality it reaches on 2000 test images
(DDTL: test accuracy and code-order mAP@1000; DHOG: held-out accuracy of
``best_head_`` beside k-means on pixels; LAD on the colour-biased subset of
B3: the spurious codes it finds). Part ``load`` (setting ``digits``): one
DHOG fit on 8x8 digits (``max_epochs=LOAD_EPOCHS``) with 1 and 2 torch
threads, on a quiet machine and beside one competing process (a 2-thread
torch matrix-product loop), and whether the 1-thread fits give the same
predictions quiet and loaded.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

import sklproxy
from sklproxy.cluster import DHOGClusterer
from sklproxy.debias import LADDebiaser
from sklproxy.hashing import DDTLHasher
from sklproxy.metrics import cluster_accuracy, mean_average_precision

from .._data import biased_setting, fmnist_random_subset
from .._runner import Job, timed

DEFAULT_PARTS = ("defaults", "load")
N_TRAIN, N_TEST = 5000, 2000
LOAD_EPOCHS = 40
#: The competing process of the ``load`` part: the machine's other job.
SPINNER = ("import torch\ntorch.set_num_threads(2)\na = torch.randn(768, 768)\n"
           "while True:\n    a = torch.tanh(a @ a)\n")


def default_fits(save) -> dict:
    """Every net estimator at its defaults on 5000 28x28 images: seconds and quality."""
    data = fmnist_random_subset(N_TRAIN, N_TEST, seed=0)
    X, y, Xt, yt = data["X_train"], data["y_train"], data["X_test"], data["y_test"]
    out: dict = {"n_train": len(X), "n_test": len(Xt)}
    ddtl, s = timed(lambda: DDTLHasher(device="cpu", random_state=0).fit(X, y))
    out["DDTLHasher"] = {
        "fit_seconds": s, "test_accuracy": float((ddtl.predict(Xt) == yt).mean()),
        "map@1000_code": float(mean_average_precision(ddtl.transform(Xt), ddtl.transform(X), yt, y,
                                                      k=1000, ranking="code")),
        "n_epochs": ddtl.max_epochs}
    save(out)
    dhog, s = timed(lambda: DHOGClusterer(device="cpu", random_state=0).fit(X))
    km = KMeans(10, n_init=10, random_state=0).fit(X.reshape(len(X), -1))
    out["DHOGClusterer"] = {
        "fit_seconds": s, "n_epochs": dhog.n_epochs_, "best_head": int(dhog.best_head_),
        "test_accuracy": float(cluster_accuracy(yt, dhog.predict(Xt))),
        "kmeans_test_accuracy": float(cluster_accuracy(yt, km.predict(Xt.reshape(len(Xt), -1))))}
    save(out)
    Xb, yb, _, _ = biased_setting("fmnist", 0, fmnist_sizes=(N_TRAIN, N_TEST))
    lad, s = timed(lambda: LADDebiaser(device="cpu", random_state=0).fit(Xb, yb))
    _, ts = timed(lambda: lad.transform(Xb))
    out["LADDebiaser"] = {"fit_seconds": s, "transform_seconds": ts, "data": "B3 fmnist (colour-biased)",
                          "spurious_codes": int(lad.spurious_codes_.sum())}
    return out


def _dhog_digits(n_threads: int):
    X = load_digits().images.astype(np.float32) / 16.0
    with sklproxy.config_context(n_threads=n_threads):
        model, s = timed(lambda: DHOGClusterer(device="cpu", random_state=0,
                                               max_epochs=LOAD_EPOCHS).fit(X))
    return model.predict_proba(X), s


def load_fits(save) -> dict:
    """DHOG on digits with 1 and 2 threads, quiet and beside one competing process."""
    out: dict = {"epochs": LOAD_EPOCHS, "seconds": {}}
    probas = {}
    for loaded in (False, True):
        spinner = subprocess.Popen([sys.executable, "-c", SPINNER]) if loaded else None
        try:
            if spinner is not None:
                time.sleep(2.0)  # the other job is running before the fit starts
            for n_threads in (1, 2):
                key = f"{'loaded' if loaded else 'quiet'}, {n_threads} thread{'s' * (n_threads > 1)}"
                probas[key], out["seconds"][key] = _dhog_digits(n_threads)
                save(out)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    sec = out["seconds"]
    out["ratio_loaded_over_quiet"] = {n: sec[f"loaded, {n}"] / sec[f"quiet, {n}"]
                                      for n in ("1 thread", "2 threads")}
    out["same_predictions_quiet_and_loaded"] = {
        n: bool(np.array_equal(probas[f"quiet, {n}"], probas[f"loaded, {n}"]))
        for n in ("1 thread", "2 threads")}
    return out


def defaults_work(job: Job, save) -> dict:
    return default_fits(save) if job.part == "defaults" else load_fits(save)
