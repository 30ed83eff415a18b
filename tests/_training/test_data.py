"""Device-resident data, index-slice batches, batch losses read back once per epoch."""

import numpy as np
import pytest
import torch

from sklproxy._training import BatchIterator, TensorPairDataset, to_storage


def test_batch_iterator_slices_everything_once():
    X = to_storage(np.arange(10, dtype=np.float32)[:, None], torch.device("cpu"))
    y = torch.arange(10)
    ds = TensorPairDataset(X, y)
    gen = torch.Generator().manual_seed(0)
    it = BatchIterator(ds, 4, torch.device("cpu"), shuffle=True, generator=gen)
    batches = list(it)
    assert len(it) == 3 and [len(b[0]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert torch.equal(torch.cat([b[0][:, 0] for b in batches]).long(), seen)  # X and y aligned
    order_2 = torch.cat([b[1] for b in BatchIterator(
        ds, 4, torch.device("cpu"), shuffle=True, generator=torch.Generator().manual_seed(0))])
    assert torch.equal(seen, order_2)
    # a batch larger than the data is one batch; no shuffle keeps the order; y may be None
    (Xb, yb), = list(BatchIterator(TensorPairDataset(X), 100, torch.device("cpu")))
    assert yb is None and torch.equal(Xb, X)


def test_to_storage_copies():
    a = np.ones((3, 2), dtype=np.float32)
    t = to_storage(a, torch.device("cpu"))
    a[:] = 0
    assert float(t.sum()) == 6.0


def test_batch_losses_are_recorded_like_skorch(digits):
    """DeviceNet reads the batch losses back once per epoch; the history looks as skorch's."""
    from sklproxy.hashing import DDTLHasher

    X, y = digits
    h = DDTLHasher(n_path_bits=3, max_epochs=2, batch_size=64, width=8, device="cpu",
                   random_state=0).fit(X[:200], y[:200])
    for epoch in h.net_.history:
        batches = epoch["batches"]
        assert [b["train_batch_size"] for b in batches] == [64, 64, 64, 8]
        assert epoch["train_batch_count"] == 4
        losses = np.array([b["train_loss"] for b in batches])
        assert losses.dtype == np.float64 and np.isfinite(losses).all()
        sizes = np.array([b["train_batch_size"] for b in batches])
        assert epoch["train_loss"] == pytest.approx((losses * sizes).sum() / sizes.sum())
