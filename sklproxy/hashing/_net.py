"""The torch module and skorch net behind :class:`~sklproxy.hashing.DDTLHasher`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn.losses import nt_xent
from ..nn.tree import DecisionTreeLayer, leaf_log_probs, split_balance_loss, tree_log_probs
from ..utils import DeviceNet

__all__ = ["DDTLModule", "DDTLNet"]


class DDTLModule(nn.Module):
    """Backbone with a class head ``g2`` and a decision-tree head ``g1``.

    ``forward`` returns ``(class_logits (B, m), node_logits (B, 2**D - 1))``;
    ``m = 0`` when the model is unsupervised. The node logits are
    batch-normalised (``balance``): on digits this gave higher mAP and code
    entropy, with and without the contrastive loss.
    """

    def __init__(self, standardize: nn.Module, backbone: nn.Module, n_classes: int,
                 depth: int, balance: bool = True) -> None:
        super().__init__()
        self.standardize = standardize
        self.backbone = backbone
        width = backbone.out_features
        self.class_head = nn.Linear(width, n_classes) if n_classes else None
        self.tree = DecisionTreeLayer(width, depth, balance)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.backbone(self.standardize(x))                   # (B, F)
        if self.class_head is None:
            logits = features.new_zeros(features.shape[0], 0)
        else:
            logits = self.class_head(features)                          # (B, m)
        return logits, self.tree(features)                              # (B, 2**D - 1)


class DDTLNet(DeviceNet):
    """skorch net for DDTL: two augmented views per item, CE + per-class NT-Xent.

    ``L = alpha * CE(g2, y) + beta * NT-Xent(z_a, z_b; tau) + gamma *
    balance(u)`` where ``z`` are the leaf probabilities, the NT-Xent
    negatives come only from the same class (the same label set for
    multi-label ``y``; the whole batch when ``y`` is None or ``alpha == 0``)
    and ``balance`` is :func:`~sklproxy.nn.tree.split_balance_loss` over the
    same groups, both views together.
    """

    def __init__(self, *args, alpha: float = 1.0, beta: float = 0.1, gamma: float = 0.0,
                 temperature: float = 1.0, multilabel: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.temperature = temperature
        self.multilabel = multilabel

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        views = torch.cat([self.augmented(Xi), self.augmented(Xi)])     # (2N, ...)
        y_pred = self.infer(views, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        class_logits, node_logits = y_pred                              # (2N, m), (2N, 2**D-1)
        n = node_logits.shape[0] // 2
        loss = node_logits.new_zeros((), dtype=torch.float32)
        groups = None
        if y_true is not None and self.alpha > 0:
            logits = class_logits.float()
            target = torch.cat([y_true, y_true])
            if self.multilabel:
                loss = loss + self.alpha * F.binary_cross_entropy_with_logits(
                    logits, target.float())
                groups = torch.unique(y_true, dim=0, return_inverse=True)[1]
            else:
                loss = loss + self.alpha * F.cross_entropy(logits, target.long())
                groups = y_true
        log_reach = log_leaves = None
        if self.gamma > 0:  # both terms from one descent of the tree
            log_reach, log_leaves = tree_log_probs(node_logits)
        elif self.beta > 0:
            log_leaves = leaf_log_probs(node_logits)
        if self.beta > 0:
            z = log_leaves.exp()                                        # (2N, 2**D) float32
            loss = loss + self.beta * nt_xent(z[:n], z[n:], self.temperature, groups)
        if self.gamma > 0:
            both = None if groups is None else torch.cat([groups, groups])
            loss = loss + self.gamma * split_balance_loss(node_logits, both, log_reach=log_reach)
        return loss
