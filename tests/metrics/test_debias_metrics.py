"""colour_features / colour_decodability against a slow reference and on clear cases."""

import numpy as np
import pytest

from sklproxy.metrics import colour_decodability, colour_features


def _reference(img, border=3, bright=0.3):
    C, H, W = img.shape
    rows = list(range(border)) + list(range(H - border, H))
    edge = [np.mean([img[c, r, x] for r in rows for x in range(W)]) for c in range(C)]
    grey = img.mean(axis=0)
    top = grey.max()
    pix = [(r, x) for r in range(H) for x in range(W) if grey[r, x] > bright * top]
    obj = [np.mean([img[c, r, x] for r, x in pix]) if pix else 0.0 for c in range(C)]
    return np.array(edge + obj)


def test_features_match_reference():
    rng = np.random.RandomState(0)
    X = rng.rand(5, 3, 10, 9)
    X[1] = 0.0  # all dark: no bright pixel above 0.3 * 0
    got = colour_features(X)
    for i in range(5):
        np.testing.assert_allclose(got[i], _reference(X[i]), atol=1e-12)
    grey = colour_features(X[:, 0])  # (n, H, W): one channel
    assert grey.shape == (5, 2)


def test_decodability_biased_vs_independent():
    rng = np.random.RandomState(0)
    y = np.arange(200) % 4
    base = rng.rand(200, 1, 12, 12) * 0.2
    palette = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=float)
    biased = base + palette[y][:, :, None, None]
    independent = base + palette[rng.randint(0, 4, 200)][:, :, None, None]
    assert colour_decodability(biased, y) == 1.0
    assert colour_decodability(independent, y) < 0.45  # chance 0.25


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        colour_features(np.zeros((4, 10)))
    with pytest.raises(ValueError, match="border=6"):
        colour_features(np.zeros((4, 3, 10, 10)), border=6)
    with pytest.raises(ValueError, match="NaN"):
        colour_features(np.full((4, 3, 10, 10), np.nan))
    with pytest.raises(ValueError):
        colour_decodability(np.zeros((4, 3, 8, 8)), np.zeros(3))
