"""Data-parallel training over 2 processes (torchrun, gloo on CPU) against one process."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sklproxy.classification import ImageClassifier
from sklproxy.hashing import DDTLHasher
from sklproxy.parallel import data_parallel

sys.path.insert(0, str(Path(__file__).parent))
import ddp_fit  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank(rank: int, world: int, port: int, out: str) -> None:
    """One forked rank with the environment torchrun gives each process."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    ddp_fit.main(out)


@pytest.fixture(scope="module")
def ddp_fitted(tmp_path_factory):
    """The estimators of ``ddp_fit.py`` fitted by 2 processes in one gloo group.

    The ranks are forked from this process with the environment ``torchrun``
    sets (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), so ``data_parallel()``
    takes the same path as under ``torchrun`` without two fresh imports of
    torch (about 17 s on the shared 2-core machine). The torchrun launch
    itself, ``python -m torch.distributed.run --standalone --nproc-per-node=2
    tests/parallel/ddp_fit.py out.pkl``, gave the same figures (3.6e-7).
    """
    out = str(tmp_path_factory.mktemp("ddp") / "fitted.pkl")
    ctx = multiprocessing.get_context("fork")
    port = _free_port()
    ranks = [ctx.Process(target=_rank, args=(r, 2, port, out)) for r in range(2)]
    for proc in ranks:
        proc.start()
    for proc in ranks:
        proc.join(timeout=300)
    for proc in ranks:
        if proc.is_alive():  # a rank that hangs must not outlive the test
            proc.kill()
            proc.join()
    assert [proc.exitcode for proc in ranks] == [0, 0]
    with open(out, "rb") as f:
        return pickle.load(f)


def test_two_processes_match_one_with_the_same_global_batch(ddp_fitted):
    """MLP classifier, cross-entropy: the 2-process fit is the 1-process fit.

    Same global batch (96), same seed. Measured: max |proba difference|
    3.6e-7, max |weight difference| 8.9e-8 after 4 epochs (float sums in a
    different order); the tolerance is 1e-5.
    """
    X, y = ddp_fit.data()
    ref = ImageClassifier(**ddp_fit.CLASSIFIER).fit(X, y)
    dp = ddp_fitted["classifier"]
    np.testing.assert_allclose(dp.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(dp.predict(X), ref.predict(X))
    ref_w = dict(ref.net_.module_.named_parameters())
    for name, w in dp.net_.module_.named_parameters():
        torch.testing.assert_close(w, ref_w[name], rtol=0, atol=1e-5)
    np.testing.assert_allclose([h["train_loss"] for h in dp.net_.history],
                               [h["train_loss"] for h in ref.net_.history], rtol=1e-5)


def test_batch_coupled_loss_and_batchnorm_get_the_single_process_gradient(ddp_fitted):
    """DDTL: NT-Xent within classes over the global batch, BatchNorm on the node logits.

    First step on all 600 samples (two views each): every parameter's
    gradient from 2 processes equals the 1-process one; measured max
    difference 3.0e-8 (the node biases before the BatchNorm, whose true
    gradient is 0: rounding noise in both runs), 8.5e-9 elsewhere, with
    gradients up to 3.3e-3. Tolerance 1e-7.
    """
    X, y = ddp_fit.data()
    ref = ddp_fit.first_moments(DDTLHasher(**ddp_fit.ONE_STEP).fit(X, y))
    got = ddp_fitted["first_moments"]
    assert len(got) == len(ref) > 0
    for g, r in zip(got, ref, strict=True):
        torch.testing.assert_close(g, r, rtol=0, atol=1e-7)


def test_batchnorm_model_trains_like_one_process(ddp_fitted):
    """DDTL over 4 epochs of 7 steps: the same losses, nearly the same codes.

    Measured: loss history equal to 6 decimals, 99.77% of the bits equal,
    self-retrieval mAP@100 0.4911 (2 processes) vs 0.4895 (1). Adam turns
    the rounding noise of the zero-gradient node biases into lr-sized steps,
    so a few tree decisions near 0 flip. Thresholds: losses rtol 1e-5, 99%
    of the bits, mAP within 0.01.
    """
    from sklproxy.metrics import self_retrieval_map

    X, y = ddp_fit.data()
    ref = DDTLHasher(**ddp_fit.HASHER).fit(X, y)
    dp = ddp_fitted["hasher"]
    np.testing.assert_allclose([h["train_loss"] for h in dp.net_.history],
                               [h["train_loss"] for h in ref.net_.history], rtol=1e-5)
    codes, ref_codes = dp.transform(X), ref.transform(X)
    assert (codes == ref_codes).mean() >= 0.99
    assert abs(self_retrieval_map(codes, y, k=100) - self_retrieval_map(ref_codes, y, k=100)) < 0.01


def test_fitted_estimators_pickle_like_any_other(ddp_fitted):
    for est in (ddp_fitted["classifier"], ddp_fitted["hasher"]):
        assert est.net_._ddp is None  # no DDP wrapper left on the fitted net
        assert all("forward" not in m.__dict__ for m in est.net_.module_.modules())  # BatchNorm restored
        again = pickle.loads(pickle.dumps(est))
        X, _ = ddp_fit.data()
        out = again.predict_proba(X[:50]) if hasattr(est, "predict_proba") else None
        if isinstance(est, ImageClassifier):
            np.testing.assert_array_equal(out, est.predict_proba(X[:50]))
        else:
            np.testing.assert_array_equal(again.transform(X[:50]), est.transform(X[:50]))


def test_data_parallel_without_a_launcher_says_how_to_launch(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(RuntimeError, match="torchrun --nproc-per-node"):
        with data_parallel():
            pass
