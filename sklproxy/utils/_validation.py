"""Input validation at the estimator boundary: vectors or images.

Every estimator accepts ``X`` as 2-D ``(n, n_features)`` vectors, 3-D
``(n, H, W)`` grey images or 4-D ``(n, C, H, W)`` images, as NumPy arrays,
array-likes or torch tensors. Checks are scikit-learn's own (``validate_data``
on the flattened array), so NaN/inf, complex, sparse, empty and wrong-width
input raise the errors scikit-learn users know.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    column_or_1d,
    validate_data,
)

__all__ = [
    "check_input_features",
    "encode_class_labels",
    "normalize_image_shape",
    "validate_input",
]

# Every network trains and predicts in float32: larger magnitudes become inf.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def normalize_image_shape(image_shape: Any) -> tuple[int, int, int] | None:
    """Return ``image_shape`` as ``(C, H, W)``; ``(H, W)`` means one channel.

    Raises a ``ValueError`` naming the parameter for anything else.
    """
    if image_shape is None:
        return None
    try:
        shape = tuple(int(s) for s in image_shape)
    except TypeError:
        shape = ()
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1 or any(
        int(s) != s for s in image_shape
    ):
        raise ValueError(
            f"image_shape={image_shape!r} is not valid; pass (H, W) or (C, H, W) "
            "with positive integers, or None to infer it from 3-D/4-D X."
        )
    return shape  # type: ignore[return-value]


def _as_numpy(X: Any) -> Any:
    """Torch tensors become NumPy arrays; everything else passes through."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return X
    if isinstance(X, torch.Tensor):
        return X.detach().cpu().numpy()
    return X


def validate_input(
    estimator: BaseEstimator,
    X: Any,
    *,
    reset: bool,
    image_shape: Any = None,
    min_samples: int = 1,
) -> np.ndarray:
    """Validate ``X`` and return float32 ``(n, *input_shape_)``.

    With ``reset=True`` (in ``fit``) this records ``n_features_in_`` (the
    flattened size, also for images) and ``input_shape_``: ``(n_features,)``
    for vectors, ``(C, H, W)`` for images. With ``reset=False`` ``X`` must
    match: images of the fitted shape or their flattened form.
    """
    X = _as_numpy(X)
    ndim = getattr(X, "ndim", None)
    is_sparse = hasattr(X, "toarray") or hasattr(X, "tocsr")
    if ndim is None and not is_sparse:
        X = np.asarray(X)
        ndim = X.ndim
    if not is_sparse and ndim is not None and ndim > 4:
        raise ValueError(
            f"X has {ndim} dimensions (shape {tuple(X.shape)}); "
            f"{type(estimator).__name__} takes 2-D vectors (n_samples, n_features), "
            "3-D grey images (n_samples, H, W) or 4-D images (n_samples, C, H, W). "
            "Merge the extra axes into the channels or the samples, e.g. "
            "X.reshape(n_samples, C, H, W)."
        )
    image_in: tuple[int, ...] | None = None
    if not is_sparse and ndim in (3, 4):
        image_in = tuple(X.shape[1:]) if ndim == 4 else (1, *X.shape[1:])
        X2d = np.reshape(X, (X.shape[0], -1)) if X.shape[0] else X
    else:
        X2d = X
    if image_in is not None and X.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of "
            f"{max(min_samples, 1)} is required by {type(estimator).__name__}."
        )

    if reset:
        shape = _input_shape_for_fit(image_in, image_shape, X2d)
        X2d = validate_data(
            estimator, X2d, reset=True, dtype=[np.float32, np.float64],
            ensure_min_samples=min_samples,
        )
        estimator.input_shape_ = shape
    else:
        fitted = estimator.input_shape_
        if image_in is not None and image_in != tuple(fitted):
            raise ValueError(
                f"X has images of shape {tuple(X.shape[1:])}, "
                f"but {type(estimator).__name__} was fitted on input of shape "
                f"{tuple(fitted)}; pass images of the fitted shape or their "
                f"flattened form with {int(np.prod(fitted))} features."
            )
        X2d = validate_data(
            estimator, X2d, reset=False, dtype=[np.float32, np.float64]
        )
    _check_float32_range(X2d)
    X2d = np.asarray(X2d, dtype=np.float32)
    if not X2d.flags.writeable:  # a read-only memmap or DataFrame buffer: torch wants writable memory
        X2d = X2d.copy()
    return X2d.reshape((X2d.shape[0], *estimator.input_shape_))


def _check_float32_range(X: np.ndarray) -> None:
    """Refuse finite values that become inf in float32 (they would give garbage silently)."""
    if X.dtype == np.float32 or X.size == 0:
        return
    largest = float(np.max(np.abs(X)))
    if largest > _FLOAT32_MAX:
        raise ValueError(
            f"X holds values up to {largest:.3g} in magnitude, beyond the float32 range "
            f"(+-{_FLOAT32_MAX:.3g}) in which the networks compute; they would become "
            "inf. Rescale X first, e.g. with sklearn.preprocessing.StandardScaler or "
            "by dividing by a constant."
        )


def _input_shape_for_fit(
    image_in: tuple[int, ...] | None, image_shape: Any, X2d: Any
) -> tuple[int, ...]:
    requested = normalize_image_shape(image_shape)
    if image_in is not None:
        if requested is not None and requested != image_in:
            raise ValueError(
                f"image_shape={image_shape!r} does not match the shape of the "
                f"images in X, {image_in}; set image_shape=None to infer it."
            )
        return image_in
    n_features = X2d.shape[1] if getattr(X2d, "ndim", 0) == 2 else None
    if requested is None:
        return (n_features,) if n_features is not None else (0,)
    if n_features is not None and int(np.prod(requested)) != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {int(np.prod(requested))} values "
            f"but X has {n_features} features per sample; pass the shape of "
            "the flattened images or image_shape=None for plain vectors."
        )
    return requested


def encode_class_labels(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    hint: str = "",
    multilabel: bool = False,
) -> np.ndarray:
    """Set ``estimator.classes_`` and return ``y`` as int64 codes (at least 2 classes).

    ``y``: 1-D class labels of any hashable type, NumPy or torch. ``hint`` is
    appended to the single-class error (e.g. how to fit without labels).
    ``multilabel=True`` says that the estimator also takes a 0/1 indicator
    matrix (handled by the caller), so a 2-D ``y`` that is not one gets an
    error saying so.
    """
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    if hasattr(y, "toarray"):
        raise TypeError("A sparse y is not supported; pass a 1-D array of class labels.")
    y = _as_numpy(y)
    _check_1d_target(estimator, y, multilabel)
    y = column_or_1d(y, warn=True)
    check_consistent_length(X, y)
    check_classification_targets(y)
    encoder = LabelEncoder().fit(y)
    estimator.classes_ = encoder.classes_
    if len(estimator.classes_) < 2:
        raise ValueError(
            f"y has a single class ({estimator.classes_[0]!r}); "
            f"{type(estimator).__name__} needs at least 2 classes.{hint}"
        )
    return encoder.transform(y).astype(np.int64)


def _check_1d_target(estimator: BaseEstimator, y: Any, multilabel: bool) -> None:
    """A clear error for a 2-D ``y`` with several columns (one column is accepted)."""
    shape = np.asarray(y).shape
    if len(shape) <= 1 or (len(shape) == 2 and shape[1] == 1):
        return
    name = type(estimator).__name__
    if multilabel and len(shape) == 2:
        values = np.unique(np.asarray(y))
        bad = [v for v in values.tolist() if v not in (0, 1)][:3]
        raise ValueError(
            f"y has shape {shape}: {name} reads a 2-D y as a multi-label 0/1 indicator "
            f"matrix (one column per label), but this y also holds {bad}. Pass 0/1 "
            "indicators (e.g. sklearn.preprocessing.MultiLabelBinarizer on the label "
            "sets), or 1-D class labels of shape (n_samples,)."
        )
    raise ValueError(
        f"y has shape {shape}; {name} takes 1-D class labels of shape (n_samples,). "
        "Multi-output and multi-label targets are not supported here; pass one label "
        "per sample (e.g. y[:, 0], or np.ravel(y) for a single column)."
    )


def check_input_features(estimator: BaseEstimator, input_features: Any) -> None:
    """Validate the ``input_features`` of ``get_feature_names_out`` against the fit.

    ``None`` is always accepted. Otherwise ``input_features`` must name the
    ``n_features_in_`` input columns, and match ``feature_names_in_`` when
    the estimator was fitted on a DataFrame. Raises a ``ValueError`` naming
    the parameter and what was expected.
    """
    if input_features is None:
        return
    names = np.asarray(input_features, dtype=object)
    if names.ndim != 1:
        raise ValueError(
            f"input_features must be a 1-D list of names; got shape {names.shape}."
        )
    fitted_names = getattr(estimator, "feature_names_in_", None)
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is not None and len(names) != n_features:
        raise ValueError(
            f"input_features has {len(names)} names but {type(estimator).__name__} was "
            f"fitted on {n_features} features (flattened pixels for images); pass "
            f"{n_features} names or input_features=None."
        )
    if fitted_names is not None and not np.array_equal(fitted_names, names):
        raise ValueError(
            "input_features does not match feature_names_in_, the column names seen "
            "in fit; pass input_features=None or the same names."
        )
