"""Tests for sklproxy.datasets.make_corrupted and the corruptions behind it."""

import colorsys
import math

import numpy as np
import pytest

from sklproxy.datasets import CORRUPTION_TYPES, CORRUPTIONS, make_corrupted
from sklproxy.datasets._corruptions import (
    _BRIGHTNESS,
    _CONTRAST,
    _GAUSSIAN_BLUR,
    _GAUSSIAN_NOISE,
    _SATURATE,
    _SPECKLE_NOISE,
    _motion_kernel_blur,
    _zoom_centre,
    corrupt_image,
    defocus_kernel,
    hsv_to_rgb,
    plasma_fractal,
    rgb_to_hsv,
)


def digits_like(n=20, side=16, seed=0):
    """n grey images with a bright random blob, labels cycling 0..9."""
    rng = np.random.RandomState(seed)
    X = np.zeros((n, side, side))
    X[:, 4:12, 5:11] = rng.uniform(0.5, 1.0, size=(n, 8, 6))
    return X, np.arange(n) % 10


def colour_image(side=12, seed=0):
    return np.random.RandomState(seed).rand(3, side, side)


# --------------------------------------------------------------------------- slow references


def bilinear(img, r, c):
    """img sampled at (r, c), coordinates clamped to the image (mode 'nearest')."""
    H, W = img.shape
    r, c = min(max(r, 0.0), H - 1.0), min(max(c, 0.0), W - 1.0)
    r0, c0 = int(math.floor(r)), int(math.floor(c))
    r1, c1 = min(r0 + 1, H - 1), min(c0 + 1, W - 1)
    fr, fc = r - r0, c - c0
    return ((1 - fr) * (1 - fc) * img[r0, c0] + (1 - fr) * fc * img[r0, c1]
            + fr * (1 - fc) * img[r1, c0] + fr * fc * img[r1, c1])


def gaussian_blur_reference(img, sigma, truncate=4.0):
    """Separable Gaussian, edge pixels repeated beyond the border."""
    radius = int(truncate * sigma + 0.5)
    w = [math.exp(-(t * t) / (2 * sigma * sigma)) for t in range(-radius, radius + 1)]
    w = [v / sum(w) for v in w]
    H, W = img.shape
    tmp = np.zeros_like(img)
    for r in range(H):
        for c in range(W):
            tmp[r, c] = sum(w[t + radius] * img[min(max(r + t, 0), H - 1), c] for t in range(-radius, radius + 1))
    out = np.zeros_like(img)
    for r in range(H):
        for c in range(W):
            out[r, c] = sum(w[t + radius] * tmp[r, min(max(c + t, 0), W - 1)] for t in range(-radius, radius + 1))
    return out


def mirror(i, n):
    """Index reflected about the edge pixels (d c b | a b c d | c b a)."""
    while i < 0 or i >= n:
        i = -i if i < 0 else 2 * (n - 1) - i
    return i


def test_gaussian_noise_is_additive_and_clipped():
    x = digits_like(1)[0][0][None]
    for s in (1, 5):
        out = corrupt_image(x, "gaussian_noise", s, np.random.RandomState(3))
        z = np.random.RandomState(3).normal(size=x.shape)
        for idx in np.ndindex(x.shape):
            assert out[idx] == pytest.approx(min(max(x[idx] + _GAUSSIAN_NOISE[s - 1] * z[idx], 0.0), 1.0))


def test_speckle_noise_is_multiplicative():
    x = digits_like(1)[0][0][None]
    out = corrupt_image(x, "speckle_noise", 4, np.random.RandomState(1))
    z = np.random.RandomState(1).normal(size=x.shape)
    for idx in np.ndindex(x.shape):
        assert out[idx] == pytest.approx(min(max(x[idx] * (1 + _SPECKLE_NOISE[3] * z[idx]), 0.0), 1.0))
    assert (out[x == 0] == 0).all()  # black stays black


def test_shot_and_impulse_noise():
    x = np.full((1, 40, 40), 0.5)
    shot = corrupt_image(x, "shot_noise", 5, np.random.RandomState(0))  # Poisson(0.5 * 50) / 50
    assert shot.mean() == pytest.approx(0.5, abs=0.01)
    assert shot.std() == pytest.approx(math.sqrt(0.5 / 50), rel=0.15)
    imp = corrupt_image(x, "impulse_noise", 5, np.random.RandomState(0))
    flipped = imp != 0.5
    assert set(np.unique(imp[flipped])) <= {0.0, 1.0}
    assert flipped.mean() == pytest.approx(0.07, abs=0.02)


def test_gaussian_blur_against_reference():
    x = digits_like(1)[0][0]
    for s in (1, 5):
        out = corrupt_image(x[None], "gaussian_blur", s, np.random.RandomState(0))[0]
        np.testing.assert_allclose(out, gaussian_blur_reference(x, _GAUSSIAN_BLUR[s - 1]), atol=1e-10)


def test_defocus_kernel_and_blur_against_reference():
    for radius, alias in [(0.3, 0.4), (1.5, 0.1)]:
        k = defocus_kernel(radius, alias)
        assert k.shape == (17, 17) and k.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(k, k.T, atol=1e-12)
        np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-12)
    # radius 1.5: the 3x3 square of the disk (x^2 + y^2 <= 2.25), barely softened
    k = defocus_kernel(1.5, 0.1)
    assert k[7:10, 7:10].sum() == pytest.approx(1.0, abs=1e-6)
    x = digits_like(1)[0][0]
    out = corrupt_image(x[None], "defocus_blur", 5, np.random.RandomState(0))[0]
    H, W = x.shape
    ref = np.zeros_like(x)
    for r in range(H):
        for c in range(W):
            ref[r, c] = sum(k[a + 8, b + 8] * x[mirror(r + a, H), mirror(c + b, W)]
                            for a in range(-8, 9) for b in range(-8, 9))
    np.testing.assert_allclose(out, np.clip(ref, 0, 1), atol=1e-10)


def test_zoom_and_motion_helpers_against_reference():
    img = digits_like(1)[0][0]
    H, W = img.shape
    out = _zoom_centre(img, 1.2)
    for r in range(H):
        for c in range(W):
            rr = (r - (H - 1) / 2) / 1.2 + (H - 1) / 2
            cc = (c - (W - 1) / 2) / 1.2 + (W - 1) / 2
            assert out[r, c] == pytest.approx(bilinear(img, rr, cc))
    radius, sigma, angle = 3, 1.5, 30.0
    out = _motion_kernel_blur(img, radius, sigma, angle)
    w = [math.exp(-d * d / (2 * sigma * sigma)) for d in range(2 * radius + 1)]
    t = math.radians(angle)
    for r in range(H):
        for c in range(W):
            ref = sum(wd * bilinear(img, r - d * math.sin(t), c - d * math.cos(t)) for d, wd in enumerate(w))
            assert out[r, c] == pytest.approx(ref / sum(w))


def test_zoom_blur_is_mean_of_zooms():
    x = digits_like(1)[0][0]
    out = corrupt_image(x[None], "zoom_blur", 1, np.random.RandomState(0))[0]
    zooms = [x] + [_zoom_centre(x, 1 + 0.01 * i) for i in range(6)]
    np.testing.assert_allclose(out, np.mean(zooms, axis=0), atol=1e-12)


def test_contrast_formula():
    x = colour_image()
    out = corrupt_image(x, "contrast", 2, np.random.RandomState(0))
    for ch in range(3):
        m = x[ch].mean()
        for r in range(12):
            for c in range(12):
                assert out[ch, r, c] == pytest.approx(min(max((x[ch, r, c] - m) * _CONTRAST[1] + m, 0), 1))


def test_hsv_corruptions_against_colorsys():
    x = colour_image()
    x[:, 0, 0] = 0.4  # a grey pixel (hue 0)
    x[:, 0, 1] = 0.0  # black
    bright = corrupt_image(x, "brightness", 5, np.random.RandomState(0))
    sat = corrupt_image(x, "saturate", 5, np.random.RandomState(0))
    scale, shift = _SATURATE[4]
    for r in range(12):
        for c in range(12):
            h, s, v = colorsys.rgb_to_hsv(*x[:, r, c])
            np.testing.assert_allclose(bright[:, r, c], colorsys.hsv_to_rgb(h, s, min(v + _BRIGHTNESS[4], 1)),
                                       atol=1e-10)
            np.testing.assert_allclose(sat[:, r, c], colorsys.hsv_to_rgb(h, min(s * scale + shift, 1), v),
                                       atol=1e-10)
    np.testing.assert_allclose(hsv_to_rgb(rgb_to_hsv(x)), x, atol=1e-12)


def test_grey_images_use_rgb_then_channel_mean():
    g = digits_like(1)[0][0][None]
    for name in ("brightness", "saturate"):
        grey = corrupt_image(g, name, 5, np.random.RandomState(0))
        rgb = corrupt_image(np.repeat(g, 3, 0), name, 5, np.random.RandomState(0))
        np.testing.assert_allclose(grey[0], rgb.mean(0), atol=1e-12)
    np.testing.assert_allclose(corrupt_image(g, "saturate", 2, None), g, atol=1e-12)  # grey stays grey
    np.testing.assert_allclose(corrupt_image(g, "brightness", 1, None), np.clip(g + 0.05, 0, 1), atol=1e-12)


def test_jpeg_pixelate_elastic_properties():
    x = digits_like(1, side=28)[0][0][None]
    j = corrupt_image(x, "jpeg", 5, None)
    assert 0 < np.abs(j - x).mean() < 0.1 and (j * 255 == np.round(j * 255)).all()  # 8-bit values
    p = corrupt_image(x, "pixelate", 5, None)
    assert 0 < np.abs(p - x).mean() < 0.2
    flat = np.full((1, 28, 28), 0.3)
    for name in ("pixelate", "elastic", "zoom_blur", "glass_blur", "defocus_blur", "motion_blur"):
        np.testing.assert_allclose(corrupt_image(flat, name, 5, np.random.RandomState(0)), flat, atol=1e-6)


def test_plasma_fractal():
    m = plasma_fractal(32, 2.0, np.random.RandomState(0))
    assert m.shape == (32, 32) and m.min() == 0.0 and m.max() == 1.0
    rough = np.abs(np.diff(plasma_fractal(32, 1.2, np.random.RandomState(0)), axis=0)).mean()
    smooth = np.abs(np.diff(plasma_fractal(32, 3.0, np.random.RandomState(0)), axis=0)).mean()
    assert smooth < rough


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_every_corruption_shape_range_determinism(name):
    for x in (digits_like(1)[0][0][None], colour_image(16)):
        for s in (1, 3, 5):
            a = corrupt_image(x, name, s, np.random.RandomState(5))
            b = corrupt_image(x, name, s, np.random.RandomState(5))
            assert a.shape == x.shape and np.isfinite(a).all()
            assert a.min() >= 0 and a.max() <= 1
            np.testing.assert_array_equal(a, b)
    if name != "original":
        assert not np.allclose(corrupt_image(x, name, 5, np.random.RandomState(5)), x)


# --------------------------------------------------------------------------- make_corrupted


def test_each_image_gets_its_class_corruption():
    X, y = digits_like(20)
    Xc, corruption = make_corrupted(X, y, corruptions="type1", severity=3, random_state=0)
    assert Xc.shape == (20, 1, 16, 16) and Xc.dtype == np.float32
    np.testing.assert_array_equal(corruption, y)
    rng = np.random.RandomState(0)
    seeds = rng.randint(0, 2**31 - 1, size=20)  # bias 1: the assignment draws nothing
    for i in range(20):
        ref = corrupt_image(X[i][None], CORRUPTION_TYPES["type1"][y[i]], 3, np.random.RandomState(seeds[i]))
        np.testing.assert_allclose(Xc[i], ref, atol=1e-6)


@pytest.mark.parametrize("ratio", [0.95, 0.98, 0.99, 0.995, 1.0])
def test_bias_ratio_exact(ratio):
    n = 1297  # digits28's training set
    X = np.zeros((n, 8, 8))
    y = np.arange(n) % 10
    _, corruption = make_corrupted(X, y, corruptions=["original"] * 10, bias_ratio=ratio, random_state=0)
    assert int((corruption != y).sum()) == n - int(round(ratio * n))
    assert (corruption >= 0).all() and (corruption < 10).all()


def test_lff_protocol_counts():
    n = 1000
    y = np.repeat(np.arange(10), 100)
    X = np.zeros((n, 8, 8))
    _, corruption = make_corrupted(X, y, corruptions=["original"] * 10, bias_ratio=0.95, protocol="lff")
    for c in range(10):
        share = np.full(10, 0.05 / 9)
        share[c] = 0.95
        expected = np.diff(np.concatenate([[0], np.round(100 * np.cumsum(share))]))
        np.testing.assert_array_equal(np.bincount(corruption[y == c], minlength=10), expected)
    _, ind = make_corrupted(X, y, corruptions=["original"] * 10, test_mode="independent", protocol="lff")
    for c in range(10):
        np.testing.assert_array_equal(np.bincount(ind[y == c], minlength=10), np.full(10, 10))


def test_test_modes():
    X, y = digits_like(2000)
    _, ind = make_corrupted(X, y, corruptions=["original"] * 10, test_mode="independent", random_state=0)
    counts = np.bincount(ind, minlength=10)
    assert counts.min() > 140 and counts.max() < 260
    Xc, cond = make_corrupted(X[:10], y[:10], test_mode="conditioned")
    assert (cond == -1).all()
    np.testing.assert_allclose(Xc[:, 0], X[:10], atol=1e-6)


def test_scales_channels_and_determinism():
    X, y = digits_like(10)
    X8 = np.round(X * 255).astype(np.uint8)
    a, _ = make_corrupted(X8, y, random_state=1)
    b, _ = make_corrupted(X8, y, random_state=1)
    c, _ = make_corrupted(X8, y, random_state=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    rgb, _ = make_corrupted(X8, y, rgb=True, random_state=1)
    assert rgb.shape == (10, 3, 16, 16)
    colour, _ = make_corrupted(np.repeat(X[:, None], 3, axis=1), y, random_state=1)
    assert colour.shape == (10, 3, 16, 16) and colour.min() >= 0 and colour.max() <= 1
    _, few = make_corrupted(X[:4], [0, 1, 0, 1], corruptions=["jpeg", "fog"], random_state=0)
    assert few.tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(severity=0), "severity=0"),
        (dict(severity=6), "severity=6"),
        (dict(severity=2.5), "severity=2.5"),
        (dict(corruptions="type2"), "corruptions='type2'"),
        (dict(corruptions=["fog", "smoke"]), "unknown names"),
        (dict(corruptions=["fog", "snow"]), "2 corruptions"),
        (dict(bias_ratio=1.5), "bias_ratio=1.5"),
        (dict(test_mode="random"), "test_mode='random'"),
        (dict(protocol="rebias"), "protocol='rebias'"),
    ],
)
def test_errors_name_the_parameter(kwargs, match):
    X, y = digits_like(10)
    with pytest.raises(ValueError, match=match):
        make_corrupted(X, y, **kwargs)


def test_error_on_channel_count():
    with pytest.raises(ValueError, match="channels"):
        make_corrupted(np.zeros((2, 2, 8, 8)), [0, 1])
