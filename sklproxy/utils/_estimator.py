"""What every estimator that owns a skorch net (``net_``) shares."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import torch
from skorch.callbacks import LRScheduler
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..nn.augment import default_augment
from ._skorch import StopOnNonFinite
from ._validation import validate_input

__all__ = ["NetEstimatorMixin"]


class NetEstimatorMixin:
    """Shared pieces of the sklproxy estimators; place it before ``BaseEstimator``.

    Expects the parameters ``augment`` and ``max_epochs`` and, once fitted,
    ``net_``, ``device_`` and ``input_shape_``.
    """

    def _training_callbacks(self) -> list:
        """Cosine-annealed learning rate and the NaN/inf stop."""
        return [
            ("lr_schedule", LRScheduler("CosineAnnealingLR", T_max=self.max_epochs)),
            ("nonfinite", StopOnNonFinite()),
        ]

    def _augment_factory(self, X: torch.Tensor) -> Callable[[], nn.Module] | None:
        """The ``augment`` parameter as a zero-argument factory for the net.

        ``"auto"`` -> :func:`sklproxy.nn.default_augment` for ``X``; a module
        is deep-copied at net initialisation, so the parameter stays untouched.
        """
        augment = default_augment(X) if isinstance(self.augment, str) else self.augment
        return None if augment is None else functools.partial(copy.deepcopy, augment)

    def _validate_fitted_input(self, X):
        """``check_is_fitted`` then the fitted-shape checks of ``validate_input``."""
        check_is_fitted(self)
        return validate_input(self, X, reset=False)

    def __setstate__(self, state):
        # skorch maps a CUDA-fitted net to the CPU when CUDA is unavailable;
        # keep ``device_`` truthful so inference runs where the weights are.
        super().__setstate__(state)
        if "net_" in self.__dict__:
            self.device_ = torch.device(self.net_.device)
