"""Batched augmentations and view policies against slow per-image references."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sklproxy.nn import ImageAugment, VectorAugment, default_augment
from sklproxy.nn import augment as A
from sklproxy.nn.augment._views import _geometric


def test_augment_is_seeded_and_batched():
    x = torch.rand(16, 1, 8, 8)
    aug = ImageAugment(hflip=0.5, cutout=0.25)
    a = aug(x, torch.Generator().manual_seed(3))
    b = aug(x, torch.Generator().manual_seed(3))
    c = aug(x, torch.Generator().manual_seed(4))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a[0], a[1] - x[1] + x[0])  # per-sample parameters


def test_grayscale_augment():
    """Luma for RGB, channel mean otherwise; grey with the given probability only."""
    identity = dict(translate=0.0, scale=(1.0, 1.0), degrees=0.0, jitter=0.0)
    x = torch.rand(400, 3, 4, 4)
    luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]               # slow reference
    out = ImageAugment(**identity, grayscale=1.0)(x, torch.Generator().manual_seed(0))
    for ch in range(3):
        torch.testing.assert_close(out[:, ch], luma, atol=1e-5, rtol=0)
    x4 = torch.rand(8, 4, 4, 4)
    out4 = ImageAugment(**identity, grayscale=1.0)(x4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out4, x4.mean(dim=1, keepdim=True).expand_as(x4), atol=1e-5, rtol=0)
    half = ImageAugment(**identity, grayscale=0.5)(x, torch.Generator().manual_seed(0))
    grey = (half == out).flatten(1).all(dim=1)
    kept = (half - x).abs().flatten(1).amax(dim=1) < 1e-5
    assert bool((grey ^ kept).all())                    # each image: all grey or untouched
    assert 150 < int(grey.sum()) < 250                  # about half of 400
    # grey images, and grayscale=0, draw nothing: the other draws stay as they were
    x1 = torch.rand(16, 1, 8, 8)
    for p in (0.0, 0.5):
        a = ImageAugment(hflip=0.5, grayscale=p)(x1, torch.Generator().manual_seed(3))
        b = ImageAugment(hflip=0.5)(x1, torch.Generator().manual_seed(3))
        assert torch.equal(a, b)


def test_vector_augment_and_default():
    X = torch.randn(50, 6) * torch.arange(1, 7)
    aug = default_augment(X)
    assert isinstance(aug, VectorAugment)
    out = aug(X, torch.Generator().manual_seed(0))
    assert out.shape == X.shape and not torch.equal(out, X)
    assert isinstance(default_augment(torch.rand(4, 1, 8, 8)), ImageAugment)



def test_augment_padding_mode():
    """``padding_mode`` only changes the pixels sampled from outside the image.

    "zeros" is the default and leaves output and random stream exactly as
    before the parameter existed (checked against a slow per-image reference
    that redraws the parameters in the same order and warps with zeros);
    "border" fills a shifted uniform background with its own colour.
    """
    x = torch.rand(32, 3, 8, 8)
    kw = dict(hflip=0.5, jitter=0.2, grayscale=0.5, cutout=0.25)
    outs, states = {}, {}
    for mode in ("zeros", "border", "reflection"):
        gen = torch.Generator().manual_seed(5)
        outs[mode] = ImageAugment(**kw, padding_mode=mode)(x, gen)
        states[mode] = gen.get_state()
    gen = torch.Generator().manual_seed(5)
    assert torch.equal(ImageAugment(**kw)(x, gen), outs["zeros"])          # the default
    assert all(torch.equal(states["zeros"], s) for s in states.values())  # same draws
    assert not torch.equal(outs["zeros"], outs["border"])

    # slow reference of the geometry as it was: same draws, same order, zeros
    gen = torch.Generator().manual_seed(5)
    out = ImageAugment(hflip=0.5, jitter=0.0)(x, gen)
    gen = torch.Generator().manual_seed(5)
    n = len(x)
    angle = (torch.rand(n, generator=gen) * 20.0 - 10.0) * (math.pi / 180)
    zoom = torch.rand(n, generator=gen) * 0.2 + 0.9
    shift = (torch.rand(2 * n, generator=gen) * 0.4 - 0.2).view(n, 2)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    for i in range(n):
        c, s = math.cos(angle[i]) / zoom[i], math.sin(angle[i]) / zoom[i]
        theta = torch.tensor([[[c * flip[i], -s, shift[i, 0]], [s * flip[i], c, shift[i, 1]]]])
        grid = F.affine_grid(theta, [1, 3, 8, 8], align_corners=False)
        ref = F.grid_sample(x[i : i + 1], grid, padding_mode="zeros", align_corners=False)
        torch.testing.assert_close(out[i : i + 1], ref, atol=1e-6, rtol=0)

    # a uniform background shifted: border keeps its colour, zeros paints black
    bg = torch.full((4, 3, 8, 8), 0.6)
    shift_only = dict(translate=0.3, scale=(1.0, 1.0), degrees=0.0, jitter=0.0)
    zero = ImageAugment(**shift_only)(bg, torch.Generator().manual_seed(0))
    edge = ImageAugment(**shift_only, padding_mode="border")(bg, torch.Generator().manual_seed(0))
    torch.testing.assert_close(edge, bg)
    assert float(zero.amin()) < 0.3
    with pytest.raises(ValueError, match="padding_mode='wrap'"):
        ImageAugment(padding_mode="wrap")



# ---------------------------------------------------------------------------
# AutoAugment-style operations against slow references written from the formula
# ---------------------------------------------------------------------------

LUMA = np.array([0.299, 0.587, 0.114])


def _images(n=6, c=3, h=7, w=9, seed=0, levels=True):
    rng = np.random.RandomState(seed)
    x = rng.randint(0, 256, (n, c, h, w)) / 255.0 if levels else rng.rand(n, c, h, w)
    if n > 2:
        x[1] = 0.4 + 0.2 * x[1]              # a low-contrast image
        x[2, 0] = 0.5                        # a constant channel
    return x


def _grey_ref(img):
    """(H, W) grey level of one (C, H, W) image: luma for RGB, channel mean otherwise."""
    return np.tensordot(LUMA, img, axes=1) if img.shape[0] == 3 else img.mean(axis=0)


def _per_image(fn, x, *params):
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = fn(x[i], *(p[i] for p in params))
    return out


def ref_auto_contrast(img):
    out = img.copy()
    for c in range(len(img)):
        lo, hi = img[c].min(), img[c].max()
        if hi > lo:
            out[c] = (img[c] - lo) / (hi - lo)
    return out


def ref_equalize(img):
    """PIL ImageOps.equalize, channel by channel, on 8-bit levels."""
    out = img.copy()
    for c in range(len(img)):
        q = np.round(img[c] * 255).astype(int)
        hist = np.bincount(q.ravel(), minlength=256)
        nonzero = [v for v in hist if v]
        step = (sum(nonzero) - nonzero[-1]) // 255 if len(nonzero) > 1 else 0
        if step == 0:
            continue
        lut, acc = [], step // 2
        for i in range(256):
            lut.append(min(acc // step, 255))
            acc += hist[i]
        out[c] = np.array(lut)[q] / 255.0
    return out


def ref_blend(degenerate, img, f):
    return np.clip(degenerate + f * (img - degenerate), 0, 1)


def ref_sharpness(img, f):
    kernel = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]]) / 13.0
    deg = img.copy()
    for c in range(len(img)):
        for y in range(1, img.shape[1] - 1):
            for x in range(1, img.shape[2] - 1):
                deg[c, y, x] = (kernel * img[c, y - 1 : y + 2, x - 1 : x + 2]).sum()
    return ref_blend(deg, img, f)


def ref_hue(img, angle):
    to_yiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    rot = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    out = np.empty_like(img)
    for y in range(img.shape[1]):
        for x in range(img.shape[2]):
            out[:, y, x] = np.linalg.inv(to_yiq) @ rot @ to_yiq @ img[:, y, x]
    return np.clip(out, 0, 1)


FACTORS = np.array([0.1, 0.5, 1.0, 1.3, 1.9, 0.0])


@pytest.mark.parametrize("channels", [1, 3])
def test_photometric_operations_match_references(channels):
    x = _images(c=channels)
    t = torch.from_numpy(x).float()
    f = torch.from_numpy(FACTORS).float()
    thr = np.array([0.0, 0.3, 0.5, 0.8, 1.0, 0.6])
    bits = np.array([1, 2, 4, 6, 8, 3])
    grey_mean = lambda img: np.full_like(img, _grey_ref(img).mean())  # noqa: E731
    cases = {
        "invert": (A.invert(t), 1 - x),
        "solarize": (A.solarize(t, torch.from_numpy(thr).float()),
                     _per_image(lambda im, th: np.where(im >= th, 1 - im, im), x, thr)),
        "posterize": (A.posterize(t, torch.from_numpy(bits)),
                      _per_image(lambda im, b: (np.round(im * 255).astype(int)
                                                & (256 - 2 ** (8 - b))) / 255, x, bits)),
        "auto_contrast": (A.auto_contrast(t), _per_image(ref_auto_contrast, x)),
        "equalize": (A.equalize(t), _per_image(ref_equalize, x)),
        "brightness": (A.adjust_brightness(t, f),
                       _per_image(lambda im, k: ref_blend(np.zeros_like(im), im, k), x, FACTORS)),
        "contrast": (A.adjust_contrast(t, f),
                     _per_image(lambda im, k: ref_blend(grey_mean(im), im, k), x, FACTORS)),
        "saturation": (A.adjust_saturation(t, f), _per_image(
            lambda im, k: ref_blend(np.broadcast_to(_grey_ref(im), im.shape), im, k)
            if channels == 3 else im, x, FACTORS)),
        "sharpness": (A.adjust_sharpness(t, f), _per_image(ref_sharpness, x, FACTORS)),
    }
    for name, (got, ref) in cases.items():
        np.testing.assert_allclose(got.numpy(), ref, atol=2e-6, err_msg=name)
        assert got.dtype == torch.float32 and got.shape == t.shape


def test_operations_agree_with_pil():
    """Within PIL's own 8-bit rounding (at most 1.5 levels) of ImageOps/ImageEnhance."""
    PIL = pytest.importorskip("PIL")
    from PIL import Image, ImageEnhance, ImageOps
    assert PIL
    x = _images(n=4, h=10, w=12)
    x = np.round(x * 255) / 255                           # PIL sees 8-bit levels
    imgs = [Image.fromarray(np.round(im.transpose(1, 2, 0) * 255).astype(np.uint8)) for im in x]
    t = torch.from_numpy(x).float()
    pil = lambda fn: np.stack([np.asarray(fn(im)) for im in imgs]).transpose(0, 3, 1, 2) / 255  # noqa: E731
    for ours, ref, tol in [
        (A.equalize(t), pil(ImageOps.equalize), 0),
        (A.posterize(t, torch.full((4,), 3)), pil(lambda im: ImageOps.posterize(im, 3)), 0),
        (A.solarize(t, torch.full((4,), 128 / 255)), pil(lambda im: ImageOps.solarize(im, 128)), 0),
        (A.auto_contrast(t), pil(ImageOps.autocontrast), 1.5),
        (A.adjust_saturation(t, torch.full((4,), 0.3)), pil(lambda im: ImageEnhance.Color(im).enhance(0.3)), 1.5),
        (A.adjust_contrast(t, torch.full((4,), 1.7)), pil(lambda im: ImageEnhance.Contrast(im).enhance(1.7)), 1.5),
        (A.adjust_sharpness(t, torch.full((4,), 1.7)), pil(lambda im: ImageEnhance.Sharpness(im).enhance(1.7)), 1.5),
    ]:
        assert np.abs(ours.numpy() - ref).max() * 255 <= tol + 1e-3


def test_colour_operations_match_references():
    x = _images(n=4, levels=False)
    t = torch.from_numpy(x).float()
    angle = np.array([0.0, 0.7, -2.0, np.pi])
    got = A.adjust_hue(t, torch.from_numpy(angle).float()).numpy()
    np.testing.assert_allclose(got, _per_image(ref_hue, x, angle), atol=2e-5)
    np.testing.assert_allclose(got[0], x[0], atol=2e-5)              # angle 0: unchanged
    order = torch.tensor([[2, 0, 1], [0, 1, 2], [1, 2, 0], [2, 1, 0]])
    perm = A.permute_channels(t, order).numpy()
    for i in range(4):
        np.testing.assert_array_equal(perm[i], x[i][order[i].numpy()].astype(np.float32))
    np.testing.assert_allclose(A.to_grey(t).numpy(),
                               np.stack([np.broadcast_to(_grey_ref(im), im.shape) for im in x]),
                               atol=1e-6)


def test_sobel_matches_reference():
    x = _images(n=2, levels=False)
    out = A.Sobel()(torch.from_numpy(x).float()).numpy()
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    assert out.shape == (2, 2, 7, 9)
    for i in range(2):
        g = np.pad(_grey_ref(x[i]), 1)
        for y in range(7):
            for xx in range(9):
                patch = g[y : y + 3, xx : xx + 3]
                np.testing.assert_allclose(out[i, :, y, xx], [(kx * patch).sum(), (kx.T * patch).sum()],
                                           atol=1e-5)


# ---------------------------------------------------------------------------
# The view policy
# ---------------------------------------------------------------------------


NO_GEOMETRY = dict(crop_scale=(1.0, 1.0), crop_pad=0.0, rotation=0.0)


def test_view_policy_is_seeded_and_draws_independently_of_values():
    x = torch.rand(16, 3, 8, 8)
    views = A.ViewPolicy(**A.colour_policy(), value_range=(0.0, 1.0))
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a, b = views(x, g1), views(x, g2)
    assert torch.equal(a, b) and a.shape == x.shape and a.dtype == x.dtype
    assert not torch.equal(a, views(x, torch.Generator().manual_seed(2)))
    g3 = torch.Generator().manual_seed(1)
    views(torch.zeros_like(x), g3)                                   # other pixel values
    assert torch.equal(g1.get_state(), g3.get_state())               # ... the same draws
    assert float(a.min()) >= 0 and float(a.max()) <= 1


def test_view_policy_identity_and_value_range():
    """Nothing drawn that changes anything: the input comes back, in its own range."""
    x = torch.rand(8, 1, 6, 6) * 16                               # 0..16 digits
    identity = A.ViewPolicy(operations=(), n_ops=0, value_range=(0.0, 16.0), **NO_GEOMETRY)
    torch.testing.assert_close(identity(x, torch.Generator().manual_seed(0)), x)
    inv = A.ViewPolicy(operations=("invert",), n_ops=1, p=1.0, value_range=(0.0, 16.0),
                       **NO_GEOMETRY)
    torch.testing.assert_close(inv(x, torch.Generator().manual_seed(0)), 16 - x)
    batch_range = A.ViewPolicy(operations=("invert",), n_ops=1, p=1.0, **NO_GEOMETRY)
    lo, hi = float(x.min()), float(x.max())
    torch.testing.assert_close(batch_range(x, torch.Generator().manual_seed(0)), lo + hi - x)


def test_view_policy_crop_is_a_zoom():
    """A square crop resized back: on a horizontal ramp the slope shrinks by the crop side."""
    w = 16
    ramp = torch.linspace(0, 1, w).expand(4, 1, w, w).contiguous()
    crop = A.ViewPolicy(operations=(), n_ops=0, crop_scale=(0.5, 0.5), crop_pad=0.0, rotation=0.0,
                        value_range=(0.0, 1.0))
    out = crop(ramp, torch.Generator().manual_seed(0))
    slope = (out[:, 0, :, 2:-2].diff(dim=-1)).mean(dim=(1, 2))
    torch.testing.assert_close(slope, torch.full((4,), 0.5 / (w - 1)), atol=1e-4, rtol=0)
    # the crop lies inside the image: the values stay within the ramp's range
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_view_policy_border_padding_and_colour_scrambling():
    """A shifted uniform background keeps its colour (border padding); the colour
    policy changes the colour of nearly every view, the grey policy of none."""
    bg = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1).expand(64, 3, 8, 8).contiguous()
    geo = A.ViewPolicy(operations=("rotate", "shear_x", "translate_y"), n_ops=2, p=1.0,
                       crop_scale=(0.6, 1.0), value_range=(0.0, 1.0))
    torch.testing.assert_close(geo(bg, torch.Generator().manual_seed(0)), bg)
    colour = A.ViewPolicy(**A.colour_policy(operations=(), hue=0.5), value_range=(0.0, 1.0))
    out = colour(bg, torch.Generator().manual_seed(0))
    changed = (out - bg).abs().flatten(1).amax(dim=1) > 0.05
    assert int(changed.sum()) >= 56                                # 1/6 * 1/2 keep red, roughly
    grey = A.ViewPolicy(**A.grey_policy(operations=()), value_range=(0.0, 1.0))
    torch.testing.assert_close(grey(bg, torch.Generator().manual_seed(0)), bg)


def test_view_policy_bad_arguments_and_defaults():
    with pytest.raises(ValueError, match="unknown names"):
        A.ViewPolicy(operations=("equalise",))
    with pytest.raises(ValueError, match="crop_scale"):
        A.ViewPolicy(crop_scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="padding_mode"):
        A.ViewPolicy(padding_mode="wrap")
    grey = A.dhog_augment(torch.rand(10, 1, 8, 8) * 16)
    colour = A.dhog_augment(torch.rand(10, 3, 8, 8))
    assert grey.operations == A.GREY_OPERATIONS and grey.grayscale == 0 and grey.value_range[1] <= 16
    assert grey.channel_shuffle == 0 and grey.hflip == 0 and grey.crop_scale == (0.87, 1.18)
    assert colour.grayscale == 0.5 and colour.channel_shuffle == 1.0 and colour.hue == 0
    assert A.ViewPolicy().extra_repr() == A.ViewPolicy(**A.grey_policy()).extra_repr()
    assert isinstance(A.dhog_augment(torch.rand(10, 5)), VectorAugment)


def test_geometric_draws_are_the_stated_matrices():
    """One slot's matrix is the rotation / shear / translation drawn, identity elsewhere."""
    names = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y", "invert")
    op_idx = torch.tensor([0, 1, 2, 3, 4, 5, 0])
    use = torch.tensor([True, True, True, True, True, True, False])
    m = torch.tensor([0.5, 1.0, 0.25, 0.5, 1.0, 1.0, 1.0])
    sign = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0, 1.0, 1.0])
    mat = _geometric(names, op_idx, use, m, sign, degrees=30.0, shear=0.3, translate=0.2)
    a = math.radians(15.0)
    expected = [
        [[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0]],   # rotate +15 deg
        [[1, -0.3, 0], [0, 1, 0]],                                         # shear_x -0.3
        [[1, 0, 0], [0.075, 1, 0]],                                        # shear_y +0.075
        [[1, 0, 0.2], [0, 1, 0]],                                          # +0.1 side = 0.2 normalised
        [[1, 0, 0], [0, 1, -0.4]],                                         # -0.2 side
        [[1, 0, 0], [0, 1, 0]],                                            # photometric: identity
        [[1, 0, 0], [0, 1, 0]],                                            # not applied: identity
    ]
    torch.testing.assert_close(mat[:, :2], torch.tensor(expected, dtype=torch.float32), atol=1e-6,
                               rtol=0)
    torch.testing.assert_close(mat[:, 2], torch.tensor([[0.0, 0.0, 1.0]]).expand(7, 3))


def _ref_view_geometry(img, side, centre, angle, flip, padding="border"):
    """One (C, H, W) image warped as ViewPolicy documents it, pixel by pixel: the
    output pixel at normalised (xo, yo) (pixel centres, the image spans [-1, 1])
    reads the input at centre + side * R(angle) @ F(flip) @ (xo, yo), bilinear,
    outside the image the nearest edge pixel ("border") or 0 ("zeros")."""
    c, h, w = img.shape
    ca, sa, fl = np.cos(angle), np.sin(angle), -1.0 if flip else 1.0
    m = side * np.array([[ca * fl, -sa], [sa * fl, ca]])
    out = np.zeros_like(img)
    for i in range(h):
        for j in range(w):
            xo, yo = (2 * j + 1) / w - 1, (2 * i + 1) / h - 1
            xi, yi = centre + m @ np.array([xo, yo])
            px, py = ((xi + 1) * w - 1) / 2, ((yi + 1) * h - 1) / 2     # pixel coordinates
            if padding == "border":
                px, py = min(max(px, 0), w - 1), min(max(py, 0), h - 1)
            x0, y0 = int(np.floor(px)), int(np.floor(py))
            for yy, wy in ((y0, 1 - (py - y0)), (y0 + 1, py - y0)):
                for xx, wx in ((x0, 1 - (px - x0)), (x0 + 1, px - x0)):
                    if 0 <= yy < h and 0 <= xx < w and wx * wy > 0:
                        out[:, i, j] += wx * wy * img[:, yy, xx]
    return out


@pytest.mark.parametrize("channels,padding", [(1, "border"), (3, "border"), (3, "zeros")])
def test_view_policy_geometry_matches_per_image_reference(channels, padding):
    """Crop side, centre, rotation and flip redrawn from the same generator in the
    documented order (side, centre, angle, flip, then the operation slots), then
    each image warped by the slow reference; colour images get the same geometry
    as grey ones (their colour draws come after it)."""
    n, h, w = 6, 9, 9
    x = _images(n=n, c=channels, h=h, w=w, levels=False)
    policy = A.ViewPolicy(operations=(), n_ops=0, crop_scale=(0.6, 1.3), crop_pad=0.2,
                          rotation=40.0, hflip=0.5, padding_mode=padding, value_range=(0.0, 1.0))
    out = policy(torch.from_numpy(x).float(), torch.Generator().manual_seed(0)).numpy()
    g = torch.Generator().manual_seed(0)
    side = torch.rand(n, generator=g) * 0.7 + 0.6
    reach = (1 + 2 * 0.2 - side).clamp_min(0).unsqueeze(1)
    centre = (torch.rand(n, 2, generator=g) * 2 - 1) * reach
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(40.0)
    flip = torch.rand(n, generator=g) < 0.5
    assert 0 < int(flip.sum()) < n and float(side.max()) > 1 and float(side.min()) < 1
    ref = np.stack([_ref_view_geometry(x[i], float(side[i]), centre[i].double().numpy(),
                                       float(angle[i]), bool(flip[i]), padding)
                    for i in range(n)])
    np.testing.assert_allclose(out, ref, atol=2e-5)
