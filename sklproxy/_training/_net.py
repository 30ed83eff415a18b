"""The skorch net every sklproxy estimator trains with.

:class:`DeviceNet` is a :class:`skorch.NeuralNet` that only overrides skorch's
hooks:

* ``train_step_single``: one step for every method. ``make_views`` (the hook
  a method overrides) turns the batch into the inputs of the step (one or
  several augmented views, a crop, cached features); ``after_backward`` runs
  once the gradients exist (a VQ-VAE restarts dead codes there).
* ``get_iterator``: index slices of device-resident tensors instead of a
  ``DataLoader`` (optionally without the last, short batch).
* ``infer``: bf16 autocast on CUDA; ``get_loss``: float32 logits.
* ``initialize_module``: channels-last convolutions on CUDA, the augmentation module.
* ``run_single_epoch``: batch losses read back once per epoch, not per step.
* ``on_train_begin`` / ``on_train_end``: the seeded generators of one fit.
* ``_default_callbacks``: the stage-labelled progress output.
* ``__getstate__`` / ``__setstate__``: lean pickles.

:class:`~sklproxy._training._ddp.DataParallelMixin` splits each step over
processes inside :func:`sklproxy.parallel.data_parallel`.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring
from skorch.dataset import get_len

from ..utils import make_generator
from ._callbacks import DEFAULT_MAX_LOSS_RISE, FitTimeEstimate, StagePrintLog, StageProgressBar
from ._data import BatchIterator, TensorPairDataset
from ._ddp import DataParallelMixin

__all__ = ["DeviceNet"]

# In a pickle, ``module`` (the constructor argument) is written as this marker
# when it is the fitted ``module_`` itself, instead of a second copy.
_MODULE_IS_FITTED = "<same object as module_>"


class DeviceNet(DataParallelMixin, NeuralNet):
    """A skorch ``NeuralNet`` that keeps data on its device and batches by slicing.

    Takes every parameter of :class:`skorch.NeuralNet`, and these.

    Parameters
    ----------
    seed : int
        Seeds the generator of the shuffling and of the views; drawn by the
        estimator from its ``random_state``.
    use_amp : bool
        bf16 autocast in the forward pass (CUDA only; ignored on CPU).
    augment : callable or None
        Zero-argument factory of the augmentation module (skorch only lets
        modules be created in ``initialize_*``); the module is registered as
        ``augment_`` and called as ``augment_(x, generator)`` on a batch.
    stage : str or None
        Name of the training stage in the progress output (e.g.
        ``"LADDebiaser, stage 1/2: VQ-VAE"``); None uses the class name.
    max_loss_rise : float or None
        :class:`~sklproxy._training.DivergenceGuard` stops training when an
        epoch's mean loss exceeds its start by more than ``max_loss_rise *
        max(|start|, 1)`` (default 2.0; None switches that check off).
    drop_last : bool
        Training skips the last batch of an epoch when it is smaller than
        ``batch_size`` (and the data hold more than one batch). The order
        changes every epoch, so every item is still seen.
    pickle_optimizer : bool
        Whether a pickle keeps the optimizer's state (Adam's moments: twice
        the size of the weights). By default it is left out, and so are the
        second copy of the module that skorch would write and the copy of
        the augmentation module (rebuilt from ``augment`` when loaded); an unpickled net
        gets a fresh optimizer, so ``partial_fit`` still works (Adam's moments
        restart from zero, the learning rate from ``lr``). Set
        ``est.net_.pickle_optimizer = True`` before pickling to keep it, or
        save it with skorch's ``est.net_.save_params(f_optimizer=...)``.

    Notes
    -----
    A method customises training through :meth:`make_views` (and, rarely,
    :meth:`after_backward`) and ``get_loss``; ``train_step_single`` is shared.
    The default callbacks are skorch's, with :class:`StagePrintLog` instead
    of ``PrintLog``, a :class:`StageProgressBar` and a :class:`FitTimeEstimate`.
    """

    def __init__(self, *args: Any, seed: int = 0, use_amp: bool = False,
                 augment: Any = None, stage: str | None = None,
                 max_loss_rise: float | None = DEFAULT_MAX_LOSS_RISE,
                 drop_last: bool = False, pickle_optimizer: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seed = seed
        self.use_amp = use_amp
        self.augment = augment
        self.stage = stage
        self.max_loss_rise = max_loss_rise
        self.drop_last = drop_last
        self.pickle_optimizer = pickle_optimizer

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("progress_bar", StageProgressBar()),
            ("print_log", StagePrintLog()),
            ("fit_time", FitTimeEstimate()),
        ]

    # -- lean pickles: no optimizer state, no second copy of the module or ---
    # -- of the augmentation (rebuilt from its factory when loaded) ----------
    def __getstate__(self) -> dict:
        hidden = {key: value for key, value in vars(self).items()
                  if key == "augment_" or (not self.pickle_optimizer
                                           and key.startswith("optimizer_"))}
        for key in hidden:
            del self.__dict__[key]
        try:
            state = super().__getstate__()
        finally:
            self.__dict__.update(hidden)
        if not self.pickle_optimizer:
            _drop_optimizer_references(state)
        if state.get("module") is getattr(self, "module_", None):
            state["module"] = _MODULE_IS_FITTED
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if isinstance(self.module, str) and self.module == _MODULE_IS_FITTED:
            self.module = self.module_
        if getattr(self, "initialized_", False) and self.augment is not None:
            # registered with skorch at initialisation: set it back directly
            self.__dict__["augment_"] = self.augment().to(self.device)
        if getattr(self, "initialized_", False) and "optimizer_" not in vars(self):
            self.initialize_optimizer()
            for group in self.optimizer_.param_groups:
                # what an LR scheduler resuming at the next partial_fit expects
                group.setdefault("initial_lr", group["lr"])

    def initialize_module(self) -> DeviceNet:
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

    # -- one training step, for every method --------------------------------
    def make_views(self, X: torch.Tensor) -> Any:
        """The inputs of one training step made from batch ``X``: one augmented view.

        Methods override this (two views stacked, ``R`` views, a crop, two
        of several cached views); draws come from the fit's ``generator_``.
        """
        return self.augmented(X)

    def after_backward(self, X: torch.Tensor, inputs: Any, y_pred: Any) -> None:
        """Called once the step's gradients exist, before the optimizer step (default: nothing)."""

    def train_step_single(self, batch: Any, **fit_params: Any) -> dict:
        self._set_training(True)
        Xi, yi = batch
        inputs = self.make_views(Xi)
        y_pred = self.infer(inputs, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        self.after_backward(Xi, inputs, y_pred)
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred: Any, y_true: Any, X: Any = None, training: bool = False) -> Any:
        """The criterion on float32 predictions (bf16 logits under autocast are upcast)."""
        if isinstance(y_pred, torch.Tensor):
            y_pred = y_pred.float()
        return super().get_loss(y_pred, y_true, X=X, training=training)

    # -- generators live only during fit (they may be CUDA objects) ----------
    def on_train_begin(self, net: NeuralNet, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.generator_ = make_generator(self.seed, torch.device(self.device))

    def on_train_end(self, net: NeuralNet, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.generator_ = None

    # -- hooks --------------------------------------------------------------
    def get_iterator(self, dataset: Any, training: bool = False) -> Any:
        if not isinstance(dataset, TensorPairDataset):
            return super().get_iterator(dataset, training=training)
        batch_size = self.batch_size
        generator = getattr(self, "generator_", None) if training else None
        return BatchIterator(
            dataset, batch_size, torch.device(self.device),
            shuffle=training, generator=generator,
            drop_last=training and self.drop_last and len(dataset) > batch_size,
        )

    def run_single_epoch(self, iterator: Any, training: bool, prefix: str, step_fn: Any,
                         **fit_params: Any) -> None:
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

    def infer(self, x: Any, **fit_params: Any) -> Any:
        with self.autocast():
            return super().infer(x, **fit_params)


def _drop_optimizer_references(state: dict) -> None:
    """Callbacks in ``state`` that hold the optimizer (LR schedulers) become copies without it.

    ``callbacks`` and ``callbacks_`` share callback objects; each is copied
    once so the pickle still shares them. The dropped attributes (e.g. the
    ``lr_scheduler_`` of skorch's ``LRScheduler``) are rebuilt at the start
    of the next training.
    """
    copies: dict[int, Any] = {}

    def lean(cb):
        if id(cb) in copies:
            return copies[id(cb)]
        holds = [key for key, value in vars(cb).items()
                 if isinstance(value, (torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler))]
        if holds:
            new = type(cb).__new__(type(cb))
            new.__dict__.update({k: v for k, v in vars(cb).items() if k not in holds})
            for key in holds:
                setattr(new, key, None)
            copies[id(cb)] = new
            return new
        return cb

    for key in ("callbacks", "callbacks_"):
        value = state.get(key)
        if isinstance(value, list):
            state[key] = [
                (item[0], lean(item[1])) if isinstance(item, tuple) and len(item) == 2
                and isinstance(item[1], Callback)
                else (lean(item) if isinstance(item, Callback) else item)
                for item in value
            ]
