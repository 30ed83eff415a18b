"""The data of the benchmarks: Fashion-MNIST subsets, 8x8 digits, digits28 with a planted bias.

Every loader returns float32 images in ``[0, 1]`` (channels first) unless it
says otherwise, and draws its subsets from fixed seeds, so a setting names
the same images in every run.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklproxy.datasets import (
    load_digits28,
    load_fashion_mnist,
    make_colour_biased,
    make_corrupted,
    make_one_pixel,
    make_spatial_biased,
)

__all__ = [
    "B3_GENERIC_SETTINGS",
    "B3_SETTINGS",
    "biased_setting",
    "clustering_setting",
    "fmnist_random_subset",
    "fmnist_subset",
    "load_fmnist",
    "random_palette",
    "redrawn_oracle",
]


# ------------------------------------------------------------- Fashion-MNIST
@lru_cache(maxsize=4)
def _fashion_mnist(subset: str, data_home: str | None = None):
    """The raw uint8 images (n, 28, 28) and labels; read once per process (do not modify)."""
    return load_fashion_mnist(data_home=data_home, subset=subset, return_X_y=True)


def _prep(X: np.ndarray) -> np.ndarray:
    return (X.astype(np.float32) / 255.0)[:, None]


def load_fmnist(n_train: int | None = None, n_test: int | None = None, data_home: str | None = None):
    """The first ``n_train`` training and ``n_test`` test images, shape (n, 1, 28, 28)."""
    Xtr, ytr = _fashion_mnist("train", data_home)
    Xte, yte = _fashion_mnist("test", data_home)
    return _prep(Xtr[:n_train]), ytr[:n_train], _prep(Xte[:n_test]), yte[:n_test]


def fmnist_subset(per_class: int, seed: int = 0):
    """A stratified training subset (``per_class`` images per class, drawn with ``seed``)
    and the 10k test images (the B1 CPU reference and the spread probe)."""
    Xtr, ytr, Xte, yte = load_fmnist()
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(ytr == c), per_class, replace=False)
                                   for c in range(10)]))
    return Xtr[keep], ytr[keep], Xte, yte


def fmnist_random_subset(n_train: int, n_test: int, seed: int, data_home: str | None = None) -> dict:
    """``n_train`` / ``n_test`` images drawn at random with ``seed`` (the B2 headline), as a
    clustering setting (no nuisance)."""
    Xtr, ytr = _fashion_mnist("train", data_home)
    Xte, yte = _fashion_mnist("test", data_home)
    rng = np.random.RandomState(seed)
    tr = np.sort(rng.permutation(len(Xtr))[:n_train])
    te = np.sort(rng.permutation(len(Xte))[:n_test])
    return {"X_train": _prep(Xtr[tr]), "y_train": ytr[tr], "X_test": _prep(Xte[te]),
            "y_test": yte[te], "nuisance_train": None, "nuisance_test": None}


# ------------------------------------------------------- clustering settings
#: the settings of the B2 CPU reference
CLUSTERING_SETTINGS = ("digits-colour", "digits", "fmnist-10k", "fmnist-20k-28")


def clustering_setting(name: str, data_home: str | None = None) -> dict:
    """Train/test images, labels and the nuisance (or None) of a B2 CPU setting.

    ``digits-colour``: 8x8 digits on a background colour drawn independently
    of the digit; ``digits``: plain 8x8 digits (both a 70/30 stratified
    split, 1257/540); ``fmnist-10k``: 10k stratified Fashion-MNIST training
    images and the 10k test images, mean-pooled 2x2 to 14x14;
    ``fmnist-20k-28``: 20k stratified training images and the 10k test
    images at 28x28.
    """
    if name in ("digits", "digits-colour"):
        X, y = load_digits(return_X_y=True)
        X = X.reshape(-1, 8, 8).astype(np.float32)
        nuisance = None
        if name == "digits-colour":
            X, nuisance = make_colour_biased(X, y, kind="background", test_mode="independent",
                                             random_state=0)
        else:
            X = X[:, None]
        idx = np.arange(len(X))
        tr, te = train_test_split(idx, test_size=0.3, random_state=0, stratify=y)
        return {"X_train": X[tr], "y_train": y[tr], "X_test": X[te], "y_test": y[te],
                "nuisance_train": None if nuisance is None else nuisance[tr],
                "nuisance_test": None if nuisance is None else nuisance[te]}
    if name == "fmnist-20k-28":
        Xtr, ytr = _fashion_mnist("train", data_home)
        Xte, yte = _fashion_mnist("test", data_home)
        tr = np.sort(train_test_split(np.arange(len(Xtr)), train_size=20000, random_state=0,
                                      stratify=ytr)[0])
        return {"X_train": _prep(Xtr[tr]), "y_train": ytr[tr], "X_test": _prep(Xte), "y_test": yte,
                "nuisance_train": None, "nuisance_test": None}
    if name == "fmnist-10k":
        Xtr, ytr = _fashion_mnist("train", data_home)
        Xte, yte = _fashion_mnist("test", data_home)
        tr, _ = train_test_split(np.arange(len(Xtr)), train_size=10000, random_state=0,
                                 stratify=ytr)
        tr = np.sort(tr)
        # 2x2 mean pooling to 14x14: the CPU stand-in (a 28x28 ConvNet fit of 2000
        # steps takes about 20 CPU minutes); DHOG's default picks the ConvNet below 16 px
        prep = lambda X: (X.astype(np.float32) / 255).reshape(-1, 1, 14, 2, 14, 2).mean(  # noqa: E731
            axis=(3, 5))
        return {"X_train": prep(Xtr[tr]), "y_train": ytr[tr], "X_test": prep(Xte),
                "y_test": yte, "nuisance_train": None, "nuisance_test": None}
    raise ValueError(f"unknown setting {name!r}; use one of {CLUSTERING_SETTINGS}")


# ------------------------------------------------ debiasing settings (digits28)
#: the colour and one-pixel settings of B3
B3_SETTINGS = ("background", "foreground", "fmnist", "palette", "pixel")
#: B3's settings of other signals (issue 18): a corruption type per class
#: (LfF's two lists for Corrupted CIFAR-10), on digits28 and on Fashion-MNIST,
#: a background grating or a jittered patch per class, and the background
#: colour at 99.5 % bias (0.5 % conflicting)
B3_GENERIC_SETTINGS = ("corrupt-type0", "corrupt-type1", "fmnist-corrupt", "texture", "patch",
                       "background-99.5")


def random_palette(seed: int) -> np.ndarray:
    """Ten random 8-bit colours, none close to white (the object) or to each other."""
    rng = np.random.RandomState(1000 + seed)
    colours: list[np.ndarray] = []
    while len(colours) < 10:
        c = rng.randint(0, 256, 3)
        if np.abs(c - 255).max() < 60 or any(np.abs(c - o).max() < 40 for o in colours):
            continue
        colours.append(c)
    return np.array(colours, dtype=np.uint8)


def _fmnist_biased_subset(seed: int, sizes: tuple[int, int]):
    n_train, n_test = sizes
    Xtr, ytr = _fashion_mnist("train")
    Xte, yte = _fashion_mnist("test")
    rng = np.random.RandomState(seed)
    tr = np.sort(np.concatenate([rng.permutation(np.flatnonzero(ytr == c))[: n_train // 10]
                                 for c in range(10)]))
    te = np.sort(rng.permutation(len(Xte))[:n_test])
    return Xtr[tr], ytr[tr], Xte[te], yte[te]


def _bias_maker(setting: str, seed: int):
    """``(make, kwargs)``: the function that plants ``setting``'s signal, and its arguments."""
    if setting.startswith("background-"):
        return make_colour_biased, dict(protocol="rebias", bias_ratio=float(setting.split("-")[1]) / 100)
    if setting in ("texture", "patch"):
        return make_spatial_biased, dict(kind=setting)
    if setting in B3_GENERIC_SETTINGS:
        return make_corrupted, dict(corruptions="type1" if setting == "corrupt-type1" else "type0")
    return make_colour_biased, {"background": dict(protocol="rebias"), "foreground": dict(protocol="lff"),
                                "fmnist": dict(kind="background"),
                                "palette": dict(protocol="rebias", palette=random_palette(seed))}[setting]


def _clean_setting(setting: str, seed: int, fmnist_sizes: tuple[int, int]):
    if setting in ("fmnist", "fmnist-corrupt"):
        return _fmnist_biased_subset(seed, fmnist_sizes)
    return load_digits28(random_state=seed, return_X_y=True)


def redrawn_oracle(setting: str, seed: int, copies: int = 10,
                   fmnist_sizes: tuple[int, int] = (5000, 2000)) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` oracle versions of the training set stacked: the signal drawn anew for each copy.

    Trained for ``1 / copies`` of the epochs, a classifier sees each image with
    a fresh draw of the spurious signal about every epoch, as LADClassifier
    sees a fresh substitution every batch (the per-batch oracle, issue 18).
    """
    if setting == "pixel":
        raise ValueError("the one-pixel setting has no redrawn oracle")
    Xtr, ytr, _, _ = _clean_setting(setting, seed, fmnist_sizes)
    make, kw = _bias_maker(setting, seed)
    Xs = [np.asarray(make(Xtr, ytr, test_mode="independent", random_state=seed + 10 + 97 * j, **kw)[0],
                     np.float32) for j in range(copies)]
    return np.concatenate(Xs), np.tile(ytr, copies)


def _generic_setting(setting: str, seed: int, fmnist_sizes: tuple[int, int]):
    Xtr, ytr, Xte, yte = _clean_setting(setting, seed, fmnist_sizes)
    make, kw = _bias_maker(setting, seed)
    Xb, _ = make(Xtr, ytr, random_state=seed, **kw)
    Xo, _ = make(Xtr, ytr, test_mode="independent", random_state=seed + 10, **kw)
    tests = {mode_: (make(Xte, yte, test_mode=mode_, random_state=seed + 1, **kw)[0], yte)
             for mode_ in ("independent", "conditioned")}
    return np.asarray(Xb, np.float32), ytr, np.asarray(Xo, np.float32), tests


def biased_setting(setting: str, seed: int, fmnist_sizes: tuple[int, int] = (5000, 2000)):
    """``(X_biased, y, X_oracle, tests)`` of one B3 setting and seed.

    ``background``: digits28, background colour, ReBias protocol;
    ``foreground``: digits28, foreground colour, LfF protocol; ``fmnist``: a
    stratified Fashion-MNIST subset of ``fmnist_sizes`` (train, test), colour
    outside the garment; ``palette``: background colour (ReBias) from ten
    random colours drawn per seed; ``pixel``: digits28 grey with the one-pixel
    code. :data:`B3_GENERIC_SETTINGS`: ``corrupt-type0`` / ``corrupt-type1``
    (digits28, one corruption per class, severity 5), ``fmnist-corrupt`` (the
    Fashion-MNIST subset with the Type0 list), ``texture`` / ``patch``
    (digits28, :func:`~sklproxy.datasets.make_spatial_biased`),
    ``background-99.5`` (background colour, 0.5 % conflicting). All at 100 %
    bias unless named. ``X_oracle``: the training images with the spurious
    signal drawn independently of the label. ``tests``: name -> ``(X, y)``:
    ``independent``, ``conditioned`` and, for the 100 %-bias colour settings,
    every test image in one colour (``colour0`` ... ``colour9``).
    """
    if setting in B3_GENERIC_SETTINGS:
        return _generic_setting(setting, seed, fmnist_sizes)
    if setting == "fmnist":
        Xtr, ytr, Xte, yte = _fmnist_biased_subset(seed, fmnist_sizes)
        kw: dict = dict(kind="background")
    elif setting in B3_SETTINGS:
        Xtr, ytr, Xte, yte = load_digits28(random_state=seed, return_X_y=True)
        kw = {"background": dict(protocol="rebias"), "foreground": dict(protocol="lff"),
              "palette": dict(protocol="rebias", palette=random_palette(seed)),
              "pixel": None}[setting]
    else:
        raise ValueError(f"unknown setting {setting!r}; use one of "
                         f"{B3_SETTINGS + B3_GENERIC_SETTINGS}")
    if setting == "pixel":
        Xb, _ = make_one_pixel(Xtr, ytr)
        Xo, _ = make_one_pixel(Xtr, ytr, test=True, random_state=seed + 10)
        Xi, _ = make_one_pixel(Xte, yte, test=True, random_state=seed + 1)
        tests = {"independent": (_prep(Xi), yte), "conditioned": (_prep(Xte), yte)}
        return _prep(Xb), ytr, _prep(Xo), tests
    Xb, _ = make_colour_biased(Xtr, ytr, random_state=seed, **kw)
    Xo, _ = make_colour_biased(Xtr, ytr, test_mode="independent", random_state=seed + 10, **kw)
    tests = {mode_: (make_colour_biased(Xte, yte, test_mode=mode_, random_state=seed + 1, **kw)[0], yte)
             for mode_ in ("independent", "conditioned")}
    for c in range(10):  # every test image in colour c: the weakest single colour
        X1, _ = make_colour_biased(Xte, np.full(len(yte), c), random_state=seed + 1, **kw)
        tests[f"colour{c}"] = (X1, yte)
    return Xb, ytr, Xo, tests
