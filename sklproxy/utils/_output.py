"""Output contract of transformers whose output has the shape of their input (images in, images out)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted

from ._validation import check_input_features

__all__ = ["ImageTransformerMixin"]


class ImageTransformerMixin:
    """Output contract of a transformer whose output has the shape of its input (images in, images out).

    Place it before ``TransformerMixin``. It gives:

    * ``get_feature_names_out``: one name per input feature, i.e. per
      flattened pixel in ``(C, H, W)`` order: ``feature_names_in_`` when
      fitted on a DataFrame, else ``x0 .. x{n_features_in_ - 1}``. Wrong
      ``input_features`` raise a ``ValueError``.
    * ``set_output``: with ``set_output(transform="default")`` (the
      default) ``transform`` returns arrays of the input's layout (3-D or
      4-D images stay images). A DataFrame cannot hold images, so with
      ``transform="pandas"`` or ``"polars"`` image outputs are flattened to
      ``(n_samples, n_features_in_)`` with the names above as columns; a
      following estimator reads them as vectors unless it is told the
      image shape (``image_shape=(C, H, W)`` for sklproxy estimators).
    * the ``three_d_array`` input tag.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Runs before scikit-learn's set_output wrapping (next in the MRO), so
        # that wrapping sees 2-D output whenever a container is configured.
        for name in ("transform", "fit_transform"):
            if name in cls.__dict__:
                setattr(cls, name, _flatten_for_containers(cls.__dict__[name]))
        super().__init_subclass__(**kwargs)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """One output name per input feature (flattened pixel), as in the fit.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            None: ``feature_names_in_`` when fitted on a DataFrame, else
            ``x0 .. x{n_features_in_ - 1}``. Otherwise the input names, which
            must match the fit (their number, and ``feature_names_in_``).

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "n_features_in_")
        check_input_features(self, input_features)
        if input_features is not None:
            return np.asarray(input_features, dtype=object)
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return np.asarray(names, dtype=object)
        return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


def _flatten_for_containers(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapped(self, X, *args, **kwargs):
        out = method(self, X, *args, **kwargs)
        if (isinstance(out, np.ndarray) and out.ndim > 2
                and _get_output_config("transform", self)["dense"] != "default"):
            out = out.reshape(len(out), -1)
        return out

    return wrapped
