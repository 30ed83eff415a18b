"""The skorch plumbing every sklproxy net shares.

:class:`DeviceNet` is a :class:`skorch.NeuralNet` that only overrides skorch's
hooks: ``get_iterator`` (index slices of device-resident tensors instead of a
``DataLoader``), ``infer`` (bf16 autocast on CUDA), ``initialize_module``
(channels-last convolutions on CUDA, the augmentation module),
``run_single_epoch`` (batch losses read back once per epoch, not per step),
and the ``on_train_begin`` / ``on_train_end`` notifications that own the
seeded generators of one fit. :class:`~sklproxy.parallel.DataParallelMixin`
splits each step over processes inside ``sklproxy.parallel.data_parallel()``.
:class:`StopOnNonFinite` turns a NaN/inf loss into a clear error. The
method-specific nets subclass it and override ``get_loss`` and
``train_step_single``.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import get_len

from ..parallel._ddp import DataParallelMixin
from ._data import BatchIterator, TensorPairDataset
from ._device import make_generator

__all__ = ["DeviceNet", "NonFiniteLossError", "StopOnNonFinite"]


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite."""


class StopOnNonFinite(Callback):
    """Stop fitting with a clear error after an epoch in which a batch loss was NaN/inf.

    Reads the batch losses skorch already recorded, so it costs no extra
    device synchronisation (:class:`DeviceNet` records them once per epoch).
    """

    def on_epoch_end(self, net, **kwargs):
        losses = [row[key] for row in net.history[-1]["batches"]
                  for key in ("train_loss", "valid_loss") if key in row]
        loss = next((v for v in losses if not math.isfinite(v)), None)
        if loss is not None:
            epoch = len(net.history)
            raise NonFiniteLossError(
                f"The training loss became {loss} in epoch {epoch}. Likely "
                "causes: a learning rate that is too high (lower `lr`), input "
                "with extreme values (scale X, e.g. with StandardScaler), or a "
                "temperature that is too small. The model was not fitted."
            )


class DeviceNet(DataParallelMixin, NeuralNet):
    """A skorch ``NeuralNet`` that keeps data on its device and batches by slicing.

    Parameters (beyond skorch's)
    ----------------------------
    seed : int
        Seeds the generator of the shuffling (and of the augmentations of
        subclasses); drawn by the estimator from its ``random_state``.
    use_amp : bool
        bf16 autocast in the forward pass (CUDA only; ignored on CPU).
    augment : callable or None
        Zero-argument factory of the augmentation module (skorch only lets
        modules be created in ``initialize_*``); the module is registered as
        ``augment_`` and called as ``augment_(x, generator)`` on a batch.
    """

    def __init__(self, *args: Any, seed: int = 0, use_amp: bool = False,
                 augment: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seed = seed
        self.use_amp = use_amp
        self.augment = augment

    def initialize_module(self):
        super().initialize_module()
        if torch.device(self.device).type == "cuda":
            # cuDNN's fast bf16 convolutions are NHWC: convolution weights in
            # channels-last make every conv (and its activations) channels-last
            # instead of transposing around each layer. No effect on 2-D weights.
            self.module_.to(memory_format=torch.channels_last)
        if self.augment is not None:
            self.augment_ = self.augment().to(self.device)
        return self

    def augmented(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One random augmentation of batch ``x`` (``x`` itself without ``augment``).

        Draws from ``generator``, by default the fit's seeded ``generator_``.
        """
        if self.augment is None:
            return x
        if generator is None:
            generator = getattr(self, "generator_", None)
        return self.augment_(x, generator)

    # -- generators live only during fit (they may be CUDA objects) ----------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.generator_ = make_generator(self.seed, torch.device(self.device))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.generator_ = None

    # -- hooks --------------------------------------------------------------
    def get_iterator(self, dataset, training=False):
        if not isinstance(dataset, TensorPairDataset):
            return super().get_iterator(dataset, training=training)
        batch_size = self.batch_size
        generator = getattr(self, "generator_", None) if training else None
        return BatchIterator(
            dataset, batch_size, torch.device(self.device),
            shuffle=training, generator=generator,
        )

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop, with the batch losses read back once per epoch.

        skorch calls ``loss.item()`` after every batch, which makes the host
        wait for the device at each step. Here the losses stay on the device
        and are written into the history's batch rows in one transfer at the
        end of the epoch, before any ``on_epoch_end`` callback reads them.
        """
        if iterator is None:
            return
        rows, losses = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            row = self.history[-1]["batches"][-1]
            rows.append(row)
            losses.append(step["loss"].detach().float().reshape(()))
            row[prefix + "_batch_size"] = get_len(batch[0] if isinstance(batch, (tuple, list)) else batch)
            self.notify("on_batch_end", batch=batch, training=training, **step)
        for row, value in zip(rows, torch.stack(losses).tolist() if losses else []):
            row[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", len(rows))

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA when ``use_amp``, else a no-op context."""
        if self.use_amp and torch.device(self.device).type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def infer(self, x, **fit_params):
        with self.autocast():
            return super().infer(x, **fit_params)
