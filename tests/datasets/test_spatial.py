"""Tests for sklproxy.datasets.make_spatial_biased (class texture, jittered class patch)."""

import math

import numpy as np
import pytest

from sklproxy.datasets import PATCHES, TEXTURES, make_spatial_biased


def blobs(n=20, side=28):
    X = np.zeros((n, side, side), dtype=np.uint8)
    X[:, 8:20, 10:18] = 200
    X[:, 12:16, 12:16] = 0  # an enclosed hole: not background
    return X, np.arange(n) % 10


def test_patterns_are_distinct():
    assert PATCHES.shape == (10, 4, 4) and (PATCHES.sum(axis=(1, 2)) == 8).all()
    assert len({p.tobytes() for p in PATCHES}) == 10
    assert TEXTURES.shape == (10, 2) and len({tuple(t) for t in TEXTURES}) == 10


def test_texture_against_reference():
    X, y = blobs()
    Xt, signal = make_spatial_biased(X, y, kind="texture", strength=0.4, random_state=0)
    assert Xt.shape == (20, 1, 28, 28) and Xt.dtype == np.float32
    np.testing.assert_array_equal(signal, y)
    phases = np.random.RandomState(0).uniform(0, 2 * np.pi, size=20)  # bias 1: no assignment draws
    for i in range(20):
        angle, period = TEXTURES[y[i]]
        a = math.radians(angle)
        for r in range(28):
            for c in range(28):
                inside = 8 <= r < 20 and 10 <= c < 18
                if inside:  # object and its hole unchanged
                    assert Xt[i, 0, r, c] == pytest.approx(X[i, r, c] / 255)
                else:
                    ref = 0.4 * 0.5 * (1 + math.cos(2 * math.pi * (r * math.sin(a) + c * math.cos(a)) / period
                                                    + phases[i]))
                    assert Xt[i, 0, r, c] == pytest.approx(ref, abs=1e-6)


def find_patch(img, size=4):
    """(row, col, class) of the patch in img, by exhaustive search."""
    hits = [(r, c, k) for r in range(img.shape[0] - size + 1) for c in range(img.shape[1] - size + 1)
            for k in range(10) if np.array_equal(img[r:r + size, c:c + size], PATCHES[k])]
    return hits


def test_patch_position_jitters_within_range():
    X = np.zeros((200, 28, 28), dtype=np.uint8)
    y = np.arange(200) % 10
    Xp, signal = make_spatial_biased(X, y, kind="patch", jitter=2, patch_size=4, random_state=0)
    rows, cols = [], []
    for i in range(200):
        hits = find_patch(Xp[i, 0])
        assert len(hits) == 1 and hits[0][2] == y[i]
        rows.append(hits[0][0])
        cols.append(hits[0][1])
        rest = Xp[i, 0].copy()
        rest[hits[0][0]:hits[0][0] + 4, hits[0][1]:hits[0][1] + 4] = 0
        assert not rest.any()  # nothing else touched
    assert set(rows) == set(range(5)) and set(cols) == set(range(5))  # 2 +- 2


def test_patch_size_position_strength_and_object():
    X, y = blobs(10)
    Xp, _ = make_spatial_biased(X, y, kind="patch", jitter=0, patch_size=8, position=(18, 18), strength=0.5)
    for i in range(10):
        np.testing.assert_allclose(Xp[i, 0, 18:26, 18:26], np.kron(PATCHES[y[i]], np.ones((2, 2))) * 0.5)
    np.testing.assert_allclose(Xp[:, 0, 8:18, 10:18], X[:, 8:18, 10:18] / 255, atol=1e-6)


@pytest.mark.parametrize("kind", ["texture", "patch"])
def test_modes_ratio_determinism(kind):
    n = 1297
    X = np.zeros((n, 28, 28), dtype=np.uint8)
    y = np.arange(n) % 10
    for ratio in (0.95, 0.98, 0.99, 0.995):
        _, s = make_spatial_biased(X, y, kind=kind, bias_ratio=ratio, random_state=0)
        assert int((s != y).sum()) == n - int(round(ratio * n))
    _, ind = make_spatial_biased(X, y, kind=kind, test_mode="independent", random_state=0)
    assert 0.05 < np.mean(ind == y) < 0.15 and len(np.unique(ind)) == 10
    Xc, cond = make_spatial_biased(X[:5], y[:5], kind=kind, test_mode="conditioned")
    assert (cond == -1).all() and not Xc.any()
    a, _ = make_spatial_biased(X[:20], y[:20], kind=kind, random_state=3)
    b, _ = make_spatial_biased(X[:20], y[:20], kind=kind, random_state=3)
    c, _ = make_spatial_biased(X[:20], y[:20], kind=kind, random_state=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() <= 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kind="stripes"), "kind='stripes'"),
        (dict(kind="patch", jitter=-1), "jitter=-1"),
        (dict(kind="patch", patch_size=6), "patch_size=6"),
        (dict(kind="patch", position=(25, 0)), "position="),
        (dict(strength=0.0), "strength=0.0"),
        (dict(bias_ratio=-0.1), "bias_ratio=-0.1"),
        (dict(test_mode="x"), "test_mode='x'"),
        (dict(protocol="rebias"), "protocol='rebias'"),
        (dict(n_classes=11), "11 classes"),
    ],
)
def test_errors_name_the_parameter(kwargs, match):
    X, y = blobs(10)
    with pytest.raises(ValueError, match=match):
        make_spatial_biased(X, y, **kwargs)
