"""What every estimator that owns a skorch net (``net_``) shares: its parameters' constraints,
how it builds the net of a training stage, its views and its fitted-input checks."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..nn.augment import default_augment
from ..nn.backbones import BACKBONES
from ..utils import validate_input
from ._callbacks import DivergenceGuard, lr_schedule
from ._net import DeviceNet

__all__ = [
    "BACKBONE_CONSTRAINTS",
    "NetEstimatorMixin",
    "TRAINING_CONSTRAINTS",
]

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

    Expects the parameters ``batch_size``, ``lr``, ``verbose`` (and
    ``augment``, ``use_amp`` where used) and, once fitted, ``net_``,
    ``device_`` and ``input_shape_``. Declares that 3-D input (grey images)
    is accepted (the ``three_d_array`` input tag).
    """

    #: ``augment="auto"`` resolves to ``_default_augment(X)``.
    _default_augment: Callable[[torch.Tensor], nn.Module] = staticmethod(default_augment)

    def _build_net(self, net_cls: type[DeviceNet], module: nn.Module, *, stage: str, seed: int,
                   max_epochs: int, schedule: str | None = "epoch", steps_per_epoch: int = 1,
                   criterion: Any = nn.Identity, optimizer: Any = torch.optim.Adam,
                   use_amp: bool | None = None, lr: float | None = None,
                   **kwargs: Any) -> DeviceNet:
        """The skorch net of one training stage, with what every stage shares.

        Data on ``device_`` in batches of ``batch_size``, no validation split,
        ``lr`` (cosine-annealed to 0 per epoch, ``schedule="epoch"``, or per
        step over ``max_epochs * steps_per_epoch`` steps, ``"step"``; None: a
        constant rate), the :class:`DivergenceGuard`, the estimator's
        ``verbose`` and ``use_amp``. ``criterion`` is ``nn.Identity`` for nets
        whose ``get_loss`` computes the loss itself. Other keyword arguments
        go to ``net_cls`` (skorch's ``criterion__*`` / ``optimizer__*`` too).
        """
        callbacks = [("nonfinite", DivergenceGuard())]
        if schedule is not None:
            callbacks.insert(0, lr_schedule(max_epochs * (steps_per_epoch if schedule == "step" else 1),
                                            per_step=schedule == "step"))
        return net_cls(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=self.lr if lr is None else lr,
            max_epochs=max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            device=self.device_,
            callbacks=callbacks,
            stage=stage,
            seed=seed,
            use_amp=self.use_amp if use_amp is None else use_amp,
            verbose=self.verbose,
            **kwargs,
        )

    def _augment_factory(self, X: torch.Tensor) -> Callable[[], nn.Module] | None:
        """The ``augment`` parameter as a zero-argument factory for the net.

        ``"auto"`` -> ``_default_augment(X)``; a module is deep-copied at net
        initialisation, so the parameter stays untouched.
        """
        augment = self._default_augment(X) if isinstance(self.augment, str) else self.augment
        return None if augment is None else functools.partial(copy.deepcopy, augment)

    def _validate_fitted_input(self, X: Any) -> np.ndarray:
        """``check_is_fitted`` then the fitted-shape checks of ``validate_input``."""
        check_is_fitted(self)
        return validate_input(self, X, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # (n, H, W) grey images
        return tags

    def __setstate__(self, state):
        # skorch maps a CUDA-fitted net to the CPU when CUDA is unavailable;
        # keep ``device_`` truthful so inference runs where the weights are.
        super().__setstate__(state)
        if "net_" in self.__dict__:
            self.device_ = torch.device(self.net_.device)
