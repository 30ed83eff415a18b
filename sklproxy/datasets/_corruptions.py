"""Image corruptions of Corrupted CIFAR-10 (LfF's two lists), in numpy / scipy / Pillow.

Each corruption is a function ``(x, severity, rng) -> x`` on one image ``x`` of
shape ``(C, H, W)``, float in [0, 1], ``C`` = 1 (grey) or 3 (RGB), returning
the same shape, float64 in [0, 1]. The severity tables are those of
Hendrycks & Dietterich's CIFAR-10-C, which LfF's ``make_dataset.py`` calls
with ``severity + 1`` (LfF's datasets "Severity1..4" are severities 2..5
here). Constants given in pixels (blur sigmas, kernel radii, shuffle
distances) are used as they are on any image size, since digits28 and
Fashion-MNIST (28 px) are close to CIFAR's 32 px; constants that CIFAR-10-C
gives relative to the side (elastic, pixelate, the fog map) follow the
image's side.

Departures from the reference code, each written from the description of
the corruption rather than copied:

* ``frost`` overlays photographs of frost in the reference; here the frost
  layer is procedural: a plasma fractal sharpened into ridges plus random
  thin bright "needles", tinted pale blue on RGB images.
* ``snow`` and ``motion_blur`` call ImageMagick's motion blur in the
  reference; here a one-sided line kernel with Gaussian weights
  (:func:`_motion_kernel_blur`), sampled bilinearly along the angle.
* ``spatter`` (water, severities 1-3) uses OpenCV's Canny edges, distance
  transform and histogram equalisation in the reference; here the edges of
  the liquid mask, scipy's Euclidean distance transform and a rank
  equalisation, with the same emboss kernel idea.
* ``glass_blur``: each pixel (bottom-right first) takes the value of a
  random neighbour up to ``delta`` pixels up/left. The reference's "swap"
  is a tuple assignment of array views, which on colour images (the
  published data) copies the neighbour's value and leaves the neighbour as
  it was; a true swap would let pixels travel across the image. Values stay
  float instead of being rounded to 8 bits between the two blurs.
* ``impulse_noise`` flips each element with probability ``amount`` (salt or
  pepper with equal odds), as scikit-image's ``random_noise(mode="s&p")``.
* Colour corruptions on grey images (``brightness``, ``saturate``, the
  colours of ``spatter`` and ``frost``) are computed on the grey image
  replicated to RGB and converted back by the channel mean; ``brightness``
  is then a uniform lift, ``saturate`` the identity at severities 1-3 and a
  slight darkening at 4-5 (a grey pixel takes hue 0, red).
* ``jpeg`` and ``pixelate`` go through Pillow (JPEG on 8-bit values, the
  box resizes on float images); all others stay in float.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import numpy as np
from PIL import Image
from scipy import ndimage

__all__ = ["CORRUPTIONS", "CORRUPTION_TYPES", "corrupt_image"]

# Hendrycks & Dietterich's CIFAR-10-C severity tables, severity 1..5 per row.
_GAUSSIAN_NOISE = (0.04, 0.06, 0.08, 0.09, 0.10)
_SHOT_NOISE = (500, 250, 100, 75, 50)
_IMPULSE_NOISE = (0.01, 0.02, 0.03, 0.05, 0.07)
_SPECKLE_NOISE = (0.06, 0.1, 0.12, 0.16, 0.2)
_GAUSSIAN_BLUR = (0.4, 0.6, 0.7, 0.8, 1.0)
_GLASS_BLUR = ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2))  # sigma, delta, passes
_DEFOCUS_BLUR = ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1))  # radius, alias blur
_MOTION_BLUR = ((6, 1.0), (6, 1.5), (6, 2.0), (8, 2.0), (9, 2.5))  # radius, sigma
_ZOOM_BLUR = (6, 11, 16, 21, 26)  # zoom factors 1.00, 1.01, ... (this many)
_FOG = ((0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75))  # strength, roughness decay
_FROST = ((1.0, 0.2), (1.0, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45))  # image, frost weights
# snow: mean, std, zoom, threshold, blur radius, blur sigma, image weight
_SNOW = ((0.1, 0.2, 1.0, 0.6, 8, 3, 0.95), (0.1, 0.2, 1.0, 0.5, 10, 4, 0.9),
         (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9), (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
         (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8))
# spatter: mean, std, blur sigma, threshold, strength (water) / mud blur sigma, mud?
_SPATTER = ((0.62, 0.1, 0.7, 0.7, 0.5, 0), (0.65, 0.1, 0.8, 0.7, 0.5, 0), (0.65, 0.3, 1.0, 0.69, 0.5, 0),
            (0.65, 0.1, 0.7, 0.69, 0.6, 1), (0.65, 0.1, 0.5, 0.68, 0.6, 1))
_CONTRAST = (0.75, 0.5, 0.4, 0.3, 0.15)
_BRIGHTNESS = (0.05, 0.1, 0.15, 0.2, 0.3)
_SATURATE = ((0.3, 0.0), (0.1, 0.0), (1.5, 0.0), (2.0, 0.1), (2.5, 0.2))  # scale, shift
_JPEG = (80, 65, 58, 50, 40)
_PIXELATE = (0.95, 0.9, 0.85, 0.75, 0.65)
# elastic, as shares of the side: displacement scale, displacement smoothness, affine jitter
_ELASTIC = ((0.0, 0.0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03))

_WATER = np.array([175, 238, 238]) / 255.0  # pale turquoise (RGB)
_MUD = np.array([63, 42, 20]) / 255.0
_FROST_TINT = np.array([0.85, 0.92, 1.0])
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, as OpenCV's RGB -> grey


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _to_rgb(x: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (3, H, W): grey images replicated."""
    return np.repeat(x, 3, axis=0) if x.shape[0] == 1 else x


def _from_rgb(rgb: np.ndarray, channels: int) -> np.ndarray:
    """(3, H, W) -> (channels, H, W): back to grey by the channel mean."""
    return rgb.mean(axis=0, keepdims=True) if channels == 1 else rgb


def _luma(x: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W) grey level."""
    return x[0] if x.shape[0] == 1 else np.tensordot(_LUMA, x, axes=1)


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """(3, H, W) RGB in [0, 1] -> (3, H, W) HSV in [0, 1] (hue 0 for grey pixels)."""
    r, g, b = rgb
    v = rgb.max(axis=0)
    delta = v - rgb.min(axis=0)
    s = np.where(v > 0, delta / np.where(v > 0, v, 1.0), 0.0)
    safe = np.where(delta > 0, delta, 1.0)
    h = np.where(v == r, (g - b) / safe, np.where(v == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = np.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    return np.stack([h, s, v])


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_hsv`."""
    h, s, v = hsv
    i = np.floor(h * 6.0).astype(int) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros((3,) + h.shape)
    for k, channels in enumerate(table):
        out[:, i == k] = np.stack(channels)[:, i == k]
    return out


def _gaussian(img: np.ndarray, sigma: float, mode: str = "nearest", truncate: float = 4.0) -> np.ndarray:
    """Gaussian blur of the spatial axes of (H, W) or (C, H, W)."""
    if sigma <= 0:
        return img
    sig = (0.0, sigma, sigma) if img.ndim == 3 else sigma
    return ndimage.gaussian_filter(img, sig, mode=mode, truncate=truncate)


def _zoom_centre(img: np.ndarray, factor: float) -> np.ndarray:
    """(H, W) zoomed by ``factor`` about the centre, cropped to (H, W) (bilinear)."""
    H, W = img.shape
    rows = (np.arange(H) - (H - 1) / 2) / factor + (H - 1) / 2
    cols = (np.arange(W) - (W - 1) / 2) / factor + (W - 1) / 2
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    return ndimage.map_coordinates(img, [rr, cc], order=1, mode="nearest")


def _motion_kernel_blur(img: np.ndarray, radius: float, sigma: float, angle: float) -> np.ndarray:
    """(H, W) blurred along ``angle`` (degrees) by a one-sided Gaussian line kernel.

    Taps at distances ``0, 1, ..., 2 * radius`` behind each pixel, weights
    ``exp(-d**2 / (2 * sigma**2))`` normalised to sum 1, sampled bilinearly.
    """
    H, W = img.shape
    dist = np.arange(int(2 * radius) + 1, dtype=float)
    weights = np.exp(-(dist ** 2) / (2 * sigma ** 2))
    weights /= weights.sum()
    theta = np.deg2rad(angle)
    rr, cc = np.meshgrid(np.arange(H, dtype=float), np.arange(W, dtype=float), indexing="ij")
    out = np.zeros_like(img, dtype=float)
    for d, w in zip(dist, weights):
        coords = [rr - d * np.sin(theta), cc - d * np.cos(theta)]
        out += w * ndimage.map_coordinates(img, coords, order=1, mode="nearest")
    return out


def plasma_fractal(size: int, decay: float, rng: np.random.RandomState) -> np.ndarray:
    """(size, size) diamond-square height map in [0, 1]; ``size`` a power of 2.

    Corners start at 0; each level sets square centres to the mean of their
    4 corners and diamond centres to the mean of their 4 neighbours
    (wrapping), plus uniform noise of an amplitude that starts at 100 and is
    divided by ``decay`` per level (larger decay: smoother map).
    """
    grid = np.zeros((size, size))
    step, wobble = size, 100.0
    while step >= 2:
        half = step // 2
        corners = grid[0:size:step, 0:size:step]
        mean = (corners + np.roll(corners, -1, 0) + np.roll(corners, -1, 1)
                + np.roll(np.roll(corners, -1, 0), -1, 1)) / 4
        grid[half:size:step, half:size:step] = mean + rng.uniform(-wobble, wobble, mean.shape)
        centres = grid[half:size:step, half:size:step]
        corners = grid[0:size:step, 0:size:step]
        # diamonds on the rows of corners (between two corners horizontally)
        top = (corners + np.roll(corners, -1, 1) + centres + np.roll(centres, 1, 0)) / 4
        grid[0:size:step, half:size:step] = top + rng.uniform(-wobble, wobble, top.shape)
        # diamonds on the columns of corners (between two corners vertically)
        left = (corners + np.roll(corners, -1, 0) + centres + np.roll(centres, 1, 1)) / 4
        grid[half:size:step, 0:size:step] = left + rng.uniform(-wobble, wobble, left.shape)
        step, wobble = half, wobble / decay
    grid -= grid.min()
    return grid / max(grid.max(), 1e-12)


def _plasma_like(x: np.ndarray, decay: float, rng) -> np.ndarray:
    H, W = x.shape[1:]
    size = 1 << int(np.ceil(np.log2(max(H, W, 2))))
    return plasma_fractal(size, decay, rng)[:H, :W]


def _pil_per_channel(x: np.ndarray, fn: Callable[[Image.Image], Image.Image]) -> np.ndarray:
    """Apply a Pillow operation to each channel as a float ('F') image."""
    return np.stack([np.asarray(fn(Image.fromarray(c.astype(np.float32), mode="F")), dtype=float)
                     for c in x])


# ---------------------------------------------------------------------------
# Corruptions: (x (C, H, W) in [0, 1], severity 1..5, rng) -> (C, H, W) in [0, 1]
# ---------------------------------------------------------------------------


def gaussian_noise(x, severity, rng):
    return np.clip(x + rng.normal(scale=_GAUSSIAN_NOISE[severity - 1], size=x.shape), 0, 1)


def shot_noise(x, severity, rng):
    lam = _SHOT_NOISE[severity - 1]
    return np.clip(rng.poisson(x * lam) / lam, 0, 1)


def impulse_noise(x, severity, rng):
    amount = _IMPULSE_NOISE[severity - 1]
    flipped = rng.random_sample(x.shape) < amount
    salt = rng.random_sample(x.shape) < 0.5
    return np.where(flipped, salt.astype(float), x)


def speckle_noise(x, severity, rng):
    return np.clip(x + x * rng.normal(scale=_SPECKLE_NOISE[severity - 1], size=x.shape), 0, 1)


def gaussian_blur(x, severity, rng):
    return np.clip(_gaussian(x, _GAUSSIAN_BLUR[severity - 1]), 0, 1)


def glass_blur(x, severity, rng):
    sigma, delta, passes = _GLASS_BLUR[severity - 1]
    out = _gaussian(x, sigma)
    C, H, W = out.shape
    flat = out.reshape(C, H * W).copy()
    for _ in range(passes):  # each pixel, bottom-right first, takes a random up/left neighbour's value
        for h in range(H - delta, delta, -1):
            offsets = rng.randint(-delta, delta, size=(W - 2 * delta, 2))  # (dx, dy) per w
            for (dx, dy), w in zip(offsets, range(W - delta, delta, -1)):
                flat[:, h * W + w] = flat[:, (h + dy) * W + (w + dx)]
    return np.clip(_gaussian(flat.reshape(C, H, W), sigma), 0, 1)


def defocus_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """A normalised disk of ``radius`` on a 17x17 grid (larger for radius > 8), softened.

    The softening is a 3x3 Gaussian of std ``alias_blur`` (5x5 for large
    disks), reflecting at the kernel's border, as CIFAR-10-C's anti-aliasing.
    """
    half = 8 if radius <= 8 else int(np.ceil(radius))
    grid = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(grid, grid)
    disk = (xx ** 2 + yy ** 2 <= radius ** 2).astype(float)
    disk /= disk.sum()
    taps = np.arange(-1, 2) if radius <= 8 else np.arange(-2, 3)
    g = np.exp(-(taps ** 2) / (2 * alias_blur ** 2))
    g /= g.sum()
    for axis in (0, 1):
        disk = ndimage.correlate1d(disk, g, axis=axis, mode="mirror")
    return disk


def defocus_blur(x, severity, rng):
    kernel = defocus_kernel(*_DEFOCUS_BLUR[severity - 1])
    return np.clip(np.stack([ndimage.correlate(c, kernel, mode="mirror") for c in x]), 0, 1)


def motion_blur(x, severity, rng):
    radius, sigma = _MOTION_BLUR[severity - 1]
    angle = rng.uniform(-45, 45)
    return np.clip(np.stack([_motion_kernel_blur(c, radius, sigma, angle) for c in x]), 0, 1)


def zoom_blur(x, severity, rng):
    factors = 1.0 + 0.01 * np.arange(_ZOOM_BLUR[severity - 1])
    total = x.copy()
    for f in factors:
        total += np.stack([_zoom_centre(c, f) for c in x])
    return np.clip(total / (len(factors) + 1), 0, 1)


def fog(x, severity, rng):
    strength, decay = _FOG[severity - 1]
    top = x.max()
    out = x + strength * _plasma_like(x, decay, rng)[None]
    return np.clip(out * top / (top + strength), 0, 1)


def frost(x, severity, rng):
    """Procedural frost (the reference overlays frost photographs)."""
    w_image, w_frost = _FROST[severity - 1]
    C, H, W = x.shape
    ridges = 1.0 - np.abs(2.0 * _plasma_like(x, 1.6, rng) - 1.0)           # (H, W) bright veins
    needles = np.zeros((H, W))
    rr, cc = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    for _ in range(max(4, (H * W) // 64)):  # thin bright segments of random direction
        r0, c0 = rng.uniform(0, H), rng.uniform(0, W)
        theta, length = rng.uniform(0, np.pi), rng.uniform(2, max(H, W) / 3)
        along = (rr - r0) * np.sin(theta) + (cc - c0) * np.cos(theta)
        across = -(rr - r0) * np.cos(theta) + (cc - c0) * np.sin(theta)
        needles = np.maximum(needles, (np.abs(across) < 0.6) * (np.abs(along) < length / 2) * 0.8)
    layer = np.clip(0.7 * ridges ** 2 + _gaussian(needles, 0.5), 0, 1)   # (H, W) mean about 0.4
    frost_rgb = _FROST_TINT[:, None, None] * layer[None]                  # (3, H, W)
    return np.clip(w_image * x + w_frost * _from_rgb(frost_rgb, C), 0, 1)


def snow(x, severity, rng):
    mean, std, zoom, threshold, radius, sigma, keep = _SNOW[severity - 1]
    H, W = x.shape[1:]
    flakes = _zoom_centre(rng.normal(loc=mean, scale=std, size=(H, W)), zoom)
    flakes = np.clip(np.where(flakes < threshold, 0.0, flakes), 0, 1)
    flakes = _motion_kernel_blur(flakes, radius, sigma, rng.uniform(-135, -45))
    grey = _luma(x)[None]
    out = keep * x + (1 - keep) * np.maximum(x, grey * 1.5 + 0.5)
    return np.clip(out + flakes[None] + np.rot90(flakes, 2)[None], 0, 1)


def spatter(x, severity, rng):
    mean, std, sigma, threshold, strength, mud = _SPATTER[severity - 1]
    C, H, W = x.shape
    liquid = _gaussian(rng.normal(loc=mean, scale=std, size=(H, W)), sigma)
    liquid[liquid < threshold] = 0
    if not mud:  # water: bright rims of drops, pale turquoise
        wet = liquid > 0
        edges = wet ^ ndimage.binary_erosion(wet)
        dist = ndimage.distance_transform_edt(~edges) if edges.any() else np.full((H, W), 20.0)
        dist = ndimage.uniform_filter(np.minimum(dist, 20.0), 3, mode="nearest")
        dist = np.argsort(np.argsort(dist, axis=None)).reshape(H, W) / max(H * W - 1, 1)  # equalised
        emboss = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=float)
        dist = ndimage.uniform_filter(np.clip(ndimage.correlate(dist, emboss, mode="mirror"), 0, None), 3)
        m = liquid * dist
        m = m / m.max() * strength if m.max() > 0 else m
        rgb = _to_rgb(x) + m[None] * _WATER[:, None, None]
        return np.clip(_from_rgb(rgb, C), 0, 1)
    m = _gaussian((liquid > threshold).astype(float), strength)  # mud: opaque brown blobs
    m[m < 0.8] = 0
    rgb = _to_rgb(x) * (1 - m[None]) + _MUD[:, None, None] * m[None]
    return np.clip(_from_rgb(rgb, C), 0, 1)


def contrast(x, severity, rng):
    means = x.mean(axis=(1, 2), keepdims=True)
    return np.clip((x - means) * _CONTRAST[severity - 1] + means, 0, 1)


def brightness(x, severity, rng):
    hsv = rgb_to_hsv(_to_rgb(x))
    hsv[2] = np.clip(hsv[2] + _BRIGHTNESS[severity - 1], 0, 1)
    return np.clip(_from_rgb(hsv_to_rgb(hsv), x.shape[0]), 0, 1)


def saturate(x, severity, rng):
    scale, shift = _SATURATE[severity - 1]
    hsv = rgb_to_hsv(_to_rgb(x))
    hsv[1] = np.clip(hsv[1] * scale + shift, 0, 1)
    return np.clip(_from_rgb(hsv_to_rgb(hsv), x.shape[0]), 0, 1)


def jpeg(x, severity, rng):
    img8 = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    pil = Image.fromarray(img8[0], mode="L") if x.shape[0] == 1 else Image.fromarray(img8.transpose(1, 2, 0))
    buffer = BytesIO()
    pil.save(buffer, "JPEG", quality=_JPEG[severity - 1])
    out = np.asarray(Image.open(buffer), dtype=float) / 255.0
    return out[None] if out.ndim == 2 else out.transpose(2, 0, 1)


def pixelate(x, severity, rng):
    H, W = x.shape[1:]
    c = _PIXELATE[severity - 1]
    small = (max(1, int(W * c)), max(1, int(H * c)))
    return np.clip(_pil_per_channel(x, lambda im: im.resize(small, Image.BOX).resize((W, H), Image.BOX)), 0, 1)


def elastic(x, severity, rng):
    C, H, W = x.shape
    side = min(H, W)
    scale, smooth, jitter = (v * side for v in _ELASTIC[severity - 1])
    # a random affine map: three points around the centre moved by up to `jitter`
    centre, arm = np.array([W // 2, H // 2], dtype=float), side // 3
    src = np.array([centre + arm, [centre[0] + arm, centre[1] - arm], centre - arm])  # (3, 2) as (col, row)
    dst = src + rng.uniform(-jitter, jitter, size=src.shape)
    A = np.linalg.solve(np.c_[dst, np.ones(3)], np.c_[src, np.ones(3)])[:, :2].T   # dst -> src, (2, 3)
    rr, cc = np.meshgrid(np.arange(H, dtype=float), np.arange(W, dtype=float), indexing="ij")
    src_c = A[0, 0] * cc + A[0, 1] * rr + A[0, 2]
    src_r = A[1, 0] * cc + A[1, 1] * rr + A[1, 2]
    warped = np.stack([ndimage.map_coordinates(c, [src_r, src_c], order=1, mode="mirror") for c in x])
    # then a smooth random displacement field
    dx = _gaussian(rng.uniform(-1, 1, size=(H, W)), smooth, mode="reflect", truncate=3.0) * scale
    dy = _gaussian(rng.uniform(-1, 1, size=(H, W)), smooth, mode="reflect", truncate=3.0) * scale
    out = np.stack([ndimage.map_coordinates(c, [rr + dy, cc + dx], order=1, mode="reflect") for c in warped])
    return np.clip(out, 0, 1)


def original(x, severity, rng):
    return x.astype(float, copy=True)


#: name -> corruption function ``(x, severity, rng)``.
CORRUPTIONS: dict[str, Callable] = {
    f.__name__: f
    for f in (gaussian_noise, shot_noise, impulse_noise, speckle_noise, gaussian_blur, defocus_blur,
              glass_blur, motion_blur, zoom_blur, snow, frost, fog, brightness, contrast, elastic,
              pixelate, jpeg, spatter, saturate, original)
}

#: LfF's two lists for Corrupted CIFAR-10 (class ``k`` gets corruption ``k``).
CORRUPTION_TYPES: dict[str, tuple[str, ...]] = {
    "type0": ("snow", "frost", "fog", "brightness", "contrast", "spatter", "elastic", "jpeg",
              "pixelate", "saturate"),
    "type1": ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "gaussian_blur",
              "defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "original"),
}


def corrupt_image(x: np.ndarray, name: str, severity: int, rng: np.random.RandomState) -> np.ndarray:
    """One corruption of one image ``x`` ``(C, H, W)`` in [0, 1]; returns float64 ``(C, H, W)``."""
    return CORRUPTIONS[name](np.asarray(x, dtype=float), severity, rng)
