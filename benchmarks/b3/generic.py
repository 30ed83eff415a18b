"""B3 beyond pixel colours (issue 18): corruptions, a texture, a jittered patch, 99.5 % bias.

``python -m benchmarks.b3 --cpu --generic`` runs, per setting and seed, the
rows ``vanilla``, ``oracle`` (the signal drawn once, independently of the
label), ``oracle redrawn`` (ten independent draws stacked, trained for a tenth
of the epochs: a fresh draw about every epoch, as LAD's regeneration),
``LAD`` (``method="substitute"``, the default before ``Swap``, :class:`LADClassifier`) and
``LAD swap`` (``method="swap"`` on the same fitted VQ-VAE and ``f``, trained
like :class:`LADClassifier`: a new substitution group and donor every
batch; raw test images, as ``LADClassifier.predict`` with the swap on).
LAD rows also report the accuracy of their classifier on raw test images
(``raw independent``), ``LAD swap`` also on swapped test images
(``swapped_independent``, the pipeline form's) and on substituted ones
(``substituted_independent``). Gates: the swap's two instruments (the
amplitude-spectrum probe that decides, and the swap test of a classifier of
``f``'s kind that reports) before (on the substituted images) and after (on the final debiased
images, fresh probes), *shape kept* (the oracle
classifier on the debiased training images). On the 100 %-bias colour
settings (``--generic`` with a colour setting) only the redrawn oracle and the
swap's test run; when the swap stays off there, ``LAD swap`` is today's
``LAD`` row bit for bit (the test in tests/debias/test_swap.py).
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import torch
from sklearn.base import clone

from sklproxy.classification import ImageClassifier
from sklproxy.debias import LADClassifier, LADDebiaser, Swap
from sklproxy.debias._lad_classifier import _DebiasThenAugment
from sklproxy.debias._options import LatentClassifierOptions
from sklproxy.debias._swap import amplitude_probe, fit_swap, probe_follow
from sklproxy.utils import seed_from_random_state

from .._data import B3_GENERIC_SETTINGS, B3_SETTINGS, biased_setting, redrawn_oracle
from .._runner import PARTS, Job
from .run import MODES, score_all, with_method

GENERIC_SETTINGS = B3_GENERIC_SETTINGS
GENERIC_STEMS = {"quick": "b3_generic_quick", "cpu": "b3_generic_cpu", "headline": "b3_generic"}
COLOUR_SETTINGS = tuple(s for s in B3_SETTINGS if s != "pixel")
COPIES = 10


def with_swap(lad: LADDebiaser, X: np.ndarray, y: np.ndarray, method: Swap) -> LADDebiaser:
    """A copy of a fitted debiaser with ``method="swap"`` on the same VQ-VAE and ``f``."""
    other = with_method(lad, X, y, method)
    y_enc = np.searchsorted(other.classes_, y)
    X_dev = torch.from_numpy(other._validate_fitted_input(X)).to(other.net_.device)
    seed = seed_from_random_state(lad.random_state)  # as LADDebiaser.fit: the same test and bank
    other.__dict__.update(fit_swap(other, X_dev, y_enc, seed + 3))
    return other


def follow_before(lad: LADDebiaser, X: np.ndarray, y: np.ndarray) -> dict:
    """The report on the substituted images: a classifier of ``f``'s kind asked about swaps."""
    X_dev = torch.from_numpy(lad._validate_fitted_input(X)).to(lad.net_.device)
    sub = lad.debias_module(swap=False)
    with torch.no_grad():
        Xs = torch.cat([sub(xb).float() for xb, _ in lad._batches(X_dev)])
    seed = seed_from_random_state(lad.random_state) + 3
    return probe_follow(lad, Xs, np.searchsorted(lad.classes_, y), LatentClassifierOptions(),
                        Swap().cutoff, seed)


def train_like_lad_classifier(debiaser: LADDebiaser, clf: ImageClassifier, X, y) -> ImageClassifier:
    """``clf`` trained on ``debiaser``'s step drawn anew every batch, as :class:`LADClassifier` does."""
    base = clf.get_params()["augment"]
    return clone(clf).set_params(augment=_DebiasThenAugment(debiaser.debias_module(), base)).fit(X, y)


def probes_after(lad: LADDebiaser, X: np.ndarray, y: np.ndarray, seed: int) -> dict:
    """Both instruments on ``lad.transform(X)``, fresh probes: what they read after the step."""
    Xd = torch.from_numpy(lad.transform(X)).to(lad.net_.device)
    y_enc = np.searchsorted(lad.classes_, y)
    return {"probe_accuracy": amplitude_probe(Xd, y_enc, seed + 5),
            "follow": probe_follow(lad, Xd, y_enc, LatentClassifierOptions(), Swap().cutoff, seed + 5)}


def earlier_rows(mode: str, job: Job) -> dict | None:
    """The rows up to ``LAD`` of an earlier run of this job, when its part file has them.

    They do not depend on the swap, so a rerun after a change to the swap
    (``--reuse``) fits only the debiaser again (deterministic: the same as
    LADClassifier's) and the swap's rows; the part records where they came from.
    """

    path = PARTS / f"{GENERIC_STEMS[mode]}.{job.key}.json"
    if not path.exists():
        return None
    old = json.loads(path.read_text())
    if "LAD" not in old["result"]["rows"] and job.setting not in COLOUR_SETTINGS:
        return None
    if old["result"].get("lad_method") != "substitute" and job.setting not in COLOUR_SETTINGS:
        return None  # its LAD row may be another method's (the default changed): rerun it
    return old


def generic_work(mode: str, device: str, job: Job, save, reuse: bool = False) -> dict:
    """Every row of one setting and seed (see the module docstring); ``save`` after each row."""
    torch.set_num_threads(1)
    old = earlier_rows(mode, job) if reuse else None
    setting, seed = job.setting, job.seed
    cfg = MODES[mode]
    Xb, y, Xo, tests = biased_setting(setting, seed, cfg["fmnist"])
    tests = {k: v for k, v in tests.items() if not k.startswith("colour")}
    common = dict(device=device, random_state=seed)
    clf = ImageClassifier(**cfg["clf"], **common)
    out: dict = {"setting": setting, "seed": seed, "n_train": len(Xb), "timing_s": {}, "rows": {},
                 "gates": {}, "swap": {}, "lad_method": "substitute"}

    def timed(name, fn):
        t = time.perf_counter()
        result = fn()
        out["timing_s"][name] = time.perf_counter() - t
        return result

    colour_only = setting in COLOUR_SETTINGS
    oracle = timed("oracle", lambda: clone(clf).fit(Xo, y))
    if old is not None:
        keep = ("vanilla", "oracle", "oracle redrawn", "LAD")
        out["rows"] = {k: v for k, v in old["result"]["rows"].items() if k in keep}
        out["gates"] = {k: v for k, v in old["result"]["gates"].items() if k == "LAD"}
        out["timing_s"] = {k: v for k, v in old["result"]["timing_s"].items()
                           if k in keep + ("lad", "lad fit")}
        out["reused_rows"] = {"rows": list(out["rows"]), "commit": old["info"]["commit"]}
    elif not colour_only:
        vanilla = timed("vanilla", lambda: clone(clf).fit(Xb, y))
        out["rows"]["vanilla"] = score_all(vanilla.predict, tests)
        out["rows"]["oracle"] = score_all(oracle.predict, tests)
    if old is None:
        Xr, yr = redrawn_oracle(setting, seed, COPIES, cfg["fmnist"])
        epochs = max(1, cfg["clf"]["max_epochs"] // COPIES)
        redrawn = timed("oracle redrawn", lambda: clone(clf).set_params(max_epochs=epochs).fit(Xr, yr))
        out["rows"]["oracle redrawn"] = score_all(redrawn.predict, tests)
        del Xr, yr
    save(out)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no spurious code" is expected off the colour settings
        if colour_only or old is not None:
            lad = timed("lad fit", lambda: LADDebiaser(method="substitute", **cfg["lad"],
                                                       **common).fit(Xb, y))
        else:
            lad_cls = timed("lad", lambda: LADClassifier(
                LADDebiaser(method="substitute", **cfg["lad"], **common), clone(clf)).fit(Xb, y))
            lad = lad_cls.debiaser_
            out["rows"]["LAD"] = score_all(lad_cls.predict, tests)
            out["rows"]["LAD"]["raw_independent"] = float(lad_cls.classifier_.score(*tests["independent"]))
            out["gates"]["LAD"] = {"shape": float(oracle.score(lad.transform(Xb), y))}
        out["lad"] = {"spurious_codes": int(lad.spurious_codes_.sum()), "groups": len(lad.groups_)}
        save(out)
        swapper = timed("swap test", lambda: with_swap(lad, Xb, y, Swap()))
    out["swap"] = {"active": bool(swapper.swap_active_),
                   "before": {"probe_accuracy": swapper.swap_probe_accuracy_,
                              "follow": follow_before(swapper, Xb, y)}}
    save(out)
    row = "LAD swap"
    if not swapper.swap_active_:  # transform and every batch are the substitution's, bit for bit
        if colour_only:
            return out
        out["rows"]["LAD swap"] = dict(out["rows"]["LAD"])
        out["swap"]["same_as_lad"] = True
        save(out)
        # what the swap would have done here: the same step with the bar at 0
        row = "LAD swap forced"
        swapper = timed("swap test forced", lambda: with_swap(lad, Xb, y, Swap(min_accuracy=0.0)))
    final = timed(row, lambda: train_like_lad_classifier(swapper, clf, Xb, y))
    # as LADClassifier.predict: raw test images when the swap is on
    out["rows"][row] = score_all(lambda X: final.predict(swapper._prediction_images(X)), tests)
    out["rows"][row]["substituted_independent"] = float(
        final.score(swapper._images(tests["independent"][0], swap=False), tests["independent"][1]))
    out["rows"][row]["raw_independent"] = float(final.score(*tests["independent"]))
    out["rows"][row]["swapped_independent"] = float(
        final.score(swapper.transform(tests["independent"][0]), tests["independent"][1]))
    out["gates"][row] = {"shape": float(oracle.score(swapper.transform(Xb), y))}
    out["swap"]["after" if row == "LAD swap" else "after_forced"] = probes_after(swapper, Xb, y, seed)
    save(out)
    return out
