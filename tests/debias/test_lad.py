import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklproxy.debias import ImageClassifier, LADDebiaser

SMALL = dict(n_codes=16, code_dim=8, width=16, walk_steps=3, max_epochs=2,
             classifier_epochs=3, batch_size=64, device="cpu", random_state=0)
CLF = dict(backbone="convnet", width=8, max_epochs=2, batch_size=64, device="cpu",
           random_state=0)


@pytest.fixture(scope="module")
def images():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:240] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32), y[:240]


@pytest.fixture(scope="module")
def fitted(images):
    X, y = images
    return LADDebiaser(**SMALL).fit(X, y)


def test_fit_transform_shape_range_and_diagnostics(images, fitted):
    X, y = images
    out = fitted.transform(X)
    assert out.shape == X.shape and out.dtype == np.float32
    assert out.min() >= X.min() - 1e-6 and out.max() <= X.max() + 1e-6
    assert 0 < fitted.codebook_usage_ <= 1 and fitted.code_counts_.sum() == len(X) * 64
    assert fitted.latent_shape_ == (8, 8, 8)
    ent = fitted.walk_entropy_
    assert ent["after"] > ent["before"] and ent["max"] == pytest.approx(np.log(10))
    assert 0 <= fitted.walk_code_change_ <= 1


def test_fit_transform_equals_fit_then_transform_and_seed(images, fitted):
    # both fits in this test: same seed, same thread count -> same bits on CPU
    X, y = images
    a = LADDebiaser(**SMALL).fit_transform(X, y)
    np.testing.assert_array_equal(a, LADDebiaser(**SMALL).fit(X, y).transform(X))
    b = LADDebiaser(**{**SMALL, "random_state": 1}).fit_transform(X, y)
    assert not np.array_equal(a, b)


def test_input_layouts(images, fitted):
    X, y = images
    flat = fitted.transform(X.reshape(len(X), -1))
    assert flat.shape == (len(X), 64)
    grey = fitted.transform(X[:, 0].astype(np.float64))
    assert grey.shape == (len(X), 8, 8) and grey.dtype == np.float64
    np.testing.assert_allclose(grey.reshape(len(X), -1), flat, rtol=1e-6)
    lad = LADDebiaser(**{**SMALL, "image_shape": (8, 8)}).fit(X.reshape(len(X), -1), y)
    assert lad.input_shape_ == (1, 8, 8)
    vec = LADDebiaser(**SMALL).fit(X.reshape(len(X), -1)[:, :20], y)
    assert vec.transform(X.reshape(len(X), -1)[:5, :20]).shape == (5, 20)
    assert vec.latent_shape_ == (8, 4)
    rgb = np.repeat(X[:60, :, :, :], 3, axis=1)
    assert LADDebiaser(**SMALL).fit_transform(torch.from_numpy(rgb), y[:60]).shape == rgb.shape


def test_pickle_round_trip(images, fitted):
    X, _ = images
    clone_ = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone_.transform(X[:10]), fitted.transform(X[:10]))


def test_bad_input(images, fitted):
    X, y = images
    Xf = X.reshape(len(X), -1)
    for bad in (np.where(np.arange(Xf.size).reshape(Xf.shape) == 3, np.nan, Xf),
                np.where(np.arange(Xf.size).reshape(Xf.shape) == 3, np.inf, Xf)):
        with pytest.raises(ValueError, match="NaN|infinity"):
            LADDebiaser(**SMALL).fit(bad, y)
    with pytest.raises(ValueError, match="[Cc]omplex"):
        LADDebiaser(**SMALL).fit(Xf + 1j, y)
    with pytest.raises(TypeError, match="[Ss]parse"):
        LADDebiaser(**SMALL).fit(sp.csr_matrix(Xf), y)
    with pytest.raises(ValueError, match="0 sample"):
        LADDebiaser(**SMALL).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="1 sample"):
        LADDebiaser(**SMALL).fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="requires y"):
        LADDebiaser(**SMALL).fit(X)
    with pytest.raises(ValueError, match="single class"):
        LADDebiaser(**SMALL).fit(X[:10], np.zeros(10))
    with pytest.raises(ValueError, match="fitted on input of shape"):
        fitted.transform(np.zeros((2, 1, 6, 6), dtype=np.float32))
    with pytest.raises(ValueError, match="features"):
        fitted.transform(np.zeros((2, 30), dtype=np.float32))
    with pytest.raises(ValueError, match="alpha"):
        LADDebiaser(alpha=-1.0).fit(X, y)


def test_pipeline_and_grid_search(images):
    X, y = images
    pipe = make_pipeline(LADDebiaser(**SMALL), ImageClassifier(**CLF))
    assert pipe.fit(X, y).predict(X[:4]).shape == (4,)
    grid = GridSearchCV(pipe, {"laddebiaser__alpha": [0.1, 0.5],
                               "laddebiaser__walk_steps": [1]}, cv=2)
    grid.fit(X[:120], y[:120])
    assert set(grid.best_params_) == {"laddebiaser__alpha", "laddebiaser__walk_steps"}
    assert clone(pipe).get_params()["laddebiaser__alpha"] == 0.1


def test_classifier_backbones_and_seed(images):
    X, y = images
    clf = ImageClassifier(**{**CLF, "max_epochs": 5}).fit(X, y)
    assert clf.backbone_ == "convnet" and clf.score(X, y) > 0.3
    again = ImageClassifier(**{**CLF, "max_epochs": 5}).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X[:8]), again.predict_proba(X[:8]))
    vec = ImageClassifier(max_epochs=1, device="cpu", random_state=0).fit(X.reshape(len(X), -1), y)
    assert vec.backbone_ == "mlp"
    res = ImageClassifier(width=4, max_epochs=1, device="cpu", random_state=0).fit(X[:64], y[:64])
    assert res.backbone_ == "resnet20" and res.predict(X[:3]).shape == (3,)
