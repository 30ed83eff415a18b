"""digits28: scikit-learn's 8x8 digits as MNIST-sized images, the CPU stand-in for MNIST."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

__all__ = ["load_digits28"]

_INNER = 20  # upsampled side, as MNIST's digits fill a 20x20 box inside 28x28
_SIDE = 28


def load_digits28(
    *, n_test: int = 500, random_state: int | np.random.RandomState | None = 0,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's digits upsampled to 20x20 (bilinear) and padded to 28x28.

    The CPU reference stand-in for MNIST (BENCHMARKS.md, "CPU reference
    settings"): 1797 grey digits as ``uint8`` 0..255 of shape ``(n, 28, 28)``,
    split into a stratified training set and a test set of ``n_test``
    images. Colour-biased variants are built from it exactly as from MNIST
    (:func:`make_colour_biased`).

    The 8x8 images (values 0..16) are scaled to [0, 1], upsampled with
    bilinear interpolation (``align_corners=False``) to 20x20, padded by 4
    zero pixels on each side and rounded to 0..255. The background stays
    exactly 0.

    Parameters
    ----------
    n_test : int, default=500
        Size of the stratified test split (the rest, 1297 by default, is the
        training set).
    random_state : int, RandomState instance or None, default=0
        Seeds the split. The default gives the reference split.
    return_X_y : bool, default=False
        Return ``(X_train, y_train, X_test, y_test)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` (images ``uint8``
        ``(n, 28, 28)``, labels ``int64``) and ``DESCR``.
    (X_train, y_train, X_test, y_test) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from sklproxy.datasets import load_digits28
    >>> Xtr, ytr, Xte, yte = load_digits28(return_X_y=True)
    >>> Xtr.shape, Xtr.dtype, Xte.shape
    ((1297, 28, 28), dtype('uint8'), (500, 28, 28))
    >>> int(Xtr[:, :4].max()), int(Xtr.max())     # empty border, full intensity
    (0, 255)
    """
    n_total = 1797
    if not isinstance(n_test, (int, np.integer)) or not 10 <= n_test <= n_total - 10:
        raise ValueError(
            f"n_test={n_test!r} must be an integer in [10, {n_total - 10}] so that both "
            "splits hold every class; the reference split uses n_test=500."
        )
    X8, y = load_digits(return_X_y=True)
    images = torch.from_numpy(X8.reshape(-1, 1, 8, 8) / 16.0).float()
    big = F.interpolate(images, size=(_INNER, _INNER), mode="bilinear", align_corners=False)
    pad = (_SIDE - _INNER) // 2
    big = F.pad(big, (pad, pad, pad, pad))
    X = (big[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    y = y.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=int(n_test), stratify=y, random_state=random_state
    )
    if return_X_y:
        return X_train, y_train, X_test, y_test
    return Bunch(
        X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        DESCR="scikit-learn's 8x8 digits upsampled (bilinear) to 20x20 and padded "
        "to 28x28, uint8 0..255; stratified train/test split.",
    )
