"""The callbacks every sklproxy net trains with.

* :class:`DivergenceGuard` turns a NaN/inf loss, non-finite weights or a
  loss that rose far above its start into a clear error instead of a
  silently broken model.
* :class:`StagePrintLog`: skorch's per-epoch table, headed by the name of
  the training stage, with ANSI colours only when stdout is a terminal.
* :class:`StageProgressBar`: skorch's per-epoch progress bar, shown with
  ``verbose=1`` when stderr is a terminal and always with ``verbose >= 2``.
* :class:`FitTimeEstimate`: with ``verbose >= 1``, one line estimating the
  stage's fit time from its first steps.
* :func:`lr_schedule`: the cosine learning-rate schedule, per epoch or per step.
"""

from __future__ import annotations

import math
import re
import sys
import time
from typing import Any

import torch
import tqdm
from skorch import NeuralNet
from skorch.callbacks import Callback, LRScheduler, PrintLog, ProgressBar
from skorch.dataset import get_len

from ..exceptions import DivergenceError, NonFiniteLossError
from ._progress import progress_active, stage_name, use_colour

__all__ = [
    "DEFAULT_MAX_LOSS_RISE",
    "DivergenceGuard",
    "FitTimeEstimate",
    "StagePrintLog",
    "StageProgressBar",
    "lr_schedule",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Default of ``DeviceNet(max_loss_rise=)``: see :class:`DivergenceGuard`.
DEFAULT_MAX_LOSS_RISE = 2.0


def lr_schedule(total: int, per_step: bool = False) -> tuple[str, LRScheduler]:
    """A cosine annealing of the learning rate to 0 over ``total`` epochs (or steps)."""
    return ("lr_schedule", LRScheduler("CosineAnnealingLR", T_max=max(1, int(total)),
                                       step_every="batch" if per_step else "epoch"))


class DivergenceGuard(Callback):
    """Stop fitting with a clear error when training went wrong, after each epoch.

    Three checks, none of which adds a device synchronisation per step:

    * a batch loss of the epoch was NaN/inf (:class:`~sklproxy.exceptions.NonFiniteLossError`);
    * a weight of the module is NaN/inf (:class:`~sklproxy.exceptions.DivergenceError`);
    * the epoch's mean training loss rose far above the loss at the start of
      training (the first batch): ``mean - start > max_rise * max(|start|,
      1)``, i.e. above 3x the start for a loss that starts at 1 or more
      (:class:`~sklproxy.exceptions.DivergenceError`). Such a loss, typically
      from a learning rate that is far too high, stays finite and would
      otherwise give a useless model silently.

    Parameters
    ----------
    max_rise : float or None, default=None
        How far above its start the epoch loss may rise, in units of
        ``max(|start|, 1)``. None takes the net's ``max_loss_rise``
        (2.0 by default), and a net whose ``max_loss_rise`` is None skips
        this check. Nets whose loss rises for a while by design (a VQ-VAE
        whose dead codes are restarted) set it higher.
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


class FitTimeEstimate(Callback):
    """With ``verbose >= 1``, one line with the stage's estimated fit time, early in training.

    The time per step is measured over training steps ``2 .. 1 + n_steps``
    (the first step warms up), then multiplied by the stage's steps
    (``max_epochs`` times the batches of an epoch). Printed once per fit,
    e.g. ``[DHOGClusterer] estimated fit time: about 4.2 min (2000 steps at
    0.13 s)``.

    Parameters
    ----------
    n_steps : int, default=5
        Steps timed before the estimate (fewer when an epoch is shorter).
    """

    def __init__(self, n_steps: int = 5) -> None:
        self.n_steps = n_steps

    def on_train_begin(self, net: NeuralNet, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        self.steps_ = 0
        self.start_ = None
        self.done_ = not net.verbose or X is None
        if not self.done_:
            self.per_epoch_ = len(net.get_iterator(X, training=True))

    def on_batch_end(self, net: NeuralNet, training: bool = False, **kwargs: Any) -> None:
        if self.done_ or not training:
            return
        self.steps_ += 1
        timed = min(self.n_steps, max(1, self.per_epoch_ * net.max_epochs - 1))
        if self.steps_ == 1:
            self.start_ = time.perf_counter()
        elif self.steps_ == 1 + timed:
            seconds = (time.perf_counter() - self.start_) / timed
            total = self.per_epoch_ * net.max_epochs
            print(f"[{stage_name(net)}] estimated fit time: about {_duration(seconds * total)} "
                  f"({total} steps at {seconds:.3g} s)")
            sys.stdout.flush()
            self.done_ = True


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
