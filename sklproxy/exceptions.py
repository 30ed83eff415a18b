"""Exceptions raised by sklproxy estimators (beside scikit-learn's own, e.g. ``NotFittedError``)."""

from __future__ import annotations

__all__ = ["DivergenceError", "NonFiniteLossError"]


class DivergenceError(FloatingPointError):
    """Training diverged: the loss rose far above its start, or weights went non-finite.

    The estimator is left unfitted; the message names the likely cause and the fix
    (usually a lower ``lr``).
    """


class NonFiniteLossError(DivergenceError):
    """A training loss became NaN or infinite."""
