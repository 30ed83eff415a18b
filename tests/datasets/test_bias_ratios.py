"""LfF's conflicting fractions (5 / 2 / 1 / 0.5 %) in the colour protocols: exact counts."""

import numpy as np
import pytest

from sklproxy.datasets import make_colour_biased

RATIOS = [0.95, 0.98, 0.99, 0.995]


def images(n_per_class=130, seed=0):
    """Square blobs, labels in class blocks shuffled (1300 images, like digits28's training set)."""
    rng = np.random.RandomState(seed)
    y = rng.permutation(np.repeat(np.arange(10), n_per_class))
    X = np.zeros((len(y), 10, 10), dtype=np.uint8)
    X[:, 3:7, 3:7] = 255
    return X, y


@pytest.mark.parametrize("ratio", RATIOS)
def test_random_assignment_exact(ratio):
    X, y = images()
    X, y = X[:1297], y[:1297]
    _, colour = make_colour_biased(X, y, bias_ratio=ratio, random_state=0)
    assert int((colour != y).sum()) == 1297 - int(round(ratio * 1297))


@pytest.mark.parametrize("ratio", RATIOS)
def test_rebias_assignment_exact(ratio):
    X, y = images()
    Xc, colour = make_colour_biased(X, y, protocol="rebias", bias_ratio=ratio, random_state=0)
    for c in range(10):
        n_c = int((y == c).sum())
        assert int((colour[y == c] == c).sum()) == int(n_c * ratio)  # ReBias: int(n_c * ratio)
    assert colour.min() >= 0 and np.all(Xc.reshape(len(Xc), 3, -1).max(-1) <= 1)


@pytest.mark.parametrize("ratio", RATIOS)
def test_lff_assignment_exact(ratio):
    X, y = images(n_per_class=600)  # LfF's milestones need a few hundred images per class
    _, colour = make_colour_biased(X, y, protocol="lff", bias_ratio=ratio, random_state=0)
    for c in range(10):
        share = np.full(10, (1 - ratio) / 9)
        share[c] = ratio
        milestones = np.round(600 * np.cumsum(share))
        expected = np.diff(np.concatenate([[0], milestones]))
        np.testing.assert_array_equal(np.bincount(colour[y == c], minlength=10), expected)
    conflicting = (colour != y).mean()
    assert conflicting == pytest.approx(1 - ratio, abs=0.002)
