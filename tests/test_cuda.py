"""The estimators on a CUDA device: placement, bf16 numerics, quality, pickling.

Skipped on machines without CUDA (CI); ``benchmarks/gpu_session.sh`` runs this
module first on the GPU machine. The CPU tests cover the contracts; here we
check what only a GPU can show: the weights and the training data live on the
device, bf16 autocast leaves outputs in float32 and agrees with a float32 CPU
forward of the same weights, and the digits quality bars still hold.
"""

import copy
import pickle

import numpy as np
import pytest
import torch

from sklproxy.classification import ImageClassifier
from sklproxy.cluster import DHOGClusterer
from sklproxy.debias import LADDebiaser, LatentClassifierOptions, VQVAEOptions, Walk
from sklproxy.exceptions import NonFiniteLossError
from sklproxy.hashing import DDTLHasher
from sklproxy.metrics import cluster_accuracy, mean_average_precision

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def digit_images(digits):
    X, y = digits
    return (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32), y


@pytest.fixture(scope="module")
def hasher(digit_images):
    X, y = digit_images
    return DDTLHasher(n_path_bits=8, max_epochs=30, batch_size=64, lr=3e-3, width=16, beta=0.3,
                      temperature=0.1, device="auto", random_state=0).fit(X[:1200], y[:1200])


def test_auto_device_resolves_to_cuda_and_weights_live_there(hasher):
    assert hasher.device_.type == "cuda"
    assert all(p.is_cuda for p in hasher.net_.module_.parameters())
    convs = [p for p in hasher.net_.module_.parameters() if p.ndim == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)


def test_ddtl_quality_and_output_dtypes_on_cuda(hasher, digit_images):
    X, y = digit_images
    db, queries = hasher.transform(X[:1200]), hasher.transform(X[1200:])
    assert db.dtype == np.uint8 and set(np.unique(db)) <= {0, 1}
    assert mean_average_precision(queries, db, y[1200:], y[:1200], k=100) >= 0.93
    proba = hasher.predict_proba(X[1200:])
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-4)


def test_bf16_inference_agrees_with_float32_cpu_forward(hasher, digit_images):
    """Same weights, fp32 on the CPU: class predictions agree, path bits nearly all."""
    X, _ = digit_images
    module = copy.deepcopy(hasher.net_.module_).cpu().float().eval()
    with torch.no_grad():
        logits, node_logits = module(torch.from_numpy(X))
    assert (logits.argmax(1).numpy() == hasher.predict(X)).mean() >= 0.98
    proba = torch.softmax(logits, 1).numpy()
    np.testing.assert_allclose(hasher.predict_proba(X), proba, atol=0.05)


def test_pickle_round_trip_on_cuda(hasher, digit_images):
    X, _ = digit_images
    again = pickle.loads(pickle.dumps(hasher))
    assert again.device_.type == "cuda"
    np.testing.assert_array_equal(again.transform(X), hasher.transform(X))


def test_nan_loss_stops_with_clear_error_on_cuda(digit_images):
    X, y = digit_images
    with pytest.raises(NonFiniteLossError, match="lr"):
        DDTLHasher(n_path_bits=4, max_epochs=3, width=8, lr=1e30, device="cuda",
                   random_state=0).fit(X[:240] * 1e30, y[:240])


def test_dhog_on_cuda(digits):
    X, y = digits
    est = DHOGClusterer(n_clusters=10, n_heads=4, n_repeats=4, backbone="convnet", width=16,
                        max_epochs=15, batch_size=128, lr=2e-3, device="cuda",
                        random_state=0).fit(X.reshape(-1, 8, 8))
    assert est.device_.type == "cuda"
    heads = est.predict_heads(X.reshape(-1, 8, 8))
    assert heads.shape == (len(X), 4)
    np.testing.assert_array_equal(heads[:, est.best_head_], est.labels_)
    np.testing.assert_allclose(est.predict_proba(X.reshape(-1, 8, 8)).sum(1), 1, atol=1e-4)
    # CUDA runs (bf16, non-deterministic kernels) are not seeded bit for bit:
    # measured on an H100 0.44 and >= 0.45 in two runs; CPU 0.55 (its bar is
    # 0.45 in tests/cluster). Here: it clearly learns (chance ~0.11).
    assert cluster_accuracy(y, est.labels_) >= 0.35


def test_lad_and_image_classifier_on_cuda(digit_images):
    X, y = digit_images
    from sklproxy.datasets import make_colour_biased

    Xc, _ = make_colour_biased(X[:600, 0], y[:600], random_state=0)
    lad = LADDebiaser(vqvae=VQVAEOptions(n_codes=32, code_dim=8, width=16), max_epochs=10, lr=3e-3,
                      latent_classifier=LatentClassifierOptions(max_epochs=5), batch_size=16,
                      device="cuda", random_state=0)
    out = lad.fit_transform(Xc, y[:600])
    assert lad.device_.type == "cuda"
    assert out.shape == (600, 3, 8, 8) and out.dtype == np.float32
    assert out.min() >= Xc.min() - 1e-6 and out.max() <= Xc.max() + 1e-6
    assert lad.diagnostics_["colour_after"] < lad.diagnostics_["colour_before"] - 0.3
    walk = LADDebiaser(method=Walk(steps=3), vqvae=VQVAEOptions(n_codes=16, code_dim=8, width=16),
                       max_epochs=5, latent_classifier=LatentClassifierOptions(max_epochs=5),
                       batch_size=64, device="cuda", random_state=0).fit(X[:600], y[:600])
    assert walk.diagnostics_["entropy_after"] > walk.diagnostics_["entropy_before"]
    clf = ImageClassifier(backbone="convnet", width=16, max_epochs=10, batch_size=64,
                          device="cuda", random_state=0).fit(X[:1200], y[:1200])
    assert clf.device_.type == "cuda"
    assert clf.score(X[1200:], y[1200:]) >= 0.85
