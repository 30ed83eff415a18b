"""Conventions every estimator shares: set_output, tags, get_feature_names_out and the
error messages that name the parameter and the fix."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sklproxy.classification import ImageClassifier
from sklproxy.cluster import DHOGClusterer
from sklproxy.debias import LADDebiaser, LatentClassifierOptions, VQVAEOptions
from sklproxy.hashing import CrPCA, DDTLHasher
from sklproxy.utils import resolve_device, validate_input

FAST = dict(n_path_bits=3, max_epochs=2, batch_size=32, width=8, device="cpu", random_state=0)
# the fixtures ``images``, ``hasher`` and ``lad`` (tests/conftest.py) are fitted with these
LAD_FAST = dict(vqvae=VQVAEOptions(n_codes=8, code_dim=4, width=8),
                latent_classifier=LatentClassifierOptions(max_epochs=2), max_epochs=2,
                batch_size=32, device="cpu", random_state=0)


# ------------------------------------------------------------------ set_output, names, tags
def test_lad_set_output_default_keeps_images_pandas_flattens(images, lad):
    pd = pytest.importorskip("pandas")
    X, _ = images
    est = clone(lad).set_output(transform="default")
    assert est is not None
    assert lad.transform(X[:4]).shape == (4, 8, 8)  # the input's layout
    assert lad.transform(X[:4, None]).shape == (4, 1, 8, 8)
    frame = clone(lad).set_params().fit(*images).set_output(transform="pandas").transform(X[:4])
    assert isinstance(frame, pd.DataFrame) and frame.shape == (4, 64)
    assert list(frame.columns[:2]) == ["x0", "x1"]


def test_pipeline_with_lad_accepts_set_output(images):
    pd = pytest.importorskip("pandas")
    X, y = images
    pipe = make_pipeline(LADDebiaser(**LAD_FAST),
                         ImageClassifier(backbone="convnet", width=4, max_epochs=1,
                                         image_shape=(1, 8, 8), device="cpu", random_state=0))
    pipe.set_output(transform="pandas")
    assert isinstance(pipe[:-1].fit_transform(X, y), pd.DataFrame)
    assert pipe.fit(X, y).predict(X[:3]).shape == (3,)


def test_hasher_set_output_pandas_names_the_bits(images, hasher):
    pd = pytest.importorskip("pandas")
    X, _ = images
    frame = clone(hasher).fit(*images).set_output(transform="pandas").transform(X[:2])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["class_bit0", "class_bit1", "class_bit2", "class_bit3",
                                   "path_bit0", "path_bit1", "path_bit2"]


@pytest.mark.parametrize("est", [DDTLHasher(), CrPCA(), DHOGClusterer(), LADDebiaser(),
                                 ImageClassifier()], ids=type)
def test_three_d_array_tag(est):
    assert est.__sklearn_tags__().input_tags.three_d_array


@pytest.mark.parametrize("name", ["hasher", "lad", "crpca"])
def test_get_feature_names_out_rejects_wrong_input_features(name, images, request):
    X, y = images
    est = CrPCA(n_path_bits=2).fit(X, y) if name == "crpca" else request.getfixturevalue(name)
    assert len(est.get_feature_names_out()) == est.transform(X[:1]).reshape(1, -1).shape[1]
    with pytest.raises(ValueError, match="input_features has 3 names .* 64 features"):
        est.get_feature_names_out(["a", "b", "c"])
    names = [f"px{i}" for i in range(64)]
    assert len(est.get_feature_names_out(names)) > 0  # the right length is accepted


def test_get_feature_names_out_checks_names_seen_in_fit():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.RandomState(0).rand(40, 4), columns=list("abcd"))
    est = CrPCA(n_path_bits=2).fit(X, np.arange(40) % 2)
    with pytest.raises(ValueError, match="does not match feature_names_in_"):
        est.get_feature_names_out(list("abce"))


# ------------------------------------------------------------------ validation and messages
class _Est:
    pass


def test_values_beyond_float32_are_refused(hasher, images):
    X, _ = images
    big = X.astype(np.float64) * 1e40
    with pytest.raises(ValueError, match="beyond the float32 range.*Rescale X"):
        hasher.transform(big)
    from sklearn.base import BaseEstimator
    est = BaseEstimator()
    assert validate_input(est, np.full((3, 2), 3e38), reset=True).dtype == np.float32


def test_five_d_input_message(hasher):
    with pytest.raises(ValueError, match=r"X has 5 dimensions .* 4-D images \(n_samples, C, H, W\)"):
        DDTLHasher(**FAST).fit(np.zeros((4, 1, 1, 8, 8)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="X has 5 dimensions"):
        hasher.transform(np.zeros((2, 1, 1, 8, 8)))


def test_multilabel_y_with_other_values_message(images):
    X, _ = images
    Y = np.zeros((len(X), 3), dtype=int)
    Y[:, 0], Y[0, 1], Y[1, 2] = 1, 2, 1
    with pytest.raises(ValueError, match=r"multi-label 0/1 indicator .* also holds \[2\]"):
        DDTLHasher(**FAST).fit(X, Y)
    Y = np.zeros((len(X), 3), dtype=int)
    Y[0, 1] = Y[1, 0] = 2  # two values: scikit-learn calls it a multi-label indicator
    with pytest.raises(ValueError, match=r"values other than 0/1 \(\[2\]\)"):
        DDTLHasher(**FAST).fit(X, Y)


def test_two_d_y_for_single_label_estimators(images):
    X, y = images
    with pytest.raises(ValueError, match=r"takes 1-D class labels .* np.ravel"):
        LADDebiaser(**LAD_FAST).fit(X, np.c_[y, y])


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_mps_without_mps_message(images):
    with pytest.raises(ValueError, match="device='mps'.*MPS .* not available.*device='cpu'"):
        resolve_device("mps")
    X, y = images
    with pytest.raises(ValueError, match="device='mps'"):
        DDTLHasher(**{**FAST, "device": "mps"}).fit(X, y)


def test_unusable_device_message():
    with pytest.raises(ValueError, match="device='xpu' is not usable on this machine"):
        resolve_device("xpu") if not hasattr(torch, "xpu") or not torch.xpu.is_available() \
            else pytest.skip("this machine has an XPU")


def test_no_torch_warning_for_read_only_input(images, tmp_path):
    """DataFrames and read-only memory maps go in without torch's 'not writable' warning."""
    import warnings

    import pandas as pd

    X, y = images
    flat = X.reshape(len(X), -1)
    path = tmp_path / "x.npy"
    np.save(path, flat)
    read_only = np.load(path, mmap_mode="r")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for data in (pd.DataFrame(flat), read_only):
            est = DDTLHasher(**FAST).fit(data, y)
            est.transform(data)
            ImageClassifier(max_epochs=1, device="cpu", random_state=0).fit(data, y).predict(data)
