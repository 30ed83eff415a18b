"""The torch modules and skorch nets behind :mod:`sklproxy.debias`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils import DeviceNet

__all__ = ["ClassifierModule", "ClassifierNet", "LatentMLP", "VQVAENet"]


class LatentMLP(nn.Module):
    """The deliberately simple latent classifier ``f``: one hidden ReLU layer.

    Maps latents ``(B, D, *S)`` (flattened) to logits ``(B, K)``.
    """

    def __init__(self, in_features: int, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_classes))

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h.float())


class VQVAENet(DeviceNet):
    """skorch net for the VQ-VAE: ``MSE(recon, x_std) + codebook + commitment``.

    Dead codes are restarted from the current batch's encoder outputs each
    time ``restart_every`` latent vectors have been assigned since the last
    restart (and only while training).
    """

    def __init__(self, *args, restart_every: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.restart_every = restart_every

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, _ = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, None, X=Xi, training=True)
        loss.backward()
        quantizer = self.module_.quantizer
        # count assignments on the host (the shape is known): reading the
        # quantizer's ``seen`` buffer every step would wait for the device
        self.seen_ += y_pred[3].numel()
        if self.restart_every and self.seen_ >= self.restart_every:
            with torch.no_grad():
                h = self.module_.encode(Xi)
            quantizer.restart_dead_codes(h, getattr(self, "generator_", None))
            self.seen_ = 0
        return {"loss": loss, "y_pred": y_pred}

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.seen_ = int(self.module_.quantizer.seen)  # once per fit

    def get_loss(self, y_pred, y_true, X=None, training=False):
        recon, target, vq_loss, _ = y_pred
        return F.mse_loss(recon.float(), target.float()) + vq_loss.float()


class ClassifierModule(nn.Module):
    """``Standardize`` -> backbone -> linear head: logits ``(B, K)``."""

    def __init__(self, standardize: nn.Module, backbone: nn.Module, n_classes: int) -> None:
        super().__init__()
        self.standardize = standardize
        self.backbone = backbone
        self.head = nn.Linear(backbone.out_features, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(self.standardize(x)))


class ClassifierNet(DeviceNet):
    """Cross-entropy classifier net with batched on-device augmentation."""

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        Xi = self.augmented(Xi)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return super().get_loss(y_pred.float(), y_true, X=X, training=training)
