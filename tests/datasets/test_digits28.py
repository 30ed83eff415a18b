"""load_digits28: shape, split, determinism, and agreement with a slow reference."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sklproxy.datasets import load_digits28


def _bilinear_reference(img8: np.ndarray, side: int) -> np.ndarray:
    """Half-pixel-centred bilinear upsampling written from the formula (edge clamped)."""
    n = img8.shape[0]
    out = np.zeros((side, side))
    scale = n / side
    for i in range(side):
        for j in range(side):
            y = max((i + 0.5) * scale - 0.5, 0.0)
            x = max((j + 0.5) * scale - 0.5, 0.0)
            y0, x0 = min(int(np.floor(y)), n - 1), min(int(np.floor(x)), n - 1)
            y1, x1 = min(y0 + 1, n - 1), min(x0 + 1, n - 1)
            dy, dx = y - y0, x - x0
            out[i, j] = ((1 - dy) * (1 - dx) * img8[y0, x0] + (1 - dy) * dx * img8[y0, x1]
                         + dy * (1 - dx) * img8[y1, x0] + dy * dx * img8[y1, x1])
    return out


def test_shapes_split_and_values():
    d = load_digits28()
    assert d.X_train.shape == (1297, 28, 28) and d.X_test.shape == (500, 28, 28)
    assert d.X_train.dtype == np.uint8 and d.y_train.dtype == np.int64
    # stratified: every class in both splits, in about the same share
    assert set(np.unique(d.y_test)) == set(range(10))
    share = np.bincount(d.y_test) / 500
    assert np.all(np.abs(share - np.bincount(d.y_train) / 1297) < 0.01)
    # 4-pixel empty frame, image content inside
    for X in (d.X_train, d.X_test):
        assert X[:, :4].max() == 0 and X[:, -4:].max() == 0
        assert X[:, :, :4].max() == 0 and X[:, :, -4:].max() == 0
    assert d.X_train.max() == 255


def test_matches_reference_and_is_deterministic():
    X8, _ = load_digits(return_X_y=True)
    Xtr, ytr, Xte, yte = load_digits28(return_X_y=True)
    Xtr2, ytr2, _, _ = load_digits28(return_X_y=True)
    np.testing.assert_array_equal(Xtr, Xtr2)
    np.testing.assert_array_equal(ytr, ytr2)
    # every image is the reference upsampling of one of the 8x8 digits
    X_all = np.concatenate([Xtr, Xte])
    for k in (0, 1, 1000):
        ref = np.clip(_bilinear_reference(X8[k].reshape(8, 8) / 16.0, 20), 0, 1)
        ref = np.round(np.pad(ref, 4) * 255)
        dist = np.abs(X_all.astype(float) - ref).max(axis=(1, 2))
        assert dist.min() <= 1.0  # float32 rounding may move a value by one level


def test_other_seed_other_split_and_bad_n_test():
    a = load_digits28(random_state=0).y_train
    b = load_digits28(random_state=1).y_train
    assert not np.array_equal(a, b)
    with pytest.raises(ValueError, match="n_test=5"):
        load_digits28(n_test=5)
