"""Groups of related parameters, tunable through scikit-learn's nested ``a__b`` names."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

__all__ = ["Options", "resolve_options"]


class Options(BaseEstimator):
    """A group of related parameters of an estimator (a strategy, a sub-model's settings).

    An estimator takes it as one parameter, e.g. ``LADDebiaser(vqvae=VQVAEOptions(n_codes=32))``;
    ``get_params(deep=True)`` then lists its fields as ``vqvae__n_codes``, so
    ``set_params`` and ``GridSearchCV`` reach them, and ``clone`` copies it.
    Subclasses declare their fields as keyword arguments of ``__init__`` and
    their ``_parameter_constraints``; the estimator validates them in ``fit``
    (:func:`resolve_options`) and never modifies them.
    """

    _parameter_constraints: dict = {}


def resolve_options(value: Any, kind: type[Options] | tuple[type[Options], ...],
                    names: dict[str, type[Options]] | None = None,
                    param: str = "options") -> Options:
    """The validated ``Options`` a parameter stands for.

    ``None`` gives ``kind()`` (the defaults; ``kind`` a single class), a
    string the class ``names[value]`` with its defaults, an instance of
    ``kind`` itself. The object given is validated, not copied: it is only
    read.
    """
    if value is None and isinstance(kind, type):
        value = kind()
    elif isinstance(value, str):
        if not names or value not in names:
            raise ValueError(f"{param}={value!r} is not one of {sorted(names or {})}.")
        value = names[value]()
    if not isinstance(value, kind):
        kinds = [k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,))]
        raise TypeError(f"{param} must be one of {kinds} or a name; got {type(value).__name__}.")
    value._validate_params()
    return value
