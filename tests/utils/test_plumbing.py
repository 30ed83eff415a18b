import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator

from sklproxy.utils import (
    BatchIterator,
    TensorPairDataset,
    normalize_image_shape,
    resolve_device,
    seed_from_random_state,
    to_storage,
    torch_seeded,
    validate_input,
)


class Dummy(BaseEstimator):
    pass


@pytest.mark.parametrize(
    "X, image_shape, expected",
    [
        (np.zeros((4, 6)), None, (6,)),
        (np.zeros((4, 6)), (2, 3), (1, 2, 3)),
        (np.zeros((4, 12)), (3, 2, 2), (3, 2, 2)),
        (np.zeros((4, 5, 7)), None, (1, 5, 7)),
        (np.zeros((4, 3, 5, 7)), None, (3, 5, 7)),
        (torch.zeros(4, 3, 5, 7, dtype=torch.float64), None, (3, 5, 7)),
        ([[0, 1], [2, 3]], None, (2,)),
    ],
)
def test_validate_input_shapes(X, image_shape, expected):
    est = Dummy()
    out = validate_input(est, X, reset=True, image_shape=image_shape)
    assert out.dtype == np.float32 and out.shape[1:] == expected
    assert est.input_shape_ == expected and est.n_features_in_ == int(np.prod(expected))
    # at predict time the fitted shape and its flattened form are both accepted
    again = validate_input(est, np.asarray(X).reshape(len(out), -1), reset=False)
    assert again.shape == out.shape


def test_validate_input_errors():
    est = Dummy()
    with pytest.raises(ValueError, match="image_shape=\\(5, 5\\)"):
        validate_input(est, np.zeros((3, 10)), reset=True, image_shape=(5, 5))
    with pytest.raises(ValueError, match="does not match"):
        validate_input(est, np.zeros((3, 4, 4)), reset=True, image_shape=(5, 5))
    with pytest.raises(ValueError, match="image_shape"):
        normalize_image_shape((1, 2, 3, 4))
    validate_input(est, np.zeros((3, 1, 4, 4)), reset=True)
    with pytest.raises(ValueError, match="fitted on input of shape"):
        validate_input(est, np.zeros((3, 2, 4, 4)), reset=False)
    with pytest.raises(ValueError, match="features"):
        validate_input(est, np.zeros((3, 15)), reset=False)
    with pytest.raises(ValueError, match="1 sample"):
        validate_input(est, np.zeros((1, 4)), reset=True, min_samples=2)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda"}
    with pytest.raises(ValueError, match="device='gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(TypeError):
        resolve_device(3)


def test_seeding_is_reproducible_and_restores_global_state():
    assert seed_from_random_state(3) == seed_from_random_state(3)
    torch.manual_seed(7)
    expected = torch.rand(2)
    torch.manual_seed(7)
    with torch_seeded(1, torch.device("cpu")):
        a = torch.rand(2)
    with torch_seeded(1, torch.device("cpu")):
        b = torch.rand(2)
    assert torch.equal(a, b)
    torch.testing.assert_close(torch.rand(2), expected)


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
