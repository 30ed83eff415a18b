"""B3's settings and jobs: every row of one setting and seed, with its gates."""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from sklearn.base import clone

from sklproxy.classification import ImageClassifier
from sklproxy.debias import LADClassifier, LADDebiaser, QEWalk, VQVAEOptions, Walk
from sklproxy.debias._diagnostics import lad_diagnostics
from sklproxy.inspection import gradient_ratio
from sklproxy.metrics import colour_decodability
from sklproxy.nn.augment import ImageAugment
from sklproxy.utils import resolve_device
from sklproxy.utils._options import resolve_options

from .._data import B3_SETTINGS, biased_setting
from .._runner import Job

SETTINGS = B3_SETTINGS
PARTS = ("rows",)
SEEDS = {"quick": (0,), "cpu": (0, 1, 2), "headline": (0, 1, 2)}

# The final classifier of every row; mild geometry, filled with the edge colour
# (zero fill would paint black borders on coloured backgrounds).
CLF = dict(backbone="lenet", max_epochs=30, batch_size=64, lr=1e-3, weight_decay=5e-4,
           augment=ImageAugment(translate=0.05, scale=(0.95, 1.05), degrees=5.0, jitter=0.0,
                                padding_mode="border"))
MODES = {
    "cpu": dict(lad=dict(), clf=CLF, fmnist=(5000, 2000), pixel_iterations=600),
    "quick": dict(lad=dict(max_epochs=5), clf={**CLF, "max_epochs": 5}, fmnist=(1000, 500),
                  pixel_iterations=100),
    "headline": dict(lad=dict(batch_size=512), clf={**CLF, "backbone": "resnet20", "batch_size": 256},
                     fmnist=(60000, 10000), pixel_iterations=1000),
}
#: the walks cost about 15 CPU minutes per part (test images are walked too):
#: they run on the settings the thesis reports (colour and one-pixel) and on
#: seeds 0-1 only; palette and Fashion-MNIST rows are LAD against its baselines
WALK_SETTINGS, WALK_SEEDS = ("background", "foreground", "pixel"), (0, 1)
WALKS = {  # thesis settings for the literal walk; the accumulated walk's best sweep value
    "qe-walk": {"background": QEWalk(steps=20, alpha=0.1), "foreground": QEWalk(steps=7, alpha=0.1)},
    "walk": {"background": Walk(steps=20, alpha=1.0), "foreground": Walk(steps=7, alpha=1.0)},
}


def load_setting(setting: str, seed: int, mode: str):
    """``(X_biased, y, X_oracle, tests)`` of one setting and seed at ``mode``'s sizes."""
    return biased_setting(setting, seed, MODES[mode]["fmnist"])


def walk_of(method: str, setting: str):
    """The walk options of ``method`` for ``setting`` (foreground settings walk 7 steps)."""
    return WALKS[method]["foreground" if setting == "foreground" else "background"]


# ------------------------------------------------------------------ methods
def with_method(lad: LADDebiaser, X: np.ndarray, y: np.ndarray, method) -> LADDebiaser:
    """A copy of a fitted debiaser with another debiasing step on the same VQ-VAE and ``f``.

    Only the method-specific preparation is redone (what ``fit`` does after
    training the VQ-VAE and ``f``), so rows differ only in the debiasing step.
    """
    other = copy.deepcopy(lad).set_params(method=method)
    other.method_ = clone(method)
    Xv = torch.from_numpy(other._validate_fitted_input(X))
    h = other._encode(Xv.to(other.net_.device))
    _, idx = other._quantise(h)
    y_enc = np.searchsorted(other.classes_, y)
    other._prepare_debiasing(idx, y_enc, resolve_options(other.vqvae, VQVAEOptions, param="vqvae"))
    other.diagnostics_, other.latent_accuracy_ = lad_diagnostics(other, X, h, y_enc)
    return other


def reconstruct(lad: LADDebiaser, X: np.ndarray) -> np.ndarray:
    """Plain VQ-VAE reconstructions (no debiasing): the fidelity gate."""
    with torch.no_grad():
        return lad.net_.module_.decode(lad._quantise(lad._encode(torch.from_numpy(X)))[0]).numpy()


def score_all(predict, tests: dict) -> dict:
    out = {name: float((predict(X) == y).mean()) for name, (X, y) in tests.items()}
    colours = [v for k, v in out.items() if k.startswith("colour")]
    res = {k: v for k, v in out.items() if not k.startswith("colour")}
    if colours:
        res["min_single_colour"] = min(colours)
    return res


def gates(reference, X_debiased, y, X_oracle) -> dict:
    g = {"shape": float(reference.score(X_debiased, y))}
    if X_debiased.shape[1] == 3:
        g["colour"] = colour_decodability(X_debiased, y)
        g["colour_floor"] = colour_decodability(X_oracle, y)
    return g


# --------------------------------------------------------------------- jobs
def rows_work(mode: str, device: str, job: Job, save) -> dict:
    """Every row of ``job.setting`` for ``job.seed``; ``save`` after each row."""
    torch.set_num_threads(1)
    setting, seed = job.setting, job.seed
    cfg = MODES[mode]
    Xb, y, Xo, tests = load_setting(setting, seed, mode)
    common = dict(device=device, random_state=seed)
    clf = ImageClassifier(**cfg["clf"], **common)
    if setting == "pixel":  # a plain network, as in the thesis: shifts would hide the pixel
        clf.set_params(augment=None)
    out: dict = {"setting": setting, "seed": seed, "n_train": len(Xb), "timing_s": {}, "rows": {}}

    def timed(name, fn):
        t = time.perf_counter()
        result = fn()
        out["timing_s"][name] = time.perf_counter() - t
        return result

    vanilla = timed("vanilla", lambda: clone(clf).fit(Xb, y))
    out["rows"]["vanilla"] = score_all(vanilla.predict, tests)
    oracle = timed("oracle", lambda: clone(clf).fit(Xo, y))
    out["rows"]["oracle"] = score_all(oracle.predict, tests)
    save(out)

    lad_cls = timed("lad", lambda: LADClassifier(LADDebiaser(**cfg["lad"], **common), clone(clf)).fit(Xb, y))
    lad = lad_cls.debiaser_
    out["rows"]["LAD"] = score_all(lad_cls.predict, tests)
    out["rows"]["LAD"]["raw_test_independent"] = float(lad_cls.classifier_.score(*tests["independent"]))
    rec = reconstruct(lad, Xb)
    out["gates"] = {"fidelity": {"original": float(oracle.score(Xb, y)),
                                 "reconstruction": float(oracle.score(rec, y))}}
    Xd = lad.transform(Xb)
    out["gates"]["LAD"] = gates(oracle, Xd, y, Xo)
    out["diagnostics"] = {"LAD": lad.diagnostics_}
    out["lad"] = {"spurious_codes": int(lad.spurious_codes_.sum()), "groups": len(lad.groups_),
                  "codebook_usage": lad.codebook_usage_}
    save(out)

    pipe = timed("pipeline", lambda: clone(clf).fit(Xd, y))
    out["rows"]["LAD pipeline"] = score_all(lambda X: pipe.predict(lad.transform(X)), tests)
    save(out)

    run_walks = setting in WALK_SETTINGS and (mode != "cpu" or seed in WALK_SEEDS)
    for method in ("qe-walk", "walk") if run_walks else ():
        walker = with_method(lad, Xb, y, walk_of(method, setting))
        Xw = walker.transform(Xb)
        final = timed(method, lambda Xw=Xw: clone(clf).fit(Xw, y))
        # the walks are slow at test time: the two main test sets only
        main_tests = {k: v for k, v in tests.items() if not k.startswith("colour")}
        out["rows"][method] = score_all(lambda X, w=walker, m=final: m.predict(w.transform(X)), main_tests)
        out["gates"][method] = gates(oracle, Xw, y, Xo)
        out["diagnostics"][method] = walker.diagnostics_
        save(out)
    if setting == "pixel":
        out["gradient_ratio"] = gradient_ratio_curve(Xb, y, seed, cfg["pixel_iterations"], device)
    return out


def gradient_ratio_curve(Xp: np.ndarray, y: np.ndarray, seed: int, iterations: int, device: str) -> dict:
    """A plain LeNet on the one-pixel images: GR every 20 iterations (a plain loop)."""
    from sklproxy.nn.backbones import build_backbone

    dev = resolve_device(device)
    X = torch.from_numpy(Xp).to(dev)
    yt = torch.from_numpy(y).to(dev)
    spurious = np.zeros((1, 28, 28), dtype=bool)
    spurious[0, 0, :10] = True
    torch.manual_seed(seed)
    backbone = build_backbone("lenet", (1, 28, 28))
    model = torch.nn.Sequential(backbone, torch.nn.Linear(backbone.out_features, 10)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    curve = []
    for it in range(1, iterations + 1):
        idx = torch.randint(0, len(X), (64,), generator=gen).to(dev)
        model.train()
        loss = torch.nn.functional.cross_entropy(model(X[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it == 1 or it % 20 == 0:
            curve.append((it, gradient_ratio(model, X[:256], yt[:256], ~spurious, spurious)))
    below = next((it for it, gr in curve if gr < 1), None)
    return {"curve": curve, "first_iteration_below_1": below}
