"""Bad input at every public entry point gets a clear error (issue 21's fuzz table).

Each row: an entry point, a kind of bad input, the exception and a pattern
of its message (the parameter, what is wrong, the fix). Inputs that are
fine (DataFrames, tensors, memmaps, lists, integer or bool images) are in
the last table and must simply work.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sklproxy import (
    CrPCA,
    DDTLHasher,
    DHOGClusterer,
    HammingIndex,
    ImageClassifier,
    LADClassifier,
    LADDebiaser,
    datasets,
    metrics,
)
from sklproxy.debias import LatentClassifierOptions, VQVAEOptions
from sklproxy.inspection import gradient_ratio

LAD = dict(vqvae=VQVAEOptions(n_codes=8, width=8), max_epochs=1,
           latent_classifier=LatentClassifierOptions(max_epochs=1), device="cpu", random_state=0)
MAKE = {
    "DDTLHasher": lambda: DDTLHasher(n_path_bits=3, max_epochs=1, device="cpu", random_state=0),
    "CrPCA": lambda: CrPCA(n_path_bits=3),
    "DHOGClusterer": lambda: DHOGClusterer(n_clusters=3, n_heads=2, max_epochs=1, device="cpu",
                                           random_state=0),
    "LADDebiaser": lambda: LADDebiaser(**LAD),
    "ImageClassifier": lambda: ImageClassifier(max_epochs=1, device="cpu", random_state=0),
    "LADClassifier": lambda: LADClassifier(
        LADDebiaser(**LAD), ImageClassifier(backbone="convnet", max_epochs=1, device="cpu")),
}
SUPERVISED = [name for name in MAKE if name != "DHOGClusterer"]
OUTPUT = {"DDTLHasher": "transform", "CrPCA": "transform", "DHOGClusterer": "predict",
          "LADDebiaser": "transform", "ImageClassifier": "predict", "LADClassifier": "predict"}


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    X = (X[:120] / 16).astype(np.float32).reshape(-1, 8, 8)
    Xc, _ = datasets.make_colour_biased(X, y[:120], random_state=0)
    return Xc.astype(np.float32), y[:120]


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return {name: make().fit(X, y) for name, make in MAKE.items()}


def _with(X, index, value):
    X = X.astype(np.float64)
    X.flat[index] = value
    return X


# kind -> (make bad X, exception, message pattern); for fit (y valid) and for prediction
FIT_X = {
    "NaN": (lambda X: _with(X, 3, np.nan), ValueError, "Input X contains NaN"),
    "inf": (lambda X: _with(X, 3, np.inf), ValueError, "Input X contains infinity"),
    "beyond float32": (lambda X: X.astype(np.float64) * 1e39, ValueError,
                       r"beyond the float32 range.*Rescale X"),
    "strings": (lambda X: np.full((len(X), 4), "a"), ValueError, "could not convert string"),
    "complex": (lambda X: X + 1j, ValueError, "Complex data not supported"),
    "empty": (lambda X: X[:0], ValueError, r"0 sample\(s\)"),
    "one sample": (lambda X: X[:1], ValueError, r"1 sample\(s\).*minimum of 2"),
    "5-D": (lambda X: X[:, None], ValueError, r"X has 5 dimensions.*X.reshape"),
    "1-D": (lambda X: X[:, 0, 0, 0], ValueError, "Expected 2D array, got 1D array"),
    "sparse": (lambda X: __import__("scipy.sparse").sparse.csr_matrix(X.reshape(len(X), -1)),
               TypeError, "[Ss]parse"),
}
PREDICT_X = {
    "NaN": (lambda X: _with(X[:5], 3, np.nan), ValueError, "Input X contains NaN"),
    "wrong features": (lambda X: np.zeros((3, 7)), ValueError, "X has 7 features, but .* 192"),
    "wrong image": (lambda X: np.zeros((3, 3, 6, 6)), ValueError,
                    r"images of shape \(3, 6, 6\).*fitted on input of shape \(3, 8, 8\)"),
    "grey for colour": (lambda X: X[:3, 0], ValueError, r"images of shape \(8, 8\)"),
    "empty": (lambda X: X[:0], ValueError, r"0 sample\(s\)"),
    "5-D": (lambda X: X[:3, None], ValueError, "X has 5 dimensions"),
    "beyond float32": (lambda X: X[:3].astype(np.float64) * 1e39, ValueError, "float32 range"),
}
FIT_Y = {
    "wrong length": (lambda y: y[:-1], ValueError, "inconsistent numbers of samples"),
    "NaN": (lambda y: np.where(np.arange(len(y)) == 0, np.nan, y), ValueError, "contains NaN"),
    "one class": (lambda y: np.zeros_like(y), ValueError, "single class"),
    "2-D for single-label": (lambda y: np.c_[y, y], ValueError, "1-D class labels|indicator"),
}


@pytest.mark.parametrize("kind", list(FIT_X))
@pytest.mark.parametrize("name", list(MAKE))
def test_fit_bad_X(name, kind, data):
    X, y = data
    make_X, error, pattern = FIT_X[kind]
    bad = make_X(X)
    n = bad.shape[0]
    with pytest.raises(error, match=pattern):
        MAKE[name]().fit(bad, y[:n] if n <= len(y) else y)


@pytest.mark.parametrize("kind", list(FIT_Y))
@pytest.mark.parametrize("name", SUPERVISED)
def test_fit_bad_y(name, kind, data):
    X, y = data
    make_y, error, pattern = FIT_Y[kind]
    if name == "DDTLHasher" and kind == "2-D for single-label":
        pytest.skip("DDTLHasher reads a 2-D 0/1 y as multi-label; other values: next test")
    with pytest.raises(error, match=pattern):
        MAKE[name]().fit(X, make_y(y))


@pytest.mark.parametrize("kind", list(PREDICT_X))
@pytest.mark.parametrize("name", list(MAKE))
def test_predict_bad_X(name, kind, fitted, data):
    X, _ = data
    make_X, error, pattern = PREDICT_X[kind]
    with pytest.raises(error, match=pattern):
        getattr(fitted[name], OUTPUT[name])(make_X(X))


@pytest.mark.parametrize("name", list(MAKE))
def test_unfitted_is_not_fitted_error(name, data):
    X, _ = data
    with pytest.raises(NotFittedError):
        getattr(MAKE[name](), OUTPUT[name])(X)


GOOD = {
    "DataFrame": lambda X, y: (pd.DataFrame(X.reshape(len(X), -1)), pd.Series(y)),
    "tensor": lambda X, y: (torch.from_numpy(X), torch.from_numpy(y)),
    "nested lists": lambda X, y: (X.tolist(), y.tolist()),
    "uint8 images": lambda X, y: ((X * 255).astype(np.uint8), y),
    "bool images": lambda X, y: (X > 0.5, y),
    "float64": lambda X, y: (X.astype(np.float64), y),
    "string labels": lambda X, y: (X, np.array([f"class {v}" for v in y])),
}


@pytest.mark.parametrize("kind", list(GOOD))
@pytest.mark.parametrize("name", list(MAKE))
def test_good_input_of_every_kind_works(name, kind, data):
    X, y = data
    Xg, yg = GOOD[kind](X, y)
    if name == "DHOGClusterer" and kind == "string labels":
        pytest.skip("unsupervised")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no torch warning leaks
        warnings.filterwarnings("ignore", message="DHOGClusterer:")  # a 1-epoch clustering
        warnings.filterwarnings("ignore", message="LADDebiaser found no spurious code")
        est = MAKE[name]().fit(Xg, yg)
        out = getattr(est, OUTPUT[name])(Xg)
    assert len(out) == len(X)


# other entry points: (call, exception, message pattern)
def _codes():
    return np.random.default_rng(0).integers(0, 2, (40, 7))


OTHERS = {
    "HammingIndex unfitted": (lambda: HammingIndex().kneighbors(_codes()), NotFittedError,
                              "not fitted yet; call fit"),
    "HammingIndex NaN codes": (lambda: HammingIndex().fit(np.where(_codes() == 1, np.nan, 0)),
                               ValueError, "other than exactly 0.0 and 1.0"),
    "HammingIndex 3-D codes": (lambda: HammingIndex().fit(_codes()[None]), ValueError,
                               r"2-D array of shape \(n_samples, n_bits\)"),
    "HammingIndex string codes": (lambda: HammingIndex().fit(_codes().astype(str)), ValueError,
                                  "0/1 bits"),
    "HammingIndex k too large": (lambda: HammingIndex().fit(_codes()).kneighbors(
        _codes(), n_neighbors=1000), ValueError, "n_neighbors=1000 is invalid"),
    "HammingIndex other bits": (lambda: HammingIndex().fit(_codes()).kneighbors(_codes()[:, :3]),
                                ValueError, "3 bits but the index was fitted on 7-bit"),
    "mAP k=0": (lambda: metrics.mean_average_precision(_codes(), _codes(), np.zeros(40),
                                                       np.zeros(40), k=0), ValueError, "k=0"),
    "mAP labels length": (lambda: metrics.mean_average_precision(
        _codes(), _codes(), np.zeros(39), np.zeros(40)), ValueError, "query_labels has 39"),
    "mAP NaN labels": (lambda: metrics.mean_average_precision(
        _codes(), _codes(), np.full(40, np.nan), np.zeros(40)), ValueError,
        "query_labels contains NaN"),
    "mAP ranking": (lambda: metrics.mean_average_precision(
        _codes(), _codes(), np.zeros(40), np.zeros(40), ranking="xor"), ValueError,
        "ranking='xor'"),
    "hash_entropy empty": (lambda: metrics.hash_entropy(_codes()[:0]), ValueError, "empty"),
    "hash_spread class bits": (lambda: metrics.hash_spread(_codes(), np.zeros(40),
                                                           n_class_bits=9), ValueError,
                               "n_class_bits=9 is invalid"),
    "hash_retention shapes": (lambda: metrics.hash_retention(_codes(), _codes()[:5]),
                              ValueError, "codes_clean has shape"),
    "cluster_accuracy length": (lambda: metrics.cluster_accuracy(np.zeros(5), np.zeros(4)),
                                ValueError, "y_true has 5 samples but y_pred has 4"),
    "cluster_accuracy NaN": (lambda: metrics.cluster_accuracy(np.zeros(5), np.full(5, np.nan)),
                             ValueError, "y_pred contains NaN"),
    "colour_decodability vectors": (lambda: metrics.colour_decodability(
        np.zeros((10, 64)), np.arange(10) % 2), ValueError, r"images of shape \(n, H, W\)"),
    "make_colour_biased 4-D": (lambda: datasets.make_colour_biased(np.zeros((4, 3, 8, 8)),
                                                                   np.arange(4)), ValueError,
                               r"\(n, H, W\) grey images"),
    "make_colour_biased bias_ratio": (lambda: datasets.make_colour_biased(
        np.zeros((4, 8, 8)), np.arange(4), bias_ratio=2), ValueError, "bias_ratio=2"),
    "make_colour_biased 11 classes": (lambda: datasets.make_colour_biased(
        np.zeros((11, 8, 8)), np.arange(11)), ValueError, "palette has only 10 colours"),
    "make_colour_biased NaN": (lambda: datasets.make_colour_biased(
        np.full((4, 8, 8), np.nan), np.arange(4)), ValueError, "X contains NaN or infinity"),
    "make_one_pixel 1-D": (lambda: datasets.make_one_pixel(np.zeros(64), np.arange(1)),
                           ValueError, r"got ndim=1"),
    "load_fashion_mnist subset": (lambda: datasets.load_fashion_mnist(subset="val"), ValueError,
                                  "subset='val' is not supported"),
    "fashion_mnist_superclasses": (lambda: datasets.fashion_mnist_superclasses([11]), ValueError,
                                   "labels in 0..9"),
    "make_corrupted NaN": (lambda: datasets.make_corrupted(np.full((4, 28, 28), np.nan), np.arange(4)),
                           ValueError, "X contains NaN or infinity"),
    "make_corrupted severity": (lambda: datasets.make_corrupted(np.zeros((4, 28, 28)), np.arange(4),
                                                                severity=7), ValueError, "severity=7"),
    "make_corrupted 11 classes": (lambda: datasets.make_corrupted(np.zeros((11, 28, 28)), np.arange(11)),
                                  ValueError, "pass corruptions= with one name per class"),
    "make_spatial_biased kind": (lambda: datasets.make_spatial_biased(np.zeros((4, 28, 28)), np.arange(4),
                                                                      kind="stripes"),
                                 ValueError, "kind='stripes' is not supported"),
    "perturb_images NaN": (lambda: metrics.perturb_images(np.full((4, 8, 8), np.nan), "noise", 0.1),
                           ValueError, "X contains NaN or infinity"),
    "perturb_images empty": (lambda: metrics.perturb_images(np.zeros((0, 8, 8)), "noise", 0.1),
                             ValueError, "holds no pixels"),
    "hash_retention_curves NaN": (lambda: metrics.hash_retention_curves(
        lambda Z: np.zeros((len(Z), 4), np.uint8), np.full((4, 8, 8), np.nan)), ValueError,
        "X contains NaN or infinity"),
    "coarse_to_fine NaN labels": (lambda: metrics.coarse_to_fine_accuracy(
        _codes(), np.full(40, np.nan), _codes(), np.zeros(40)), ValueError,
        "train_labels contains NaN"),
    "gradient_ratio mask shape": (lambda: gradient_ratio(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2)), np.zeros((4, 8, 8)),
        np.zeros(4), np.ones((3, 3), bool), np.zeros((3, 3), bool)), ValueError,
        "does not broadcast"),
    "gradient_ratio empty mask": (lambda: gradient_ratio(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2)), np.zeros((4, 8, 8)),
        np.zeros(4), np.ones((8, 8), bool), np.zeros((8, 8), bool)), ValueError,
        "spurious_mask selects no pixel"),
}


@pytest.mark.parametrize("case", list(OTHERS))
def test_other_entry_points(case):
    call, error, pattern = OTHERS[case]
    with pytest.raises(error, match=pattern):
        call()
