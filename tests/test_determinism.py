"""Same random_state, same model on CPU, however busy the machine (issue 21).

Each net estimator is fitted twice while other processes keep every core
busy, with torch's thread count set as a user's session has it (one per
core), and the fits must agree bit for bit; scikit-learn's own
``check_fit_idempotent`` runs under the same load. sklproxy trains and
predicts with ``n_threads`` torch threads (1 by default): with several,
some CPU kernels round differently from run to run on a loaded machine.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import check_fit_idempotent

import sklproxy
from sklproxy import DDTLHasher, DHOGClusterer, ImageClassifier, LADClassifier, LADDebiaser
from sklproxy.debias import LatentClassifierOptions, VQVAEOptions

SMALL_LAD = dict(vqvae=VQVAEOptions(n_codes=16, width=16), max_epochs=2,
                 latent_classifier=LatentClassifierOptions(max_epochs=2))
ESTIMATORS = {
    "DDTLHasher": lambda: DDTLHasher(n_path_bits=4, max_epochs=3, random_state=0, device="cpu"),
    # overclustering heads: the mutual-information gradients that vary with 2 loaded threads
    "DHOGClusterer": lambda: DHOGClusterer(n_heads=3, max_epochs=5, random_state=0, device="cpu"),
    "LADDebiaser": lambda: LADDebiaser(**SMALL_LAD, random_state=0, device="cpu"),
    "ImageClassifier": lambda: ImageClassifier(backbone="convnet", width=8, max_epochs=3,
                                               random_state=0, device="cpu"),
    "LADClassifier": lambda: LADClassifier(
        LADDebiaser(**SMALL_LAD, random_state=0, device="cpu"),
        ImageClassifier(backbone="lenet", width=8, max_epochs=2, random_state=0, device="cpu")),
}


@pytest.fixture(scope="module")
def busy_machine():
    """One spinning process per core (plus one), for the tests of this module."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range((os.cpu_count() or 1) + 1)]
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)  # what a user's session has
    yield
    torch.set_num_threads(threads)
    for p in spinners:
        p.kill()
        p.wait()


@pytest.fixture(scope="module")
def colour_digits(digits):
    from sklproxy.datasets import make_colour_biased

    X, y = digits
    Xc, _ = make_colour_biased(X[:240].reshape(-1, 8, 8), y[:240], max_value=16, random_state=0)
    return Xc.astype(np.float32), y[:240]


def _outputs(est, X):
    out = {}
    for name in ("transform", "predict_proba", "predict"):
        if hasattr(est, name):
            out[name] = np.asarray(getattr(est, name)(X))
    return out


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_same_bits_on_a_busy_machine(name, busy_machine, colour_digits):
    X, y = colour_digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny fits may warn (collapse, codes)
        first = _outputs(ESTIMATORS[name]().fit(X, y), X)
        second = _outputs(ESTIMATORS[name]().fit(X, y), X)
    assert first and first.keys() == second.keys()
    for method in first:
        np.testing.assert_array_equal(first[method], second[method], err_msg=method)
    assert torch.get_num_threads() == (os.cpu_count() or 1)  # the user's setting is restored


@pytest.mark.parametrize("name", ["DDTLHasher", "DHOGClusterer", "LADDebiaser"])
def test_sklearn_fit_idempotent_on_a_busy_machine(name, busy_machine):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_fit_idempotent(name, ESTIMATORS[name]())


def test_config_validates_and_restores():
    assert sklproxy.get_config()["n_threads"] == 1
    with sklproxy.config_context(n_threads=-1):
        assert sklproxy.get_config()["n_threads"] == -1
    assert sklproxy.get_config()["n_threads"] == 1
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_threads=.* is invalid; use a positive int"):
            sklproxy.set_config(n_threads=bad)


def test_fits_use_the_configured_threads(monkeypatch, digits):
    X, y = digits
    seen = []
    net_fit = sklproxy._training.DeviceNet.fit

    def spy(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return net_fit(self, *args, **kwargs)

    monkeypatch.setattr(sklproxy._training.DeviceNet, "fit", spy)
    with sklproxy.config_context(n_threads=2):
        DDTLHasher(n_path_bits=3, max_epochs=1, random_state=0, device="cpu").fit(X[:100], y[:100])
    DDTLHasher(n_path_bits=3, max_epochs=1, random_state=0, device="cpu").fit(X[:100], y[:100])
    assert seen == [2, 1]
