"""Gates of debiasing: does a colour still tell the label, is the shape still there?"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

__all__ = ["colour_features", "colour_decodability"]


def _images(X) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4:
        raise ValueError(
            f"X must hold images of shape (n, H, W) or (n, C, H, W); got shape {X.shape}. "
            "Reshape flat images first, e.g. X.reshape(-1, 3, 28, 28)."
        )
    flat = check_array(X.reshape(len(X), -1), dtype=[np.float64, np.float32])
    return flat.reshape(X.shape)


def colour_features(X: ArrayLike, *, border: int = 3, bright: float = 0.3) -> np.ndarray:
    """Per-image mean colour of the border and of the bright pixels: ``(n, 2 * C)``.

    The border (``border`` pixel rows at the top and bottom) is mostly
    background; the bright pixels (channel-mean intensity above ``bright``
    times the image's maximum) are mostly the object. Together they carry a
    background colour and a foreground colour, and little of the shape.

    Parameters
    ----------
    X : array-like of shape (n, C, H, W) or (n, H, W)
    border : int, default=3
    bright : float in [0, 1), default=0.3

    Returns
    -------
    features : ndarray of shape (n, 2 * C)

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.metrics import colour_features
    >>> X = np.zeros((2, 3, 8, 8))
    >>> X[0, 0] = 1.0                     # a red image
    >>> colour_features(X).round(2).tolist()[0]
    [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    """
    X = _images(X).astype(np.float64)
    if not 1 <= 2 * border <= X.shape[2]:
        raise ValueError(f"border={border} must be at least 1 and at most half the image height.")
    edge = np.concatenate([X[:, :, :border], X[:, :, -border:]], axis=2).mean(axis=(2, 3))  # (n, C)
    grey = X.mean(axis=1, keepdims=True)                                                  # (n, 1, H, W)
    top = grey.max(axis=(2, 3), keepdims=True)
    mask = grey > bright * top                                                            # (n, 1, H, W)
    obj = (X * mask).sum(axis=(2, 3)) / np.maximum(mask.sum(axis=(2, 3)), 1)               # (n, C)
    return np.concatenate([edge, obj], axis=1)


def colour_decodability(X: ArrayLike, y: ArrayLike, *, cv: int = 2, random_state: int | None = 0) -> float:
    """How well the colour alone predicts the label: cross-validated logistic regression.

    A gate for colour-bias removal: the accuracy of a (standardised) logistic
    regression on :func:`colour_features` with ``cv`` stratified folds. Near
    ``1 / n_classes`` when colour no longer tells the class; about 1 on
    colour-biased images. Shape leaks in a little (how much of an image is
    bright), so also measure it on images whose colour is independent of the
    label: that is the floor.

    Parameters
    ----------
    X : array-like of shape (n, C, H, W) or (n, H, W)
    y : array-like of shape (n,)
    cv : int, default=2
    random_state : int, default=0
        Seeds the folds.

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.metrics import colour_decodability
    >>> rng = np.random.RandomState(0)
    >>> y = np.arange(40) % 2
    >>> X = rng.rand(40, 3, 8, 8) * 0.1
    >>> X[y == 1, 0] += 0.8                # class 1 is red
    >>> colour_decodability(X, y)
    1.0
    """
    features = colour_features(X)
    y = column_or_1d(np.asarray(y))
    check_consistent_length(features, y)
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(cross_val_score(model, features, y, cv=folds).mean())
