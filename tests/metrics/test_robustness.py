"""perturb_images and hash_retention_curves against references written per image."""

from __future__ import annotations

import numpy as np
import pytest

from sklproxy.metrics import (
    DEFAULT_PERTURBATIONS,
    hash_retention,
    hash_retention_curves,
    perturb_images,
)


def ref_perturb(X, kind, s, rng, lo, hi):
    """One image at a time, drawing in the order perturb_images documents."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    out = X.copy()
    if kind == "jitter":
        c = rng.uniform(1 - s, 1 + s, (n, 1, 1, 1))[:, 0, 0, 0]
        b = rng.uniform(1 - s, 1 + s, (n, 1, 1, 1))[:, 0, 0, 0]
        for i in range(n):
            m = X[i].mean()
            out[i] = np.clip(b[i] * (m + c[i] * (X[i] - m)), lo, hi)
    elif kind == "noise":
        noise = rng.normal(0.0, s * (hi - lo), (n, 1) + X.shape[1:] if X.ndim == 3 else X.shape)
        out = np.clip(X + noise.reshape(X.shape), lo, hi)
    else:
        h, w = X.shape[-2:]
        side = int(round(s * min(h, w)))
        top = rng.randint(0, h - side + 1, n)
        left = rng.randint(0, w - side + 1, n)
        for i in range(n):
            for r in range(top[i], top[i] + side):
                for col in range(left[i], left[i] + side):
                    out[i, ..., r, col] = lo
    return out


@pytest.mark.parametrize("kind", list(DEFAULT_PERTURBATIONS))
@pytest.mark.parametrize("shape", [(6, 7, 5), (4, 3, 6, 6)])
@pytest.mark.parametrize("strength", [0.0, 0.2, 0.5])
def test_perturb_matches_reference(kind, shape, strength):
    X = np.random.default_rng(1).random(shape) * 16
    got = perturb_images(X, kind, strength, random_state=3)
    want = ref_perturb(X, kind, strength, np.random.RandomState(3), X.min(), X.max())
    assert got.shape == X.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert got.min() >= X.min() - 1e-5 and got.max() <= X.max() + 1e-5


def test_occlusion_area_and_zero_strength():
    X = np.ones((5, 1, 10, 10), dtype=np.float32)
    X[:, :, 0, 0] = 0.0  # range [0, 1]
    occluded = perturb_images(X, "occlusion", 0.3, random_state=0)
    lost = (X - occluded).sum(axis=(1, 2, 3))
    assert ((lost == 9) | (lost == 8)).all()  # a 3x3 square, maybe over the one dark pixel
    for kind in DEFAULT_PERTURBATIONS:
        np.testing.assert_array_equal(perturb_images(X, kind, 0.0, random_state=0), X)


def test_errors():
    with pytest.raises(ValueError, match="kind='blur'"):
        perturb_images(np.zeros((2, 4, 4)), "blur", 0.1)
    with pytest.raises(ValueError, match="shape"):
        perturb_images(np.zeros((2, 16)), "noise", 0.1)
    with pytest.raises(ValueError, match="strength"):
        perturb_images(np.zeros((2, 4, 4)), "noise", -1.0)


def test_curves_are_hash_retention_of_the_same_draws():
    X = np.random.default_rng(0).random((40, 1, 6, 6)).astype(np.float32)

    def transform(Z):
        return (Z.reshape(len(Z), -1)[:, :8] > 0.5).astype(np.uint8)

    pert = {"jitter": [0.1, 0.4], "noise": [0.05]}
    out = hash_retention_curves(transform, X, pert, random_state=5)
    rng = np.random.RandomState(5)
    for kind, strengths in pert.items():
        for s in strengths:
            noisy = perturb_images(X, kind, s, random_state=rng, value_range=(X.min(), X.max()))
            np.testing.assert_array_equal(out[kind][s],
                                          hash_retention(transform(X), transform(noisy)))
    again = hash_retention_curves(transform, X, pert, random_state=5)
    np.testing.assert_array_equal(again["noise"][0.05], out["noise"][0.05])
    assert (np.diff(out["jitter"][0.4]) <= 0).all()  # retention falls with the prefix
