"""Corruption-biased images: one corruption type per class (LfF's Corrupted CIFAR-10 protocol)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state

from ._biased import _check_bias_args, _check_images_labels, _count_classes, _pick_colours, _scale_to_unit
from ._corruptions import CORRUPTION_TYPES, CORRUPTIONS, corrupt_image

__all__ = ["make_corrupted"]


def _resolve_corruptions(corruptions) -> tuple[str, ...]:
    if isinstance(corruptions, str):
        if corruptions not in CORRUPTION_TYPES:
            raise ValueError(
                f"corruptions={corruptions!r} is not a known list; use 'type0', 'type1' or a "
                f"list of names from {sorted(CORRUPTIONS)}."
            )
        return CORRUPTION_TYPES[corruptions]
    if not isinstance(corruptions, Sequence) or not len(corruptions):
        raise ValueError(f"corruptions={corruptions!r} must be 'type0', 'type1' or a non-empty list of names.")
    unknown = [c for c in corruptions if c not in CORRUPTIONS]
    if unknown:
        raise ValueError(f"corruptions holds unknown names {unknown}; choose from {sorted(CORRUPTIONS)}.")
    return tuple(corruptions)


def make_corrupted(
    X: ArrayLike,
    y: ArrayLike,
    *,
    corruptions: str | Sequence[str] = "type0",
    severity: int = 5,
    bias_ratio: float = 1.0,
    test_mode: str | None = None,
    rgb: bool = False,
    max_value: float | None = None,
    n_classes: int | None = None,
    protocol: str | None = None,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Corrupt images so that the corruption type is a spurious proxy for the label.

    Class ``k`` is corrupted with corruption ``k`` of a list; LfF's lists for
    Corrupted CIFAR-10 are ``"type0"`` (snow, frost, fog, brightness,
    contrast, spatter, elastic, jpeg, pixelate, saturate) and ``"type1"``
    (gaussian_noise, shot_noise, impulse_noise, speckle_noise,
    gaussian_blur, defocus_blur, glass_blur, motion_blur, zoom_blur,
    original). The corruptions and their departures from the reference code
    (frost, snow and motion blur need image files or ImageMagick there; here
    they are procedural or written with scipy) are described in
    :mod:`sklproxy.datasets._corruptions`.

    Which corruption each image gets follows :func:`make_colour_biased`
    exactly, with the corruption in the place of the colour:

    * ``test_mode=None`` (training set): ``round(bias_ratio * n)`` images
      chosen at random take their own class's corruption, the rest a
      uniformly random other class's.
    * ``test_mode="independent"``: the corruption of a uniformly random class.
    * ``test_mode="conditioned"``: no corruption (index -1).
    * ``protocol="lff"``: LfF's ``make_attr_labels``: per class, the shares
      ``bias_ratio`` and ``(1 - bias_ratio) / (K - 1)`` cut at rounded
      cumulative counts in the images' order; its unbiased set
      (``test_mode="independent"``) spreads the K corruptions evenly over
      each class.

    Each image's corruption draws its randomness (noise, angles, maps) from
    its own seed, drawn from ``random_state`` after the assignment: the same
    inputs and ``random_state`` give the same images.

    Parameters
    ----------
    X : array-like of shape (n_samples, H, W) or (n_samples, C, H, W)
        Grey images (uint8 0..255, float in [0, 1], or 8x8 digits 0..16), or
        channels-first colour images with C = 3 (e.g. the output of
        :func:`make_colour_biased`).
    y : array-like of shape (n_samples,)
        Integer class labels 0..K-1, K <= the number of corruptions.
    corruptions : {"type0", "type1"} or list of str, default="type0"
        Corruption of each class, in class order.
    severity : int in 1..5, default=5
        CIFAR-10-C's severity. LfF's "Severity s" datasets use ``s + 1``; the
        default is its README's example, "severity4".
    bias_ratio : float in [0, 1], default=1.0
        Share of images corrupted with their own class's corruption.
    test_mode : {None, "independent", "conditioned"}, default=None
    rgb : bool, default=False
        Replicate grey images to 3 channels before corrupting (so that the
        colour corruptions act in colour). Ignored for colour input.
    max_value : float, default=None
        Full-scale intensity of ``X``; None infers 1, 16 or 255 from ``X.max()``.
    n_classes : int, default=None
        K; None: ``y.max() + 1``.
    protocol : {None, "lff"}, default=None
    random_state : int, RandomState instance or None, default=None
        Seeds the assignment and every image's corruption.

    Returns
    -------
    X_corrupted : ndarray of shape (n_samples, C, H, W), dtype float32
        Images in [0, 1], channels first (C = 1 for grey input without ``rgb``).
    corruption : ndarray of shape (n_samples,), dtype int64
        Index into the list of the corruption of each image (-1: none).
        ``corruption == y`` marks the bias-aligned images.

    See Also
    --------
    make_colour_biased : The same protocol with colours.
    make_spatial_biased : A class texture or a jittered class patch.

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.datasets import make_corrupted
    >>> X = np.zeros((4, 28, 28), dtype=np.uint8)
    >>> X[:, 8:20, 10:18] = 255
    >>> Xc, corruption = make_corrupted(X, [0, 1, 2, 3], corruptions="type1", random_state=0)
    >>> Xc.shape, Xc.dtype, corruption.tolist()
    ((4, 1, 28, 28), dtype('float32'), [0, 1, 2, 3])
    >>> _, corruption = make_corrupted(X, [0, 1, 2, 3], test_mode="conditioned")
    >>> corruption.tolist()
    [-1, -1, -1, -1]
    """
    X, y = _check_images_labels(X, y, allow_channels=True)
    if X.ndim == 4 and X.shape[1] not in (1, 3):
        raise ValueError(
            f"X has {X.shape[1]} channels; colour images must be channels-first RGB (n, 3, H, W), "
            "grey images (n, H, W) or (n, 1, H, W)."
        )
    names = _resolve_corruptions(corruptions)
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ValueError(f"severity={severity!r} must be an integer in 1..5 (CIFAR-10-C's scale).")
    _check_bias_args(bias_ratio, test_mode, protocol)
    k = _count_classes(y, n_classes)
    if k > len(names):
        raise ValueError(
            f"{k} classes but only {len(names)} corruptions; pass corruptions= with one name per class."
        )
    rng = check_random_state(random_state)
    images = _scale_to_unit(X, max_value)
    images = images[:, None] if images.ndim == 3 else images                  # (n, C, H, W)
    if rgb and images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    corruption = _pick_colours(y, k, bias_ratio, test_mode, rng, protocol)  # (n,), -1 = none
    seeds = rng.randint(0, 2**31 - 1, size=len(y))
    out = images.copy()
    for i in np.flatnonzero(corruption >= 0):
        out[i] = corrupt_image(images[i], names[corruption[i]], int(severity), np.random.RandomState(seeds[i]))
    return out.astype(np.float32, copy=False), corruption
