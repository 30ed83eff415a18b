"""Synthetic biased variants of grey image sets (methods page, LAD, "Colour-biased data").

* :func:`make_colour_biased`: foreground-coloured (LfF) and
  background-coloured (ReBias) RGB images with a chosen bias ratio, plus the
  two test settings (independent, conditioned).
* :func:`make_one_pixel`: the one-pixel problem (pixel ``k`` of the first row
  set for class ``k``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage
from sklearn.utils import check_random_state

__all__ = [
    "BACKGROUND_COLOURS",
    "FOREGROUND_COLOURS",
    "make_colour_biased",
    "make_one_pixel",
]

# 8-bit RGB class colours, one row per class (methods page, "Colour-biased data").
# LfF's coloured MNIST, classes 0-4 then 5-9
FOREGROUND_COLOURS = np.array([[251, 80, 43], [253, 233, 90], [172, 118, 148], [200, 212, 153],
                               [22, 198, 250], [82, 245, 114], [6, 60, 193], [142, 26, 194],
                               [53, 100, 5], [213, 52, 68]], dtype=np.uint8)
# ReBias's colour MNIST
BACKGROUND_COLOURS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [225, 225, 0], [225, 0, 225],
                               [0, 255, 255], [255, 128, 0], [255, 0, 128], [128, 0, 255],
                               [128, 128, 128]], dtype=np.uint8)
FOREGROUND_COLOURS.setflags(write=False)
BACKGROUND_COLOURS.setflags(write=False)

_DEFAULT_NOISE = {"foreground": 0.005, "background": 0.0}
_CHUNK = 4096  # images per connected-component pass (bounds the label array)


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------


def _infer_max_value(X: np.ndarray) -> float:
    """Nominal full-scale value of an image set: 1, 16 (8x8 digits) or 255."""
    if X.size and not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity; pass finite image intensities.")
    top = float(X.max()) if X.size else 1.0
    for nominal in (1.0, 16.0, 255.0):
        if top <= nominal:
            return nominal
    raise ValueError(
        f"X has values up to {top}, above 255; pass max_value= to say what full "
        "intensity is, e.g. max_value=65535 for 16-bit images."
    )


def _check_images_labels(X, y, *, allow_channels: bool = False):
    """Shared checks: X is (n, H, W) [or (n, C, H, W)], y is (n,) integers >= 0."""
    X = np.asarray(X)
    ndims = (3, 4) if allow_channels else (3,)
    if X.ndim not in ndims:
        want = "(n, H, W) or (n, C, H, W)" if allow_channels else "(n, H, W) grey images"
        raise ValueError(
            f"X must have shape {want}; got ndim={X.ndim}, shape {X.shape}. "
            "Reshape flat images first, e.g. X.reshape(-1, 8, 8) for load_digits."
        )
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)):
        raise ValueError(f"X must be numeric; got dtype {X.dtype}.")
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be 1-d with one label per image; got shape {y.shape} for "
            f"{X.shape[0]} images."
        )
    if y.size:
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise ValueError(
                f"y must hold integer class labels 0..K-1; got dtype {y.dtype}"
                + (f", min {y.min()}." if np.issubdtype(y.dtype, np.number) else ".")
            )
    return X, y.astype(np.int64)


def _scale_to_unit(X: np.ndarray, max_value) -> np.ndarray:
    """Grey images as float32 in [0, 1]."""
    scale = _infer_max_value(X) if max_value is None else float(max_value)
    if scale <= 0:
        raise ValueError(f"max_value={max_value} must be positive.")
    if X.size and (X.min() < 0 or X.max() > scale):
        raise ValueError(
            f"X values lie in [{X.min()}, {X.max()}], outside [0, max_value={scale}]."
        )
    return (X / scale).astype(np.float32)


def _check_bias_args(bias_ratio: float, test_mode: str | None, protocol: str | None = None) -> None:
    """The arguments every bias protocol shares: ``bias_ratio``, ``test_mode`` and ``protocol``."""
    if not 0.0 <= bias_ratio <= 1.0:
        raise ValueError(f"bias_ratio={bias_ratio} must lie in [0, 1] (1.0 = fully biased).")
    if test_mode not in (None, "independent", "conditioned"):
        raise ValueError(
            f"test_mode={test_mode!r} is not supported; use None (training set), "
            "'independent' or 'conditioned'."
        )
    if protocol not in (None, "lff"):
        raise ValueError(f"protocol={protocol!r} is not supported; use None or 'lff'.")


def _count_classes(y: np.ndarray, n_classes) -> int:
    """K from ``n_classes`` or, if None, ``y.max() + 1``."""
    k = (int(y.max()) + 1 if y.size else 1) if n_classes is None else int(n_classes)
    if y.size and y.max() >= k:
        raise ValueError(f"n_classes={n_classes} but y holds label {y.max()}.")
    return k


# ---------------------------------------------------------------------------
# Colour protocols
# ---------------------------------------------------------------------------


def _outside_silhouette(grey: np.ndarray, threshold: float) -> np.ndarray:
    """Background mask: dark pixels 4-connected to the image border.

    grey: (n, H, W) in [0, 1]. Dark pixels (``<= threshold``) enclosed by the
    object, e.g. the exact-zero pixels inside many Fashion-MNIST garments or a
    bag's handle hole, are not background. 4-connectivity for the background
    keeps it from leaking diagonally through an 8-connected object outline.
    """
    n, H, W = grey.shape
    structure = np.zeros((3, 3, 3), dtype=bool)  # no links between images (axis 0)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    out = np.empty(grey.shape, dtype=bool)
    border = np.zeros((H, W), dtype=bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    for start in range(0, n, _CHUNK):
        dark = grey[start : start + _CHUNK] <= threshold  # (b, H, W)
        labels, _ = ndimage.label(dark, structure=structure)  # (b, H, W) component ids
        touching = np.unique(labels[:, border])
        touching = touching[touching > 0]
        out[start : start + _CHUNK] = np.isin(labels, touching)
    return out


def _rebias_assignment(y, k, aligned, rng) -> np.ndarray:
    """Colour per image as ReBias's ``BiasedMNIST`` assigns it.

    Per class ``c`` (its images in random order): the first
    ``int(n_c * aligned)`` keep colour ``c``; the rest are cut into chunks of
    ``ceil(rest / (k - 1))`` images, given to the other classes
    ``c+1, ..., c+k-1 (mod k)`` taken in random order.
    """
    colour = np.empty_like(y)
    for c in range(k):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_aligned = int(len(idx) * aligned)
        colour[idx[:n_aligned]] = c
        rest = idx[n_aligned:]
        if len(rest) == 0:
            continue
        if k < 2:
            raise ValueError(f"bias_ratio={aligned} < 1 needs at least 2 classes; y has {k}.")
        chunk = int(np.ceil(len(rest) / (k - 1)))
        others = rng.permutation([(c + j) % k for j in range(1, k)])
        for j, start in enumerate(range(0, len(rest), chunk)):
            colour[rest[start:start + chunk]] = others[j]
    return colour


def _lff_assignment(y, k, aligned) -> np.ndarray:
    """Colour per image as LfF's ``make_attr_labels`` assigns it (deterministic).

    Per class ``c``, in the order of the images: shares ``aligned`` for colour
    ``c`` and ``(1 - aligned) / (k - 1)`` for each other colour, cut at the
    rounded cumulative counts (colours in index order).
    """
    colour = np.empty_like(y)
    for c in range(k):
        idx = np.flatnonzero(y == c)
        share = np.full(k, (1.0 - aligned) / max(k - 1, 1))
        share[c] = aligned
        milestones = np.round(len(idx) * np.cumsum(share))          # (k,)
        # image j of the class takes the first colour whose milestone exceeds j
        colour[idx] = np.searchsorted(milestones, np.arange(len(idx)), side="right")
    return np.minimum(colour, k - 1)


def _pick_colours(y, k, bias_ratio, test_mode, rng, protocol=None) -> np.ndarray:
    """Colour index per image; -1 means no colour (conditioned test set)."""
    n = y.shape[0]
    if test_mode == "conditioned":
        return np.full(n, -1, dtype=np.int64)
    if protocol is not None:
        # the public codes' unbiased sets: aligned share 1/k, spread evenly per class
        aligned = 1.0 / k if test_mode == "independent" else bias_ratio
        if protocol == "rebias":
            return _rebias_assignment(y, k, aligned, rng)
        return _lff_assignment(y, k, aligned)
    if test_mode == "independent":
        return rng.randint(k, size=n).astype(np.int64)
    colour = y.copy()
    n_conflicting = n - int(round(bias_ratio * n))
    if n_conflicting and k < 2:
        raise ValueError(f"bias_ratio={bias_ratio} < 1 needs at least 2 classes; y has {k}.")
    if n_conflicting:
        flip = rng.permutation(n)[:n_conflicting]
        # a uniformly random *other* class: shift by 1..k-1 modulo k
        colour[flip] = (y[flip] + rng.randint(1, k, size=n_conflicting)) % k
    return colour


def make_colour_biased(
    X: ArrayLike,
    y: ArrayLike,
    *,
    kind: str | None = None,
    bias_ratio: float = 1.0,
    colour_noise: float | None = None,
    test_mode: str | None = None,
    threshold: float = 0.0,
    max_value: float | None = None,
    n_classes: int | None = None,
    palette: ArrayLike | None = None,
    protocol: str | None = None,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Colour grey images so that colour is a spurious proxy for the label.

    Two protocols (documentation, methods page, "Colour-biased data"):

    * ``kind="foreground"`` (LfF): the image's colour (its palette row / 255
      plus Gaussian noise of std ``colour_noise`` per channel, clipped to
      [0, 1]) is multiplied into the grey intensity; the background stays
      black.
    * ``kind="background"`` (ReBias): background pixels take the colour, the
      object keeps its grey intensity (replicated to 3 channels). Background
      = the outside of the object's silhouette: pixels with intensity
      ``<= threshold`` that are 4-connected to the image border. Dark pixels
      enclosed by the object stay as they are, which matters for
      Fashion-MNIST where garments contain exact-zero pixels inside.

    ``protocol`` reproduces a public benchmark's code exactly:

    * ``"rebias"`` (ReBias ``ColourBiasedMNIST``, background colour): the
      object is binarised (every non-zero pixel becomes full intensity) and
      *every* zero pixel takes the colour, holes included; per class,
      ``int(n_c * bias_ratio)`` images keep their class's colour and the rest
      are split in equal chunks among the other classes (in random order).
    * ``"lff"`` (LfF ``make_colored_mnist``, foreground colour): per class,
      the shares ``bias_ratio`` and ``(1 - bias_ratio) / (K - 1)`` are cut at
      rounded cumulative counts in the images' order (no randomness but the
      colour noise, std 0.005 as in the thesis unless ``colour_noise`` says
      otherwise).

    With a protocol, ``test_mode="independent"`` is that code's unbiased set
    (``bias_ratio = 1/K``, every colour equally often within each class) and
    ``"conditioned"`` the grey (for ReBias: binarised) image on 3 channels;
    ``kind`` and ``threshold`` are implied.

    Which colour each image gets without a protocol:

    * ``test_mode=None`` (training set): a share ``bias_ratio`` of the images
      (exactly ``round(bias_ratio * n)``, chosen at random) get their own
      class's colour; the rest get a uniformly random *other* class's colour.
    * ``test_mode="independent"``: the colour of a uniformly random class
      (``bias_ratio`` is ignored).
    * ``test_mode="conditioned"``: no colour, the grey image replicated to 3
      channels; the colour index is -1.

    Parameters
    ----------
    X : array-like of shape (n_samples, H, W)
        Grey images: uint8 0..255, float in [0, 1], or scikit-learn's 8x8
        digits with values 0..16 (reshape them to (n, 8, 8) first).
    y : array-like of shape (n_samples,)
        Integer class labels 0..K-1, K <= number of palette colours (10).
    kind : {"background", "foreground"}, default=None
        None means "background" (or what ``protocol`` implies).
    bias_ratio : float in [0, 1], default=1.0
        Share of images coloured with their own class's colour (thesis: 1.0).
    colour_noise : float >= 0, default=None
        Std of the Gaussian noise added to each image's colour (in [0, 1]
        units). None: 0.005 for foreground (LfF), 0.0 for background (ReBias
        uses the exact colours).
    test_mode : {None, "independent", "conditioned"}, default=None
    threshold : float in [0, 1), default=0.0
        Background mode only: a pixel can be background when its intensity,
        scaled to [0, 1], is at most this. 0 means exact-zero pixels, which is
        what Fashion-MNIST and the digits use for background.
    max_value : float, default=None
        Full-scale intensity of ``X``. None infers it from ``X.max()``: 1 if
        at most 1, else 16 if at most 16 (8x8 digits), else 255. Pass it
        explicitly for a dark subset whose maximum misleads the rule.
    n_classes : int, default=None
        Number of classes K (colours drawn for conflicting and independent
        images range over K). None: ``y.max() + 1``.
    palette : array-like of shape (K', 3), default=None
        8-bit RGB colours, one row per class, K' >= K. None: the protocol's
        ten colours (``FOREGROUND_COLOURS`` or ``BACKGROUND_COLOURS``).
    protocol : {None, "rebias", "lff"}, default=None
        Follow a public benchmark's code exactly (see above).
    random_state : int, RandomState instance or None, default=None
        Seeds the colour assignment and the colour noise.

    Returns
    -------
    X_colour : ndarray of shape (n_samples, 3, H, W), dtype float32
        RGB images in [0, 1], channels first.
    colour : ndarray of shape (n_samples,), dtype int64
        Palette row used per image (-1 when uncoloured). ``colour == y``
        marks the bias-aligned images.

    See Also
    --------
    make_one_pixel : Another spurious signal, for the gradient-ratio diagnostic.

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.datasets import make_colour_biased
    >>> X = np.zeros((4, 28, 28), dtype=np.uint8)
    >>> X[:, 8:20, 8:20] = 200
    >>> y = np.array([0, 1, 2, 3])
    >>> Xc, colour = make_colour_biased(X, y, kind="background", random_state=0)
    >>> Xc.shape, Xc.dtype
    ((4, 3, 28, 28), dtype('float32'))
    >>> colour.tolist()
    [0, 1, 2, 3]
    >>> (Xc[2, :, 0, 0] * 255).round().astype(int).tolist()  # class 2: blue
    [0, 0, 255]
    >>> _, colour = make_colour_biased(X, y, test_mode="conditioned")
    >>> colour.tolist()
    [-1, -1, -1, -1]
    """
    X, y = _check_images_labels(X, y)
    if protocol not in (None, "rebias", "lff"):
        raise ValueError(f"protocol={protocol!r} is not supported; use None, 'rebias' or 'lff'.")
    if protocol is not None:
        implied = "background" if protocol == "rebias" else "foreground"
        if kind not in (None, implied):
            raise ValueError(f"protocol={protocol!r} colours the {implied}; drop kind={kind!r}.")
        kind = implied
    kind = "background" if kind is None else kind
    if kind not in ("background", "foreground"):
        raise ValueError(f"kind={kind!r} is not supported; use 'background' or 'foreground'.")
    _check_bias_args(bias_ratio, test_mode)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold={threshold} must lie in [0, 1) (intensity scaled to [0, 1]).")
    noise = _DEFAULT_NOISE[kind] if colour_noise is None else float(colour_noise)
    if noise < 0:
        raise ValueError(f"colour_noise={colour_noise} must be >= 0.")
    if palette is None:
        palette = FOREGROUND_COLOURS if kind == "foreground" else BACKGROUND_COLOURS
    palette = np.asarray(palette, dtype=np.float64)
    if palette.ndim != 2 or palette.shape[1] != 3 or palette.min() < 0 or palette.max() > 255:
        raise ValueError(f"palette must be (K, 3) 8-bit RGB values; got shape {palette.shape}.")
    k = _count_classes(y, n_classes)
    if k > palette.shape[0]:
        raise ValueError(
            f"{k} classes but the palette has only {palette.shape[0]} colours; the "
            "protocols define 10. Pass palette= with one RGB row per class."
        )
    rng = check_random_state(random_state)

    grey = _scale_to_unit(X, max_value)  # (n, H, W)
    if protocol == "rebias":  # binarised object: fg[data != 0] = full intensity
        grey = (grey > 0).astype(np.float32)
    colour = _pick_colours(y, k, bias_ratio, test_mode, rng, protocol)  # (n,)
    out = np.repeat(grey[:, None], 3, axis=1)  # (n, 3, H, W)
    coloured = colour >= 0
    if not coloured.any():
        return out, colour

    rgb = palette[colour[coloured]] / 255.0  # (m, 3)
    if noise > 0:
        rgb = rgb + rng.normal(0.0, noise, size=rgb.shape)
    rgb = np.clip(rgb, 0.0, 1.0).astype(np.float32)[:, :, None, None]  # (m, 3, 1, 1)
    if kind == "foreground":
        out[coloured] = rgb * grey[coloured][:, None]
    else:
        if protocol == "rebias":  # every zero pixel, holes included
            background = (grey[coloured] == 0)[:, None]
        else:
            background = _outside_silhouette(grey[coloured], threshold)[:, None]  # (m, 1, H, W)
        out[coloured] = np.where(background, rgb, out[coloured])
    return out, colour


# ---------------------------------------------------------------------------
# One-pixel problem
# ---------------------------------------------------------------------------


def make_one_pixel(
    X: ArrayLike,
    y: ArrayLike,
    *,
    value: float | None = None,
    test: bool = False,
    n_classes: int | None = None,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Add the one-pixel shortcut: pixel ``k`` of the first row marks class ``k``.

    Training variant (``test=False``): image ``i`` gets ``X[i, ..., 0, y[i]] =
    value``, a perfectly predictive spurious feature. Test variant
    (``test=True``): the pixel of a uniformly random class is set instead,
    independent of the label, so a network relying on it drops to chance.
    Other pixels, including the rest of the first row, are left unchanged.

    Parameters
    ----------
    X : array-like of shape (n_samples, H, W) or (n_samples, C, H, W)
        Images, any numeric dtype. All channels are set.
    y : array-like of shape (n_samples,)
        Integer class labels 0..K-1, K <= W.
    value : float, default=None
        Value written, in the units of ``X``. None: full intensity (1, 16 or
        255, inferred from ``X.max()`` as in :func:`make_colour_biased`).
    test : bool, default=False
        Draw the pixel's class at random instead of using the label.
    n_classes : int, default=None
        K, the range of random classes in the test variant. None:
        ``y.max() + 1``.
    random_state : int, RandomState instance or None, default=None
        Only used when ``test=True``.

    Returns
    -------
    X_pixel : ndarray, same shape and dtype as ``X``
        A modified copy.
    pixel : ndarray of shape (n_samples,), dtype int64
        Column of the first row that was set, per image.

    See Also
    --------
    sklproxy.inspection.gradient_ratio : Whether a network uses the pixel.

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.datasets import make_one_pixel
    >>> X = np.zeros((3, 8, 8), dtype=np.uint8)
    >>> Xp, pixel = make_one_pixel(X, [2, 0, 5], value=255)
    >>> pixel.tolist()
    [2, 0, 5]
    >>> Xp[0, 0, :6].tolist()
    [0, 0, 255, 0, 0, 0]
    >>> Xp.dtype, int(X.sum())  # the input is not modified
    (dtype('uint8'), 0)
    """
    X, y = _check_images_labels(X, y, allow_channels=True)
    W = X.shape[-1]
    k = _count_classes(y, n_classes)
    if k > W:
        raise ValueError(f"{k} classes need {k} pixels in the first row but images are {W} wide.")
    if value is None:
        value = _infer_max_value(X)
    if np.issubdtype(X.dtype, np.integer):
        info = np.iinfo(X.dtype)
        if not (info.min <= value <= info.max and float(value).is_integer()):
            raise ValueError(f"value={value} does not fit X's dtype {X.dtype}.")
    if test:
        pixel = check_random_state(random_state).randint(k, size=X.shape[0]).astype(np.int64)
    else:
        pixel = y.copy()
    out = X.copy()
    rows = np.arange(X.shape[0])
    if X.ndim == 3:
        out[rows, 0, pixel] = value
    else:
        out[rows, :, 0, pixel] = value  # advanced indices split by a slice: (n, C)
    return out, pixel
