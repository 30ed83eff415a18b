"""Tests for sklproxy.datasets.make_one_pixel."""

import numpy as np
import pytest

from sklproxy.datasets import make_one_pixel


def test_training_variant_sets_class_pixel():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 100, size=(30, 28, 28)).astype(np.uint8)
    y = np.arange(30) % 10
    Xp, pixel = make_one_pixel(X, y)
    assert Xp.dtype == np.uint8 and Xp.shape == X.shape
    np.testing.assert_array_equal(pixel, y)
    for i in range(30):
        assert Xp[i, 0, y[i]] == 255  # full intensity for uint8
        changed = Xp[i] != X[i]
        changed[0, y[i]] = False
        assert not changed.any()  # nothing else touched
    assert not np.shares_memory(Xp, X)


def test_test_variant_is_independent():
    X = np.zeros((3000, 4, 12), dtype=np.float32)
    y = np.zeros(3000, dtype=int)
    y[:10] = np.arange(10)
    Xp, pixel = make_one_pixel(X, y, test=True, random_state=0)
    counts = np.bincount(pixel, minlength=10)
    assert counts.min() > 230 and counts.max() < 370
    assert (Xp[np.arange(3000), 0, pixel] == 1.0).all()  # float in [0,1] -> 1.0
    assert Xp.sum() == 3000
    _, again = make_one_pixel(X, y, test=True, random_state=0)
    np.testing.assert_array_equal(pixel, again)


def test_channels_and_value():
    X = np.zeros((5, 3, 6, 6))
    y = np.array([0, 1, 2, 3, 4])
    Xp, pixel = make_one_pixel(X, y, value=0.5)
    for i in range(5):
        assert (Xp[i, :, 0, i] == 0.5).all()
    assert Xp.sum() == 0.5 * 3 * 5


def test_digits_scale():
    X = np.full((2, 8, 8), 3.0)
    X[0, 4, 4] = 16.0
    Xp, _ = make_one_pixel(X, [1, 0])
    assert Xp[0, 0, 1] == 16.0 and Xp[1, 0, 0] == 16.0


@pytest.mark.parametrize(
    "X, y, kw, match",
    [
        (np.zeros((4, 64)), np.arange(4), {}, "ndim=2"),
        (np.zeros((4, 8, 8)), np.arange(5), {}, "one label per image"),
        (np.zeros((4, 3, 3)), np.arange(4), {}, "4 classes need 4 pixels"),
        (np.zeros((4, 8, 8), np.uint8), np.arange(4), {"value": 256}, "value=256"),
        (np.zeros((4, 8, 8), np.uint8), np.arange(4), {"value": 0.5}, "value=0.5"),
        (np.zeros((4, 8, 8)), np.arange(4), {"n_classes": 2}, "n_classes=2"),
    ],
)
def test_bad_inputs(X, y, kw, match):
    with pytest.raises(ValueError, match=match):
        make_one_pixel(X, y, **kw)
