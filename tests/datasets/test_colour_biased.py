"""Tests for sklproxy.datasets.make_colour_biased (LfF / ReBias protocols)."""

import numpy as np
import pytest

from sklproxy.datasets import BACKGROUND_COLOURS, FOREGROUND_COLOURS, make_colour_biased


def squares(n=20, size=12, value=200, seed=0):
    """n images with a bright square in the middle, labels cycling 0..9."""
    X = np.zeros((n, size, size), dtype=np.uint8)
    X[:, 3:9, 3:9] = value
    return X, np.arange(n) % 10


def garment(size=12):
    """A garment-like silhouette: a ring of fabric with exact-zero pixels inside
    (a hole fully enclosed), plus a gap open to the border (between 'legs')."""
    img = np.zeros((size, size), dtype=np.uint8)
    img[2:10, 2:10] = 180
    img[4:6, 4:6] = 0  # enclosed zeros: part of the garment
    img[7:10, 5:7] = 0  # gap reaching the bottom edge of the garment ...
    img[10:, 5:7] = 0  # ... and the border: background
    return img


def to255(a):
    return np.round(np.asarray(a) * 255).astype(int).tolist()


# --------------------------------------------------------------------------- colours


def test_background_colours_known_pixels():
    X, y = squares()
    Xc, colour = make_colour_biased(X, y, kind="background", random_state=0)
    assert Xc.shape == (20, 3, 12, 12) and Xc.dtype == np.float32
    assert colour.dtype == np.int64
    np.testing.assert_array_equal(colour, y)  # bias_ratio=1
    for i in range(20):
        assert to255(Xc[i, :, 0, 0]) == BACKGROUND_COLOURS[y[i]].tolist()
        assert to255(Xc[i, :, 5, 5]) == [200, 200, 200]  # object keeps its grey


def test_foreground_colours_known_pixels():
    X, y = squares()
    Xc, colour = make_colour_biased(X, y, kind="foreground", colour_noise=0.0)
    for i in range(20):
        assert to255(Xc[i, :, 0, 0]) == [0, 0, 0]  # background stays black
        expected = np.round(FOREGROUND_COLOURS[y[i]] / 255 * 200 / 255 * 255).astype(int)
        assert to255(Xc[i, :, 5, 5]) == expected.tolist()


def test_foreground_noise_default_and_clipping():
    X, y = squares(n=200)
    Xc, _ = make_colour_biased(X, y, kind="foreground", random_state=0)
    rgb = Xc[:, :, 5, 5] / (200 / 255)  # (n, 3) the noisy colours
    dev = rgb - FOREGROUND_COLOURS[y] / 255
    assert 0.002 < dev.std() < 0.008  # std 0.005 by default
    assert Xc.min() >= 0 and Xc.max() <= 1
    Xc, _ = make_colour_biased(X, y, kind="foreground", colour_noise=5.0, random_state=0)
    assert Xc.min() >= 0 and Xc.max() <= 200 / 255 + 1e-6


def test_background_is_outside_of_silhouette():
    img = garment()
    X = np.stack([img, img])
    Xc, _ = make_colour_biased(X, np.array([0, 2]), kind="background")
    red = Xc[0]
    assert to255(red[:, 0, 0]) == [255, 0, 0]
    assert to255(red[:, 4, 4]) == [0, 0, 0]  # enclosed zeros stay black
    assert to255(red[:, 5, 5]) == [0, 0, 0]
    assert to255(red[:, 8, 5]) == [255, 0, 0]  # gap open to the border is background
    assert to255(red[:, 11, 6]) == [255, 0, 0]
    assert to255(red[:, 3, 3]) == [180] * 3
    # reference from the definition, pixel by pixel: 4-connected flood fill from the border
    bg = np.zeros_like(img, dtype=bool)
    stack = [(r, c) for r in range(12) for c in range(12) if r in (0, 11) or c in (0, 11)]
    while stack:
        r, c = stack.pop()
        if 0 <= r < 12 and 0 <= c < 12 and not bg[r, c] and img[r, c] == 0:
            bg[r, c] = True
            stack += [(r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)]
    np.testing.assert_array_equal((Xc[1] == BACKGROUND_COLOURS[2][:, None, None] / 255).all(0), bg)


def test_background_does_not_leak_diagonally():
    img = np.zeros((7, 7), dtype=np.uint8)
    img[1:6, 1:6] = 100
    img[2:5, 2:5] = 0  # interior
    img[1, 1] = 0  # a corner pixel of the outline: diagonal contact only
    Xc, _ = make_colour_biased(img[None], [1], kind="background")
    assert to255(Xc[0, :, 1, 1]) == [0, 255, 0]  # 4-connected to the border
    assert to255(Xc[0, :, 3, 3]) == [0, 0, 0]  # interior not reached via (1,1)-(2,2)


def test_threshold():
    X = np.full((1, 6, 6), 10, dtype=np.uint8)
    X[0, 2:4, 2:4] = 200
    Xc, _ = make_colour_biased(X, [0], kind="background")
    assert to255(Xc[0, :, 0, 0]) == [10, 10, 10]  # 10/255 > 0: not background
    Xc, _ = make_colour_biased(X, [0], kind="background", threshold=0.05)
    assert to255(Xc[0, :, 0, 0]) == [255, 0, 0]
    assert to255(Xc[0, :, 2, 2]) == [200, 200, 200]


# --------------------------------------------------------------------------- ratios / test modes


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.9, 1.0])
def test_bias_ratio(ratio):
    X, y = squares(n=1000)
    Xc, colour = make_colour_biased(X, y, bias_ratio=ratio, random_state=0)
    assert np.mean(colour == y) == pytest.approx(ratio, abs=1e-3)
    conflicting = colour != y
    if conflicting.sum() > 100:  # other colours spread over the 9 other classes
        shift = (colour[conflicting] - y[conflicting]) % 10
        assert set(shift.tolist()) == set(range(1, 10))
    # the image really carries the colour it reports
    np.testing.assert_allclose(Xc[:, :, 0, 0], BACKGROUND_COLOURS[colour] / 255, atol=1e-6)


def test_independent_colours_spread():
    X, y = squares(n=2000)
    _, colour = make_colour_biased(X, y, test_mode="independent", random_state=0)
    counts = np.bincount(colour, minlength=10)
    assert counts.min() > 140 and counts.max() < 260  # about 200 each
    assert 0.05 < np.mean(colour == y) < 0.15


def test_conditioned_is_grey():
    X, y = squares(n=10)
    for kind in ("background", "foreground"):
        Xc, colour = make_colour_biased(X, y, kind=kind, test_mode="conditioned")
        assert (colour == -1).all()
        np.testing.assert_allclose(Xc, np.repeat(X[:, None] / 255, 3, axis=1), atol=1e-6)


def test_random_state_determinism():
    X, y = squares(n=100)
    kw = dict(kind="foreground", bias_ratio=0.5, random_state=3)
    a, ca = make_colour_biased(X, y, **kw)
    b, cb = make_colour_biased(X, y, **kw)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ca, cb)
    _, cc = make_colour_biased(X, y, **{**kw, "random_state": 4})
    assert not np.array_equal(ca, cc)


# --------------------------------------------------------------------------- input scales


def test_input_scales_agree():
    X8, y = squares(value=255)
    ref, _ = make_colour_biased(X8, y, kind="foreground", colour_noise=0.0)
    for X in (X8 / 255.0, X8 / 255.0 * 16):  # float [0,1] and digits 0..16
        out, _ = make_colour_biased(X, y, kind="foreground", colour_noise=0.0)
        np.testing.assert_allclose(out, ref, atol=1e-6)
    dim = (X8 // 32).astype(np.uint8)  # max 7: would be read as digits scale
    out, _ = make_colour_biased(dim, y, kind="foreground", colour_noise=0.0, max_value=255)
    assert out.max() == pytest.approx(7 / 255 * FOREGROUND_COLOURS[y].max() / 255, abs=1e-6)


def test_sklearn_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    Xc, colour = make_colour_biased(digits.images, digits.target, random_state=0)
    assert Xc.shape == (1797, 3, 8, 8) and 0 <= Xc.min() and Xc.max() <= 1
    assert Xc[:, :, 3:5, 3:5].max() > 0.9  # 16 maps to full intensity


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "X, y, kw, match",
    [
        (np.zeros((4, 64)), np.zeros(4, int), {}, "ndim=2"),
        (np.zeros((4, 1, 8, 8)), np.zeros(4, int), {}, "ndim=4"),
        (np.zeros((4, 8, 8)), np.zeros(3, int), {}, "one label per image"),
        (np.zeros((4, 8, 8)), np.zeros((4, 1), int), {}, "one label per image"),
        (np.zeros((4, 8, 8)), np.array([0, 1, -1, 2]), {}, "min -1"),
        (np.zeros((4, 8, 8)), np.array([0.5, 1, 2, 3]), {}, "integer class labels"),
        (np.zeros((4, 8, 8)), np.arange(4), {"bias_ratio": 1.2}, "bias_ratio=1.2"),
        (np.zeros((4, 8, 8)), np.arange(4), {"bias_ratio": -0.1}, "bias_ratio=-0.1"),
        (np.zeros((4, 8, 8)), np.arange(4), {"kind": "edge"}, "kind='edge'"),
        (np.zeros((4, 8, 8)), np.arange(4), {"test_mode": "random"}, "test_mode='random'"),
        (np.zeros((4, 8, 8)), np.arange(4), {"threshold": 1.5}, "threshold=1.5"),
        (np.zeros((4, 8, 8)), np.arange(4), {"colour_noise": -1}, "colour_noise=-1"),
        (np.zeros((4, 8, 8)), np.array([0, 1, 2, 11]), {}, "12 classes .* only 10 colours"),
        (np.zeros((4, 8, 8)), np.arange(4), {"n_classes": 3}, "n_classes=3"),
        (np.full((4, 8, 8), 300.0), np.arange(4), {}, "above 255"),
        (np.full((4, 8, 8), 3.0), np.arange(4), {"max_value": 1}, "outside"),
        (np.zeros((4, 8, 8)), np.arange(4), {"palette": np.zeros((4, 4))}, "palette"),
        (np.zeros((1, 8, 8)), np.zeros(1, int), {"bias_ratio": 0.0}, "at least 2 classes"),
    ],
)
def test_bad_inputs(X, y, kw, match):
    with pytest.raises(ValueError, match=match):
        make_colour_biased(X, y, **kw)


def test_custom_palette_allows_more_classes():
    X, y = squares(n=12)
    y = np.arange(12)
    palette = np.tile(np.arange(12)[:, None] * 20, (1, 3))
    Xc, colour = make_colour_biased(X, y, palette=palette)
    assert to255(Xc[11, :, 0, 0]) == [220] * 3


def test_empty_input():
    Xc, colour = make_colour_biased(np.zeros((0, 5, 5)), np.zeros(0, int))
    assert Xc.shape == (0, 3, 5, 5) and colour.shape == (0,)


# --------------------------------------------------------------------------- public protocols


def _ring_digits(n=40, size=12):
    """Soft rings (values 0..200, a hole in the middle); labels cycle 0..9."""
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5)
    ring = np.clip(200 - 120 * np.abs(r - 3.0), 0, 200).astype(np.uint8)
    return np.stack([ring] * n), np.arange(n) % 10


def test_rebias_binarises_and_colours_every_zero_pixel():
    X, y = _ring_digits()
    Xc, colour = make_colour_biased(X, y, protocol="rebias", random_state=0)
    np.testing.assert_array_equal(colour, y)
    for i in range(len(X)):
        obj = X[i] > 0
        # object pixels are pure white, every zero pixel (the hole too) has the class colour
        assert np.all(Xc[i][:, obj] == 1.0)
        expected = BACKGROUND_COLOURS[y[i]] / 255.0
        np.testing.assert_allclose(Xc[i][:, ~obj], np.repeat(expected[:, None], (~obj).sum(), 1), atol=1e-6)
    assert not X[0][6, 6]  # the hole is zero ...
    assert to255(Xc[0][:, 6, 6]) == BACKGROUND_COLOURS[0].tolist()  # ... and coloured
    # conditioned: the binarised digit, grey
    Xg, c = make_colour_biased(X, y, protocol="rebias", test_mode="conditioned")
    assert (c == -1).all() and set(np.unique(Xg)) == {0.0, 1.0}


def _rebias_reference(y, k, rho, rng):
    """The ReBias code's assignment, image by image: per class the aligned head keeps the
    class's colour, the rest go in equal chunks to the other colours (drawn in random order)."""
    colour = np.empty_like(y)
    for c in range(k):
        members = rng.permutation(np.flatnonzero(y == c))
        n_aligned = int(len(members) * rho)
        others = None
        for position, index in enumerate(members):
            if position < n_aligned:
                colour[index] = c
                continue
            if others is None:  # the other colours' order is drawn once, after the aligned head
                chunk = -(-(len(members) - n_aligned) // (k - 1))
                others = rng.permutation([(c + j) % k for j in range(1, k)])
            colour[index] = others[(position - n_aligned) // chunk]
    return colour


def test_rebias_assignment_matches_reference():
    y = np.repeat(np.arange(10), 53)
    X = np.zeros((len(y), 4, 4), dtype=np.uint8)
    X[:, 1:3, 1:3] = 9
    for rho, mode in ((0.9, None), (0.1, "independent")):
        _, colour = make_colour_biased(X, y, protocol="rebias", bias_ratio=rho if mode is None else 1.0,
                                       test_mode=mode, random_state=3)
        ref = _rebias_reference(y, 10, rho, np.random.RandomState(3))
        np.testing.assert_array_equal(colour, ref)


def test_lff_assignment_matches_reference():
    y = np.repeat(np.arange(10), 37)
    X = np.full((len(y), 4, 4), 100, dtype=np.uint8)
    _, colour = make_colour_biased(X, y, protocol="lff", bias_ratio=0.95, random_state=0)
    for c in range(10):
        idx = np.flatnonzero(y == c)
        share = np.full(10, 0.05 / 9)
        share[c] = 0.95
        milestones = np.round(len(idx) * np.cumsum(share))
        ref = [int(np.min(np.nonzero(milestones > j)[0])) for j in range(len(idx))]
        assert colour[idx].tolist() == ref
    # the unbiased set: every colour equally often within each class
    _, colour = make_colour_biased(X, y, protocol="lff", test_mode="independent")
    for c in range(10):
        assert np.bincount(colour[y == c], minlength=10).max() <= 4


def test_protocol_errors():
    X, y = _ring_digits()
    with pytest.raises(ValueError, match="protocol='cmnist'"):
        make_colour_biased(X, y, protocol="cmnist")
    with pytest.raises(ValueError, match="drop kind='foreground'"):
        make_colour_biased(X, y, protocol="rebias", kind="foreground")
    with pytest.raises(ValueError, match=r"\(n, H, W\) grey images"):
        make_colour_biased(np.zeros((3, 3, 8, 8)), [0, 1, 2], protocol="lff")
