"""DeviceNet: lean pickles, and fitted nets that move from CUDA to a CPU-only machine."""

import io
import pickle

import numpy as np
import pytest
import torch

from sklproxy._training import TensorPairDataset
from sklproxy.hashing import DDTLHasher

FAST = dict(n_path_bits=3, max_epochs=2, batch_size=32, width=8, device="cpu", random_state=0)


# ------------------------------------------------------------------ pickles
def _weights_bytes(module):
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return len(buf.getvalue())


def test_pickle_leaves_out_optimizer_state_and_second_module_copy(images, hasher):
    """Before: 6.0x the weights (Adam moments twice, the module twice); now 1.01x on a
    16k-parameter model (1.2x on this tiny one, where the history and classes count)."""
    X, y = images
    data = pickle.dumps(hasher)
    assert len(data) < 1.5 * _weights_bytes(hasher.net_.module_)
    again = pickle.loads(data)
    assert again.net_.module is again.net_.module_
    assert len(again.net_.optimizer_.state) == 0  # a fresh optimizer
    np.testing.assert_array_equal(again.transform(X), hasher.transform(X))
    # the net can still train: partial_fit restarts Adam's moments
    again.net_.partial_fit(TensorPairDataset(torch.from_numpy(X[:, None]), torch.from_numpy(y)), None)
    assert len(again.net_.history) == 2 * hasher.max_epochs
    # the fitted estimator itself is untouched by pickling
    assert len(hasher.net_.optimizer_.state) > 0


def test_pickle_keeps_optimizer_state_when_asked(images):
    X, y = images
    est = DDTLHasher(**FAST).fit(X, y)
    lean = len(pickle.dumps(est))
    est.net_.pickle_optimizer = True
    assert len(pickle.dumps(est)) > lean + 2 * _weights_bytes(est.net_.module_)  # Adam's 2 moments
    again = pickle.loads(pickle.dumps(est))
    assert len(again.net_.optimizer_.state) == len(est.net_.optimizer_.state) > 0


def test_cuda_fitted_lad_unpickles_on_cpu(images, lad):
    """Both of LAD's nets, saved as if fitted on CUDA, load on a CPU-only machine."""
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    X, _ = images
    est = pickle.loads(pickle.dumps(lad))
    expected = est.transform(X)
    est.net_.device = est.latent_net_.device = "cuda"
    est.device_ = torch.device("cuda")
    with pytest.warns(UserWarning, match="CUDA"):
        again = pickle.loads(pickle.dumps(est))
    assert again.device_ == torch.device("cpu")
    np.testing.assert_array_equal(again.transform(X), expected)


