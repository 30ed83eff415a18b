"""Spatial biases beyond colour and corruption: a class texture, a jittered class patch."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state

from ._biased import (
    _check_bias_args,
    _check_images_labels,
    _count_classes,
    _outside_silhouette,
    _pick_colours,
    _scale_to_unit,
)

__all__ = ["PATCHES", "TEXTURES", "make_spatial_biased"]

#: Ten 4x4 binary class patterns, 8 pixels on each (the mass does not tell the
#: class); any two differ in at least 6 pixels under every shift by up to 1 px.
PATCHES = np.array(
    [[[int(v) for v in row] for row in pattern.split("/")] for pattern in (
        "0111/1001/1000/1010", "1101/0110/1000/1001", "1110/0001/1100/1001", "0110/1000/0110/1101",
        "1010/0101/0010/1101", "1001/0100/0011/1011", "0010/0010/1101/1011", "0001/1010/1101/0101",
        "0010/1011/0110/1010", "1110/1010/1000/0011",
    )],
    dtype=np.float32,
)
#: Ten class gratings (orientation in degrees, period in pixels): five
#: orientations times two periods; every class uses the same intensities.
TEXTURES = np.array([(a, p) for p in (4.0, 7.0) for a in (0.0, 36.0, 72.0, 108.0, 144.0)])
PATCHES.setflags(write=False)
TEXTURES.setflags(write=False)


def _grating(angle: float, period: float, phase: float, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) in [0, 1]: ``(1 + cos(2 pi (r sin a + c cos a) / period + phase)) / 2``."""
    rr, cc = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    a = np.deg2rad(angle)
    return 0.5 * (1.0 + np.cos(2 * np.pi * (rr * np.sin(a) + cc * np.cos(a)) / period + phase))


def make_spatial_biased(
    X: ArrayLike,
    y: ArrayLike,
    *,
    kind: str = "texture",
    bias_ratio: float = 1.0,
    test_mode: str | None = None,
    strength: float | None = None,
    jitter: int = 2,
    patch_size: int = 8,
    position: tuple[int, int] | None = None,
    threshold: float = 0.0,
    max_value: float | None = None,
    n_classes: int | None = None,
    protocol: str | None = None,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Add a spatial signal that is a spurious proxy for the label.

    Two kinds, both made of intensities that every class uses (so no pixel
    value tells the class, unlike a colour):

    * ``kind="texture"``: the background (dark pixels 4-connected to the
      border, as for :func:`make_colour_biased`'s background) takes class
      ``k``'s grating ``TEXTURES[k]`` (orientation, period) with a random
      phase per image, scaled to ``[0, strength]`` (default 0.5).
    * ``kind="patch"``: class ``k``'s 4x4 binary pattern ``PATCHES[k]``
      (each cell ``patch_size / 4`` pixels square) is written over the image at
      ``position`` (top-left corner; default ``(jitter, jitter)``) shifted by
      a random integer offset in ``[-jitter, jitter]`` on each axis, with
      intensity ``strength`` (default 1.0) on and 0 off.

    Which class's signal each image gets follows :func:`make_colour_biased`
    (``bias_ratio``, ``test_mode``, ``protocol="lff"``); the conditioned test
    set is the clean image (index -1).

    Parameters
    ----------
    X : array-like of shape (n_samples, H, W) or (n_samples, C, H, W)
        Grey or channels-first images (uint8 0..255, float in [0, 1], 0..16).
    y : array-like of shape (n_samples,)
        Integer class labels 0..K-1, K <= 10.
    kind : {"texture", "patch"}, default="texture"
    bias_ratio : float in [0, 1], default=1.0
    test_mode : {None, "independent", "conditioned"}, default=None
    strength : float in (0, 1], default=None
        Texture amplitude (None: 0.5) or patch intensity (None: 1.0).
    jitter : int >= 0, default=2
        Patch only: largest shift in pixels along each axis.
    patch_size : int, default=8
        Patch only: side in pixels, a multiple of 4 (8: cells of 2x2 pixels;
        with 4 px patches a LeNet on digits28 ignores the patch and learns
        the digit, 0.97 on the independent test at 100 % bias).
    position : (int, int) or None, default=None
        Patch only: nominal top-left corner (row, column).
    threshold : float in [0, 1), default=0.0
        Texture only: the largest intensity a background pixel may have.
    max_value, n_classes, protocol, random_state
        As for :func:`make_colour_biased` (``protocol`` None or ``"lff"``).

    Returns
    -------
    X_biased : ndarray of shape (n_samples, C, H, W), dtype float32
        Images in [0, 1], channels first.
    signal : ndarray of shape (n_samples,), dtype int64
        Class whose texture or patch each image carries (-1: none).

    See Also
    --------
    make_corrupted, make_colour_biased

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.datasets import PATCHES, make_spatial_biased
    >>> X = np.zeros((3, 28, 28), dtype=np.uint8)
    >>> Xp, signal = make_spatial_biased(X, [0, 1, 2], kind="patch", jitter=0, random_state=0)
    >>> Xp.shape, signal.tolist()
    ((3, 1, 28, 28), [0, 1, 2])
    >>> bool((Xp[1, 0, :8:2, :8:2] == PATCHES[1]).all())     # 2x2-pixel cells
    True
    """
    X, y = _check_images_labels(X, y, allow_channels=True)
    if kind not in ("texture", "patch"):
        raise ValueError(f"kind={kind!r} is not supported; use 'texture' or 'patch'.")
    _check_bias_args(bias_ratio, test_mode, protocol)
    strength = (0.5 if kind == "texture" else 1.0) if strength is None else float(strength)
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"strength={strength} must lie in (0, 1].")
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold={threshold} must lie in [0, 1) (intensity scaled to [0, 1]).")
    k = _count_classes(y, n_classes)
    if k > 10:
        raise ValueError(f"{k} classes but only 10 {kind}s are defined; use at most 10 classes.")
    H, W = X.shape[-2:]
    if kind == "patch":
        if isinstance(jitter, bool) or not isinstance(jitter, (int, np.integer)) or jitter < 0:
            raise ValueError(f"jitter={jitter!r} must be a non-negative integer (pixels).")
        if not isinstance(patch_size, (int, np.integer)) or patch_size < 4 or patch_size % 4:
            raise ValueError(f"patch_size={patch_size!r} must be a positive multiple of 4 (4x4 pattern cells).")
        top, left = (jitter, jitter) if position is None else (int(position[0]), int(position[1]))
        if top - jitter < 0 or left - jitter < 0 or top + jitter + patch_size > H or left + jitter + patch_size > W:
            raise ValueError(
                f"position={(top, left)} with jitter={jitter} and patch_size={patch_size} leaves the "
                f"{H}x{W} image; keep position - jitter >= 0 and position + jitter + patch_size <= the side."
            )
    rng = check_random_state(random_state)
    images = _scale_to_unit(X, max_value)
    images = images[:, None] if images.ndim == 3 else images                      # (n, C, H, W)
    signal = _pick_colours(y, k, bias_ratio, test_mode, rng, protocol)           # (n,), -1 = none
    out = images.copy()
    marked = np.flatnonzero(signal >= 0)
    if kind == "texture":
        phases = rng.uniform(0, 2 * np.pi, size=len(y))
        background = _outside_silhouette(images.mean(axis=1)[marked], threshold)   # (m, H, W)
        for j, i in enumerate(marked):
            angle, period = TEXTURES[signal[i]]
            texture = strength * _grating(angle, period, phases[i], (H, W))
            out[i] = np.where(background[j][None], texture[None], out[i])
    else:
        shifts = rng.randint(-jitter, jitter + 1, size=(len(y), 2))
        cell = patch_size // 4
        for i in marked:
            pattern = np.kron(PATCHES[signal[i]], np.ones((cell, cell), dtype=np.float32)) * strength
            r, c = top + shifts[i, 0], left + shifts[i, 1]
            out[i, :, r:r + patch_size, c:c + patch_size] = pattern[None]
    return out.astype(np.float32, copy=False), signal
