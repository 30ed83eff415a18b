"""The skorch plumbing every sklproxy net shares.

:class:`DeviceNet` is a :class:`skorch.NeuralNet` that only overrides skorch's
hooks: ``get_iterator`` (index slices of device-resident tensors instead of a
``DataLoader``), ``infer`` (bf16 autocast on CUDA), ``initialize_module``
(channels-last convolutions on CUDA, the augmentation module),
``run_single_epoch`` (batch losses read back once per epoch, not per step),
the ``on_train_begin`` / ``on_train_end`` notifications that own the
seeded generators of one fit, ``_default_callbacks`` (the progress output
below) and ``__getstate__`` / ``__setstate__`` (lean pickles).
:class:`~sklproxy.parallel.DataParallelMixin` splits each step over processes
inside ``sklproxy.parallel.data_parallel()``.
The method-specific nets subclass it and override ``get_loss`` and
``train_step_single``.

Callbacks:

* :class:`DivergenceGuard` (also reachable as ``StopOnNonFinite``) turns a
  NaN/inf loss, non-finite weights or a loss that rose far above its start
  into a clear error instead of a silently broken model.
* :class:`StagePrintLog`: skorch's per-epoch table, headed by the name of
  the training stage, with ANSI colours only when stdout is a terminal.
* :class:`StageProgressBar`: skorch's per-epoch progress bar, shown with
  ``verbose=1`` when stderr is a terminal and always with ``verbose >= 2``.

``verbose`` of every estimator: 0 silent; 1 one header line per training
stage and one table row per epoch (plus a progress bar in a terminal); 2 the
progress bar also when the output is not a terminal (logs, notebooks).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
from typing import Any

import torch
import tqdm
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring, PrintLog, ProgressBar
from skorch.dataset import get_len

from ..parallel._ddp import DataParallelMixin
from ._data import BatchIterator, TensorPairDataset
from ._device import make_generator

__all__ = [
    "DeviceNet",
    "DivergenceError",
    "DivergenceGuard",
    "NonFiniteLossError",
    "StagePrintLog",
    "StageProgressBar",
    "StopOnNonFinite",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Default of DeviceNet(max_loss_rise=): see DivergenceGuard.
DEFAULT_MAX_LOSS_RISE = 2.0
# In a pickle, ``module`` (the constructor argument) is written as this marker
# when it is the fitted ``module_`` itself, instead of a second copy.
_MODULE_IS_FITTED = "<same object as module_>"


class DivergenceError(FloatingPointError):
    """Raised when training diverged: the loss rose far above its start, or weights went non-finite."""


class NonFiniteLossError(DivergenceError):
    """Raised when a training loss becomes NaN or infinite."""


def use_colour(stream: Any) -> bool:
    """ANSI colours only for a terminal; ``NO_COLOR`` turns them off, ``FORCE_COLOR`` on."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def stage_name(net: Any) -> str:
    """The name a net's progress output uses: ``net.stage``, else its class name."""
    return getattr(net, "stage", None) or type(net).__name__


class DivergenceGuard(Callback):
    """Stop fitting with a clear error when training went wrong, after each epoch.

    Three checks, none of which adds a device synchronisation per step:

    * a batch loss of the epoch was NaN/inf (:class:`NonFiniteLossError`);
    * a weight of the module is NaN/inf (:class:`DivergenceError`);
    * the epoch's mean training loss rose far above the loss at the start of
      training (the first batch): ``mean - start > max_rise * max(|start|,
      1)``, i.e. above 3x the start for a loss that starts at 1 or more
      (:class:`DivergenceError`). Such a loss, typically from a learning
      rate that is far too high, stays finite and used to give garbage
      silently (DDTL on digits with ``lr=1``: epoch loss 17 from a start of
      2.7, test accuracy 0.21; ``lr=10``: 1281; ImageClassifier ``lr=1``:
      8.5 from 2.3, then chance). Over the test suite no other fit rose
      by more than 0.08 of that unit in any epoch; the LAD VQ-VAE, whose
      dead-code restarts make its loss jump (up to 4.8 units), uses 20.

    Parameters
    ----------
    max_rise : float or None, default=None
        How far above its start the epoch loss may rise, in units of
        ``max(|start|, 1)``. None takes the net's ``max_loss_rise`` (see
        :class:`DeviceNet`; 2.0 by default), and a net whose
        ``max_loss_rise`` is None skips this check.
    """

    def __init__(self, max_rise: float | None = None) -> None:
        self.max_rise = max_rise

    def on_epoch_end(self, net: NeuralNet, **kwargs: Any) -> None:
        rows = net.history[-1]["batches"]
        losses = [row[key] for row in rows
                  for key in ("train_loss", "valid_loss") if key in row]
        epoch = len(net.history)
        loss = next((v for v in losses if not math.isfinite(v)), None)
        if loss is not None:
            raise NonFiniteLossError(
                f"The training loss became {loss} in epoch {epoch} of {stage_name(net)}. "
                "Likely causes: a learning rate that is too high (lower `lr`), input "
                "with extreme values (scale X, e.g. with StandardScaler), or a "
                "temperature that is too small. The model was not fitted."
            )
        if not _weights_finite(net):
            raise DivergenceError(
                f"Weights of {stage_name(net)} became NaN or infinite in epoch {epoch}. "
                "Lower the learning rate `lr` (or scale X, e.g. with StandardScaler). "
                "The model was not fitted."
            )
        self._check_rise(net, epoch)

    def _check_rise(self, net: NeuralNet, epoch: int) -> None:
        max_rise = self.max_rise if self.max_rise is not None else getattr(
            net, "max_loss_rise", DEFAULT_MAX_LOSS_RISE)
        if max_rise is None:
            return
        train = [row["train_loss"] for row in net.history[-1]["batches"] if "train_loss" in row]
        first = net.history[0]["batches"]
        if not train or not first or "train_loss" not in first[0]:
            return
        start = first[0]["train_loss"]
        mean = sum(train) / len(train)
        if mean - start > max_rise * max(abs(start), 1.0):
            raise DivergenceError(
                f"Training of {stage_name(net)} diverged: the mean loss of epoch {epoch} "
                f"is {mean:.4g}, far above its start ({start:.4g}). The learning rate "
                f"(lr={net.lr}) is most likely too high; lower it (e.g. by 10x). "
                "The model was not fitted."
            )


def _weights_finite(net: NeuralNet) -> bool:
    params = [p.detach() for p in net.module_.parameters()]
    if not params:
        return True
    return bool(torch.stack([torch.isfinite(p).all() for p in params]).all())


class StopOnNonFinite(DivergenceGuard):
    """The former name of :class:`DivergenceGuard` (same checks)."""


class StagePrintLog(PrintLog):
    """skorch's per-epoch table, headed by the training stage, coloured only on a terminal.

    With ``verbose >= 1`` it prints, before the first epoch, one line naming
    the stage (``net.stage``, e.g. ``"LADDebiaser, stage 1/2: VQ-VAE"``),
    the number of epochs and samples and the device, then skorch's table.
    ANSI colour codes (skorch marks the best loss in colour) are written
    only when ``sys.stdout`` is a terminal (``NO_COLOR`` / ``FORCE_COLOR``
    override), so piped output and log files stay plain text.
    """

    def on_train_begin(self, net: NeuralNet, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        if net.verbose:
            n = "" if X is None else f" on {get_len(X)} samples"
            print(f"[{stage_name(net)}] {net.max_epochs} epochs{n}, device {net.device}")
            sys.stdout.flush()

    def format_row(self, row: dict, key: str, color: str) -> Any:
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not use_colour(sys.stdout):
            text = _ANSI.sub("", text)
        return text


def progress_active(verbose: int) -> bool:
    """Whether to draw a progress bar: ``verbose >= 2``, or ``verbose >= 1`` on a terminal."""
    return verbose >= 2 or (verbose >= 1 and use_colour(sys.stderr))


class StageProgressBar(ProgressBar):
    """skorch's progress bar over the batches of each epoch, labelled with the stage.

    Shown with ``verbose=1`` when ``sys.stderr`` is a terminal, and with
    ``verbose >= 2`` always; silent otherwise. The bar of an epoch is
    erased when the epoch ends (the table row of :class:`StagePrintLog`
    stays).
    """

    def _active(self, net: NeuralNet) -> bool:
        return progress_active(net.verbose)

    def _get_batch_size(self, net: NeuralNet, training: bool) -> int:
        return net.batch_size

    def on_epoch_begin(self, net: NeuralNet, dataset_train: Any = None, dataset_valid: Any = None,
                       **kwargs: Any) -> None:
        self.pbar_ = None
        if not self._active(net):
            return
        total = self.batches_per_epoch
        if total == "auto":
            total = self._get_batches_per_epoch(net, dataset_train, dataset_valid)
        elif total == "count":
            total = len(net.history[-2, "batches"]) if len(net.history) > 1 else None
        bar = tqdm.tqdm_notebook if self._use_notebook() else tqdm.tqdm
        self.pbar_ = bar(total=total, leave=False, desc=f"{stage_name(net)} epoch {len(net.history)}")

    def on_batch_end(self, net: NeuralNet, **kwargs: Any) -> None:
        if self.pbar_ is not None:
            super().on_batch_end(net, **kwargs)

    def on_epoch_end(self, net: NeuralNet, **kwargs: Any) -> None:
        if self.pbar_ is not None:
            super().on_epoch_end(net, **kwargs)
            self.pbar_ = None


class DeviceNet(DataParallelMixin, NeuralNet):
    """A skorch ``NeuralNet`` that keeps data on its device and batches by slicing.

    Takes every parameter of :class:`skorch.NeuralNet`, and these.

    Parameters
    ----------
    seed : int
        Seeds the generator of the shuffling (and of the augmentations of
        subclasses); drawn by the estimator from its ``random_state``.
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
        :class:`DivergenceGuard` stops training when an epoch's mean loss
        exceeds its start by more than ``max_loss_rise * max(|start|, 1)``
        (default 2.0; None switches that check off). Nets whose loss may
        rise for a while by design (a VQ-VAE whose dead codes are restarted)
        set it higher.
    pickle_optimizer : bool
        Whether a pickle keeps the optimizer's state (Adam's moments: twice
        the size of the weights). By default it is left out, and so is the
        second copy of the module that skorch would write; an unpickled net
        gets a fresh optimizer, so ``partial_fit`` still works (Adam's moments
        restart from zero, the learning rate from ``lr``). Set ``est.net_.pickle_optimizer = True`` before
        pickling to keep it, or save it with skorch's
        ``est.net_.save_params(f_optimizer=...)``.

    Notes
    -----
    The default callbacks are skorch's, with :class:`StagePrintLog` instead
    of ``PrintLog`` and a :class:`StageProgressBar`.
    """

    def __init__(self, *args: Any, seed: int = 0, use_amp: bool = False,
                 augment: Any = None, stage: str | None = None,
                 max_loss_rise: float | None = DEFAULT_MAX_LOSS_RISE,
                 pickle_optimizer: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seed = seed
        self.use_amp = use_amp
        self.augment = augment
        self.stage = stage
        self.max_loss_rise = max_loss_rise
        self.pickle_optimizer = pickle_optimizer

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("progress_bar", StageProgressBar()),
            ("print_log", StagePrintLog()),
        ]

    # -- lean pickles: no optimizer state, no second copy of the module ------
    def __getstate__(self) -> dict:
        hidden = {}
        if not self.pickle_optimizer:
            hidden = {key: value for key, value in vars(self).items()
                      if key.startswith("optimizer_")}
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
