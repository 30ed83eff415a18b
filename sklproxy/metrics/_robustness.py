"""Hash retention under image perturbations of growing strength (the thesis's figure).

:func:`perturb_images` draws one perturbation per image, in NumPy, relative
to the value range ``[lo, hi]`` of the images given (``X.min()`` and
``X.max()``, so 0..1, 0..255 and digits' 0..16 are treated alike):

* ``"jitter"``, strength ``s``: colour jitter, contrast ``c`` and
  brightness ``b`` drawn uniformly in ``[1 - s, 1 + s]`` per image:
  ``x' = clip(b * (m + c * (x - m)))``, ``m`` the image's mean, clipped to
  ``[lo, hi]``.
* ``"occlusion"``, strength ``s``: a square of side ``round(s * min(H, W))``
  at a uniformly random position set to ``lo`` (the background).
* ``"noise"``, strength ``s``: Gaussian pixel noise of standard deviation
  ``s * (hi - lo)``, clipped to ``[lo, hi]``.

:func:`hash_retention_curves` hashes the clean and perturbed images and
returns :func:`~sklproxy.metrics.hash_retention` (the share of items whose
first ``t`` bits are unchanged) for each kind, strength and prefix length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils import check_random_state

from ._hashing import hash_retention

__all__ = ["DEFAULT_PERTURBATIONS", "hash_retention_curves", "perturb_images"]

# strengths: light, medium, strong
DEFAULT_PERTURBATIONS: dict[str, tuple[float, ...]] = {
    "jitter": (0.1, 0.2, 0.4),
    "occlusion": (0.1, 0.2, 0.3),
    "noise": (0.02, 0.05, 0.1),
}


def _check_images(X: ArrayLike) -> NDArray[np.float32]:
    """``X`` as float32 images ``(n, H, W)`` or ``(n, C, H, W)``: non-empty and finite."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim not in (3, 4):
        raise ValueError(f"X must hold images of shape (n, H, W) or (n, C, H, W); got shape "
                         f"{X.shape}. Reshape flattened images first.")
    if X.size == 0:
        raise ValueError(f"X of shape {X.shape} holds no pixels; pass at least one image.")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity; pass finite image intensities.")
    return X


def perturb_images(X: ArrayLike, kind: str, strength: float, *,
                   random_state: int | np.random.RandomState | None = None,
                   value_range: tuple[float, float] | None = None) -> NDArray[np.float32]:
    """One random perturbation of each image (see the module docstring).

    Parameters
    ----------
    X : array-like of shape (n, H, W) or (n, C, H, W)
    kind : {"jitter", "occlusion", "noise"}
    strength : float
        ``s`` of the module docstring, ``>= 0`` (0 returns a copy).
    random_state : int, RandomState instance or None, default=None
    value_range : (float, float) or None, default=None
        ``(lo, hi)``; None takes ``X.min()`` and ``X.max()``. Pass the
        training set's range when perturbing a few images.

    Returns
    -------
    ndarray of the shape of ``X``, float32

    Examples
    --------
    >>> import numpy as np
    >>> X = np.ones((2, 4, 4)); X[:, 0] = 0
    >>> perturb_images(X, "occlusion", 0.5, random_state=0).sum(axis=(1, 2)).tolist()
    [10.0, 8.0]
    """
    X = _check_images(X)
    if kind not in DEFAULT_PERTURBATIONS:
        raise ValueError(f"kind={kind!r} is not supported; use one of "
                         f"{', '.join(map(repr, DEFAULT_PERTURBATIONS))}.")
    if not strength >= 0:
        raise ValueError(f"strength={strength!r} must be >= 0.")
    rng = check_random_state(random_state)
    lo, hi = (float(X.min()), float(X.max())) if value_range is None else map(float, value_range)
    n = len(X)
    images = X if X.ndim == 4 else X[:, None]                            # (n, C, H, W)
    if kind == "jitter":
        shape = (n, 1, 1, 1)
        c = rng.uniform(1 - strength, 1 + strength, shape)
        b = rng.uniform(1 - strength, 1 + strength, shape)
        m = images.mean(axis=(1, 2, 3), keepdims=True)
        out = np.clip(b * (m + c * (images - m)), lo, hi)
    elif kind == "noise":
        out = np.clip(images + rng.normal(0.0, strength * (hi - lo), images.shape), lo, hi)
    else:
        h, w = images.shape[-2:]
        side = min(int(round(strength * min(h, w))), h, w)
        top = rng.randint(0, h - side + 1, n)
        left = rng.randint(0, w - side + 1, n)
        rows = np.arange(h)[None, :, None]
        cols = np.arange(w)[None, None, :]
        inside = ((rows >= top[:, None, None]) & (rows < top[:, None, None] + side)
                  & (cols >= left[:, None, None]) & (cols < left[:, None, None] + side))
        out = np.where(inside[:, None], lo, images)
    return out.astype(np.float32).reshape(X.shape)


def hash_retention_curves(
    transform: Callable[[np.ndarray], ArrayLike],
    X: ArrayLike,
    perturbations: Mapping[str, Sequence[float]] | None = None,
    *,
    prefix_lengths: ArrayLike | None = None,
    random_state: int | np.random.RandomState | None = 0,
) -> dict[str, dict[float, NDArray[np.float64]]]:
    """Hash retention per prefix length under each perturbation and strength.

    Parameters
    ----------
    transform : callable
        Maps images of the shape of ``X`` to codes ``(n, n_bits)``, e.g. a
        fitted hasher's ``transform``.
    X : array-like of shape (n, H, W) or (n, C, H, W)
        Images (e.g. the test set).
    perturbations : mapping or None, default=None
        ``{kind: strengths}``; None uses :data:`DEFAULT_PERTURBATIONS`.
    prefix_lengths : array-like of int or None, default=None
        As in :func:`~sklproxy.metrics.hash_retention` (None: every length).
    random_state : int, RandomState instance or None, default=0
        One generator draws every perturbation, kinds and strengths in the
        order given, so two hashers evaluated with the same int see the same
        perturbed images.

    Returns
    -------
    dict
        ``{kind: {strength: retention}}``, each retention an array of
        fractions, one per prefix length.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((50, 8, 8))
    >>> sign = lambda Z: (Z.reshape(len(Z), -1)[:, :6] > 0.5).astype(np.uint8)
    >>> out = hash_retention_curves(sign, X, {"noise": [0.0, 0.5]})
    >>> out["noise"][0.0].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    X = _check_images(X)
    rng = check_random_state(random_state)
    lo, hi = float(X.min()), float(X.max())
    clean = np.asarray(transform(X))
    out: dict[str, dict[float, NDArray[np.float64]]] = {}
    for kind, strengths in (DEFAULT_PERTURBATIONS if perturbations is None
                            else perturbations).items():
        out[kind] = {}
        for s in strengths:
            noisy = perturb_images(X, kind, s, random_state=rng, value_range=(lo, hi))
            out[kind][float(s)] = hash_retention(clean, np.asarray(transform(noisy)),
                                                 prefix_lengths)
    return out
