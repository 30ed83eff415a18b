"""The torch module and skorch net behind :class:`~sklproxy.hashing.DDTLHasher`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._training import DeviceNet, TensorPairDataset
from ..nn.losses import nt_xent
from ..nn.tree import (
    DecisionTreeLayer,
    invariant_split_weights,
    leaf_log_probs,
    median_split_offsets,
    split_balance_loss,
    tree_log_probs,
)
from ..utils import make_generator

__all__ = ["DDTLModule", "DDTLNet", "DDTLTreeNet", "INVARIANT_VIEWS", "cache_view_features",
           "set_invariant_splits", "set_median_splits", "tree_loss"]

#: views per item (the item itself + augmentations) whose features estimate each class's
#: view covariance for ``splits="invariant"``
INVARIANT_VIEWS = 8
#: cells of fewer training items keep the trained tree's direction (median threshold)
INVARIANT_MIN_ITEMS = 4


def tree_loss(node_logits: Tensor, groups: Tensor | None, *, beta: float, gamma: float,
              temperature: float, reach: str = "greedy") -> Tensor:
    """``beta * NT-Xent(z_a, z_b; tau) + gamma * balance(u)`` of two stacked views.

    ``node_logits`` is ``(2N, 2**D - 1)``: view a of the ``N`` items, then
    view b. NT-Xent compares the leaf probabilities ``z`` within each group;
    the split balance (:func:`~sklproxy.nn.tree.split_balance_loss` with
    ``reach``) counts both views together.
    """
    n = node_logits.shape[0] // 2
    loss = node_logits.new_zeros((), dtype=torch.float32)
    log_reach = log_leaves = None
    if gamma > 0 and reach == "soft":  # both terms from one descent of the tree
        log_reach, log_leaves = tree_log_probs(node_logits)
    elif beta > 0:
        log_leaves = leaf_log_probs(node_logits)
    if beta > 0:
        z = log_leaves.exp()                                            # (2N, 2**D) float32
        loss = loss + beta * nt_xent(z[:n], z[n:], temperature, groups)
    if gamma > 0:
        both = None if groups is None else torch.cat([groups, groups])
        loss = loss + gamma * split_balance_loss(node_logits, both, log_reach=log_reach,
                                                 reach=reach)
    return loss


def label_groups(y: Tensor | None, multilabel: bool) -> Tensor | None:
    """Contrastive groups: the class, or the exact label set for multi-label ``y``."""
    if y is None:
        return None
    if multilabel:
        return torch.unique(y, dim=0, return_inverse=True)[1]
    return y


class DDTLModule(nn.Module):
    """Backbone with a class head ``g2`` and a decision-tree head ``g1``.

    ``forward`` returns ``(class_logits (B, m), node_logits (B, 2**D - 1))``;
    ``m = 0`` when the model is unsupervised. The node logits are
    batch-normalised (``balance``), so the splits stay centred on the data.
    Once the tree has
    per-group split offsets (:func:`~sklproxy.nn.tree.median_split_offsets`),
    each item's group is its predicted class when ``group_by_class`` (single-
    label models), else there is one group.
    """

    def __init__(self, standardize: nn.Module, backbone: nn.Module, n_classes: int,
                 depth: int, balance: bool = True, group_by_class: bool = False) -> None:
        super().__init__()
        self.standardize = standardize
        self.backbone = backbone
        width = backbone.out_features
        self.class_head = nn.Linear(width, n_classes) if n_classes else None
        self.tree = DecisionTreeLayer(width, depth, balance)
        self.group_by_class = group_by_class and n_classes > 0

    def features(self, x: Tensor) -> Tensor:
        """``(B, F)`` backbone features, the input of both heads."""
        return self.backbone(self.standardize(x))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.features(x)                                     # (B, F)
        if self.class_head is None:
            logits = features.new_zeros(features.shape[0], 0)
        else:
            logits = self.class_head(features)                          # (B, m)
        groups = logits.argmax(dim=1) if self.group_by_class else None
        return logits, self.tree(features, groups)                      # (B, 2**D - 1)


class DDTLNet(DeviceNet):
    """skorch net for DDTL: two augmented views per item, CE + per-class NT-Xent.

    ``L = alpha * CE(g2, y) + beta * NT-Xent(z_a, z_b; tau) + gamma *
    balance(u)`` where ``z`` are the leaf probabilities, the NT-Xent
    negatives come only from the same class (the same label set for
    multi-label ``y``; the whole batch when ``y`` is None or ``alpha == 0``)
    and ``balance`` is :func:`~sklproxy.nn.tree.split_balance_loss` over the
    same groups, both views together, its reach counted as ``balance_reach``.
    """

    def __init__(self, *args, alpha: float = 1.0, beta: float = 0.1, gamma: float = 0.0,
                 temperature: float = 1.0, multilabel: bool = False,
                 balance_reach: str = "greedy", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.temperature = temperature
        self.multilabel = multilabel
        self.balance_reach = balance_reach

    def make_views(self, X: Tensor) -> Tensor:
        return torch.cat([self.augmented(X), self.augmented(X)])        # (2N, ...)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        class_logits, node_logits = y_pred                              # (2N, m), (2N, 2**D-1)
        loss = node_logits.new_zeros((), dtype=torch.float32)
        groups = None
        if y_true is not None and self.alpha > 0:
            logits = class_logits.float()
            target = torch.cat([y_true, y_true])
            if self.multilabel:
                loss = loss + self.alpha * F.binary_cross_entropy_with_logits(
                    logits, target.float())
            else:
                loss = loss + self.alpha * F.cross_entropy(logits, target.long())
            groups = label_groups(y_true, self.multilabel)
        return loss + tree_loss(node_logits, groups, beta=self.beta, gamma=self.gamma,
                                temperature=self.temperature, reach=self.balance_reach)


# ---------------------------------------------------------------------------
# Second stage: the tree head alone, on frozen features of several views
# ---------------------------------------------------------------------------


def cache_view_features(net: DDTLNet, X: Tensor, n_views: int, seed: int) -> Tensor:
    """``(n, n_views, F)`` features of the trained, frozen backbone (eval mode, no grad).

    View 0 is the image itself (what ``transform`` hashes), views ``1..`` are
    augmentations drawn from a generator seeded with ``seed``. Kept on the
    net's storage device, float32.
    """
    module = net.module_
    was_training = module.training
    module.eval()
    generator = make_generator(seed, torch.device(net.device))
    parts = []
    with torch.no_grad():
        for Xb, _ in net.get_iterator(TensorPairDataset(X), training=False):
            views = [Xb] + [net.augmented(Xb, generator) for _ in range(n_views - 1)]
            with net.autocast():
                feats = module.features(torch.cat(views))                # (V * B, F)
            parts.append(feats.float().reshape(n_views, len(Xb), -1).transpose(0, 1))
    module.train(was_training)
    return torch.cat(parts).to(X.device)


class DDTLTreeNet(DDTLNet):
    """skorch net fitting the tree head alone on cached features of several views.

    ``X`` is ``(n, V, F)`` (:func:`cache_view_features`); each step draws,
    for every item, two different views among its ``V`` and minimises
    :func:`tree_loss` on them (no class loss: the backbone and the class
    head are frozen, so the class bits cannot change; ``alpha`` is unused).
    """

    def make_views(self, X: Tensor) -> Tensor:
        n, n_views = X.shape[:2]                                        # (N, V, F)
        gen = self.generator_
        first = torch.randint(n_views, (n,), generator=gen, device=gen.device).to(X.device)
        shift = torch.randint(1, n_views, (n,), generator=gen, device=gen.device).to(X.device)
        rows = torch.arange(n, device=X.device)
        return torch.cat([X[rows, first], X[rows, (first + shift) % n_views]])  # (2N, F)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return tree_loss(y_pred, label_groups(y_true, self.multilabel), beta=self.beta,
                         gamma=self.gamma, temperature=self.temperature,
                         reach=self.balance_reach)


# ---------------------------------------------------------------------------
# Last step: each class's splits moved to its training items' medians
# ---------------------------------------------------------------------------


def _training_groups(module: DDTLModule, features: Tensor) -> tuple[Tensor, int]:
    """Each item's group (its predicted class, or one group) and the number of groups."""
    if not module.group_by_class:
        return torch.zeros(len(features), dtype=torch.long, device=features.device), 1
    with torch.no_grad():
        logits = module.class_head(features.to(module.class_head.weight.dtype))
    return logits.argmax(dim=1), module.class_head.out_features


def set_invariant_splits(net: DDTLNet, X: Tensor, seed: int) -> None:
    """Replace the tree's splits by per-group view-invariant median-split trees.

    Features of :data:`INVARIANT_VIEWS` views of every training item (view 0
    the item itself, eval mode) from the trained, frozen backbone; groups are
    the predicted classes when the module groups by class, else one group;
    the trees are :func:`~sklproxy.nn.tree.invariant_split_weights`. The
    class head and backbone do not change.
    """
    module = net.module_
    feats = cache_view_features(net, X, INVARIANT_VIEWS, seed)           # (n, V, F)
    groups, n_groups = _training_groups(module, feats[:, 0])
    tree = module.tree
    tree.offsets = tree.group_weight = tree.group_bias = None
    with torch.no_grad():
        fallback = tuple(t.detach() for t in tree.folded_weights())
    weight, bias = invariant_split_weights(feats[:, 0], feats[:, 1:], groups, n_groups,
                                           tree.depth, fallback=fallback,
                                           min_items=INVARIANT_MIN_ITEMS)
    tree.group_weight, tree.group_bias = weight, bias
    del feats


def set_median_splits(net: DDTLNet, X: Tensor) -> None:
    """Give the tree per-group median offsets computed on ``X`` (the training set).

    Features and predicted classes come from the trained model in eval mode
    on the un-augmented items (what ``transform`` hashes); groups are the
    predicted classes when the module groups by class, else one group.
    """
    module = net.module_
    module.eval()
    module.tree.offsets = None
    feats, groups = [], []
    with torch.no_grad():
        for Xb, _ in net.get_iterator(TensorPairDataset(X), training=False):
            with net.autocast():
                f = module.features(Xb)
                g = module.class_head(f).argmax(dim=1) if module.group_by_class else None
            feats.append(f.float())
            groups.append(torch.zeros(len(f), dtype=torch.long, device=f.device) if g is None else g)
    n_groups = module.class_head.out_features if module.group_by_class else 1
    module.tree.offsets = median_split_offsets(module.tree, torch.cat(feats), torch.cat(groups),
                                               n_groups)
