"""What every estimator that owns a skorch net (``net_``) shares."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import LRScheduler
from torch import nn

from ..nn.augment import default_augment
from ..nn.backbones import BACKBONES
from ._skorch import StopOnNonFinite
from ._validation import validate_input

__all__ = ["BACKBONE_CONSTRAINTS", "NetEstimatorMixin", "TRAINING_CONSTRAINTS"]

#: ``_parameter_constraints`` of the training parameters every estimator shares.
TRAINING_CONSTRAINTS: dict = {
    "image_shape": ["array-like", None],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "use_amp": ["boolean"],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

#: ... and of the swappable parts: backbone by name or module, its width, augmentation.
BACKBONE_CONSTRAINTS: dict = {
    "backbone": [StrOptions({"auto", *BACKBONES}), nn.Module],
    "width": [Interval(Integral, 1, None, closed="left"), None],
    "augment": [StrOptions({"auto"}), nn.Module, None],
}


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
