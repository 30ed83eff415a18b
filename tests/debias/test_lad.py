"""LADDebiaser and LADClassifier: API, determinism, methods, bad input."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklproxy.classification import ImageClassifier
from sklproxy.datasets import make_colour_biased
from sklproxy.debias import (
    LADClassifier,
    LADDebiaser,
    LatentClassifierOptions,
    QEWalk,
    Substitute,
    VQVAEOptions,
    Walk,
)
from sklproxy.nn.walk import qe_walk

# about 120 VQ-VAE steps: fewer leave the reconstructions grey (the loss stays near 1
# for the first 30-50 steps)
VQ = dict(n_codes=32, code_dim=8, width=16)
SMALL = dict(vqvae=VQVAEOptions(**VQ), max_epochs=8, lr=3e-3,
             latent_classifier=LatentClassifierOptions(max_epochs=3), batch_size=16,
             device="cpu", random_state=0)


def with_vqvae(**options):
    """SMALL with other VQ-VAE settings."""
    return {**SMALL, "vqvae": VQVAEOptions(**{**VQ, **options})}
CLF = dict(backbone="convnet", width=8, max_epochs=2, batch_size=64, device="cpu",
           random_state=0)


@pytest.fixture(scope="module")
def images():
    """240 background-coloured 8x8 digits (every image in its class's colour)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    Xc, _ = make_colour_biased(X[:240].reshape(-1, 8, 8), y[:240], max_value=16, random_state=0)
    return Xc, y[:240]


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
    # the background colours are spurious, each in the group of its class
    assert fitted.spurious_codes_.sum() >= 9 and len(fitted.groups_) >= 9
    assert set(fitted.groups_.tolist()) <= set(range(10))
    assert fitted.substitution_tables_.shape == (len(fitted.groups_), 32)
    d = fitted.diagnostics_
    assert d["colour_before"] > 0.9 and d["colour_after"] < 0.5
    assert d["entropy_max"] == pytest.approx(np.log(10)) and 0 < d["code_change"] <= 1
    assert d["latent_accuracy_after"] < fitted.latent_accuracy_


def test_substituted_images_swap_colour_keep_object(images, fitted):
    X, y = images
    out = fitted.transform(X)
    # the border (background) changed colour in most images, the object did not
    changed = np.abs(out[:, :, 0, 0] - X[:, :, 0, 0]).max(axis=1) > 0.2
    assert changed.mean() > 0.6
    grey = X.mean(axis=1)
    obj = grey > 0.7
    assert np.abs(out.mean(axis=1)[obj] - grey[obj]).mean() < 0.15


def test_determinism_and_fit_transform(images, fitted):
    # both fits in this test: same seed, same thread count -> same bits on CPU
    X, y = images
    a = LADDebiaser(**SMALL).fit_transform(X, y)
    np.testing.assert_array_equal(a, fitted.transform(X))
    np.testing.assert_array_equal(fitted.transform(X), fitted.transform(X))
    b = LADDebiaser(**{**SMALL, "random_state": 1}).fit_transform(X, y)
    assert not np.array_equal(a, b)


def test_transform_is_per_sample_and_chunk_free(images, fitted):
    import sklearn

    X, _ = images
    full = fitted.transform(X)
    # the same groups whatever the rows around (floats may differ in the last bit)
    np.testing.assert_allclose(fitted.transform(X[17:40]), full[17:40], atol=1e-6)
    with sklearn.config_context(working_memory=0.01):  # row chunks of whole batches: same bits
        np.testing.assert_array_equal(fitted.transform(X), full)
    # the hashed groups are spread over every group, whatever the class
    codes = fitted._quantise(fitted._encode(torch.from_numpy(X)))[1]
    groups = fitted.debias_module().hashed_targets(codes).numpy()
    assert len(np.unique(groups)) == len(fitted.groups_)
    assert np.bincount(groups).max() < 0.25 * len(X)


def test_debias_module_draws_new_groups(images, fitted):
    X, _ = images
    module = fitted.debias_module()
    gen = torch.Generator().manual_seed(0)
    x = torch.from_numpy(X[:32])
    a, b = module(x, gen), module(x, gen)
    assert a.shape == x.shape and not torch.equal(a, b)


def test_walk_methods(images, fitted):
    X, y = images
    for method in (Walk(steps=3), QEWalk(steps=3)):
        lad = LADDebiaser(**{**SMALL, "method": method}).fit(X, y)
        d = lad.diagnostics_
        assert d["entropy_after"] > d["entropy_before"]
        assert lad.transform(X[:5]).shape == (5, 3, 8, 8)
    # qe-walk is Algorithm 1: re-quantise the state after every step, raw alpha
    assert lad.step_scale_ == 1.0
    h = lad._encode(torch.from_numpy(X[:8]))
    ref = qe_walk(h, lad.latent_net_.module_, lad.net_.module_.codebook, steps=3, alpha=0.1,
                  step_scale=1.0, accumulate=False).latents
    with torch.no_grad():
        expected = lad.net_.module_.decode(ref).numpy()
    np.testing.assert_allclose(lad.transform(X[:8]), expected, atol=1e-6)


def test_no_spurious_code_warns_and_reconstructs():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X[:200] / 16.0).reshape(-1, 1, 8, 8)  # grey: every grey level occurs in every class
    with pytest.warns(UserWarning, match="no spurious code"):
        lad = LADDebiaser(**SMALL).fit(X, y[:200])
    assert lad.groups_.size == 0 and lad.substitution_tables_.shape == (1, 32)
    assert lad.diagnostics_["code_change"] == 0


def test_input_layouts(images, fitted):
    X, y = images
    flat = fitted.transform(X.reshape(len(X), -1))
    assert flat.shape == (len(X), 192)
    np.testing.assert_allclose(flat, fitted.transform(X).reshape(len(X), -1))
    lad = LADDebiaser(**{**SMALL, "image_shape": (3, 8, 8)}).fit(X.reshape(len(X), -1), y)
    assert lad.input_shape_ == (3, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # vectors: maybe no spurious code
        vec = LADDebiaser(**SMALL).fit(X.reshape(len(X), -1)[:, :20], y)
    assert vec.transform(X.reshape(len(X), -1)[:5, :20]).shape == (5, 20)
    assert vec.latent_shape_ == (8, 4)
    out = LADDebiaser(**SMALL).fit_transform(torch.from_numpy(X[:60]), y[:60])
    assert out.shape == (60, 3, 8, 8)
    grey = LADDebiaser(**SMALL).fit(X[:, 0].astype(np.float64), y)
    assert grey.transform(X[:4, 0].astype(np.float64)).dtype == np.float64


def test_latent_stride_and_kernel(images):
    X, y = images
    big = np.repeat(np.repeat(X, 2, axis=2), 2, axis=3)  # 16x16
    lad = LADDebiaser(**with_vqvae(latent_stride=2)).fit(big, y)
    assert lad.latent_shape_ == (8, 8, 8)
    lad = LADDebiaser(**with_vqvae(kernel_size=3)).fit(X, y)
    assert lad.transform(X[:3]).shape == (3, 3, 8, 8)


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
        fitted.transform(np.zeros((2, 3, 6, 6), dtype=np.float32))
    with pytest.raises(ValueError, match="features"):
        fitted.transform(np.zeros((2, 30), dtype=np.float32))
    with pytest.raises(ValueError, match="alpha"):
        LADDebiaser(method=QEWalk(alpha=-1.0)).fit(X, y)
    with pytest.raises(ValueError, match="method"):
        LADDebiaser(method="permute").fit(X, y)
    # images too small for the latent grid, odd strides, even kernels
    with pytest.raises(ValueError, match="latent_stride=8 does not fit images of 8x8"):
        LADDebiaser(**with_vqvae(latent_stride=8)).fit(X, y)
    with pytest.raises(ValueError, match="latent_stride=3 must be 1 or a power of 2"):
        LADDebiaser(**with_vqvae(latent_stride=3)).fit(X, y)
    with pytest.raises(ValueError, match="kernel_size=2 must be odd"):
        LADDebiaser(**with_vqvae(kernel_size=2)).fit(X, y)


def test_pipeline_and_grid_search(images):
    X, y = images
    pipe = make_pipeline(LADDebiaser(**{**SMALL, "method": Substitute()}), ImageClassifier(**CLF))
    assert pipe.fit(X, y).predict(X[:4]).shape == (4,)
    grid = GridSearchCV(pipe, {"laddebiaser__method__threshold": [0.5, 0.7]}, cv=2)
    grid.fit(X[:120], y[:120])
    assert set(grid.best_params_) == {"laddebiaser__method__threshold"}
    assert clone(pipe).get_params()["laddebiaser__method__threshold"] == 0.7


def test_lad_classifier(images):
    X, y = images
    clf = LADClassifier(LADDebiaser(**SMALL), ImageClassifier(**CLF)).fit(X, y)
    assert clf.predict(X[:5]).shape == (5,) and set(clf.classes_) == set(range(10))
    assert clf.predict_proba(X[:5]).shape == (5, 10)
    assert 0 <= clf.score(X, y) <= 1 and clf.n_features_in_ == 192
    again = LADClassifier(LADDebiaser(**SMALL), ImageClassifier(**CLF)).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X[:8]), again.predict_proba(X[:8]))
    # the classifier's own augmentation runs after the debiasing step
    assert clf.classifier_.get_params()["augment"].augment is not None
    with pytest.raises(ValueError, match="has no 'augment' parameter"):
        LADClassifier(LADDebiaser(**SMALL), LogisticRegression()).fit(X, y)
    grid = GridSearchCV(LADClassifier(LADDebiaser(**{**SMALL, "method": Substitute()}),
                                      ImageClassifier(**CLF)),
                        {"debiaser__method__threshold": [0.5, 0.7]}, cv=2).fit(X[:120], y[:120])
    assert grid.best_params_["debiaser__method__threshold"] in (0.5, 0.7)


def test_classifier_backbones_and_seed(images):
    X, y = images
    clf = ImageClassifier(**{**CLF, "max_epochs": 5}).fit(X, y)
    assert clf.backbone_ == "convnet" and clf.score(X, y) > 0.3
    again = ImageClassifier(**{**CLF, "max_epochs": 5}).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X[:8]), again.predict_proba(X[:8]))
    vec = ImageClassifier(max_epochs=1, device="cpu", random_state=0).fit(X.reshape(len(X), -1), y)
    assert vec.backbone_ == "mlp"
    auto = ImageClassifier(width=4, max_epochs=1, device="cpu", random_state=0).fit(X[:64], y[:64])
    assert auto.backbone_ == "lenet" and auto.predict(X[:3]).shape == (3,)  # CPU-sized default
    res = ImageClassifier(backbone="resnet20", width=4, max_epochs=1, device="cpu",
                          random_state=0).fit(X[:64], y[:64])
    assert res.backbone_ == "resnet20" and res.predict(X[:3]).shape == (3,)
    lenet = ImageClassifier(**{**CLF, "backbone": "lenet"}).fit(X, y)
    assert lenet.predict(X[:3]).shape == (3,)


def test_lad_classifier_pickles_each_network_once(images):
    X, y = images
    clf = LADClassifier(LADDebiaser(**SMALL), ImageClassifier(**CLF)).fit(X, y)
    modules = [clf.debiaser_.net_.module_, clf.debiaser_.latent_net_.module_,
               clf.classifier_.net_.module_]
    weights = sum(p.numel() * 4 for m in modules for p in m.parameters())
    data = pickle.dumps(clf)
    assert len(data) < 1.3 * weights + 200_000, (len(data), weights)
    again = pickle.loads(data)
    np.testing.assert_array_equal(again.predict_proba(X[:16]), clf.predict_proba(X[:16]))
    # the debiasing step of substitution does not hold the latent classifier at all
    assert clf.debiaser_.debias_module().classifier is None


def test_nested_lists_keep_their_layout(images, fitted):
    X, _ = images
    as_list = X[:3].tolist()                                       # 4-D nested lists
    out = fitted.transform(as_list)
    assert out.shape == (3, 3, 8, 8)
    np.testing.assert_array_equal(out, fitted.transform(X[:3]))
    assert fitted.transform(X[:3].reshape(3, -1).tolist()).shape == (3, 192)
