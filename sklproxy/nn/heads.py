"""DHOG's hierarchy of clustering heads on one backbone.

Heads are ordered shallow to deep. On a staged backbone (anything with
``stem``, ``stages`` and ``stage_channels``: every named backbone, MLP,
ConvNet and the ResNets) the first heads branch off the pooled output of
early stages (shared computation) and every later head owns its own copy of
the last stage, as in DHOG (ResNet-18 with 8 heads: heads 0-2 after stages
1-3, heads 3-7 each with their own stage 4; the 3-block ConvNet with 4 heads:
heads 0-1 after blocks 1-2, heads 2-3 with their own block 3; the 2-layer
MLP: head 0 after layer 1, the others with their own layer 2). On a user
module without stages all heads branch off the final features. Each head is
an MLP with one hidden layer (``hidden`` units, BatchNorm, ReLU) giving
logits over ``n_clusters``; optional overclustering heads (``n_overcluster``
clusters) sit on the same features as each head.

Gradients: a head's loss reaches its own MLP, its own copy of the last stage
(late heads), and the shared stages below its branch point; never another
head's MLP or another head's copy of the last stage.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

__all__ = ["ClusterHead", "DHOGHeads"]


class ClusterHead(nn.Module):
    """``Linear -> BatchNorm -> ReLU -> Linear``: logits ``(B, n_clusters)``."""

    def __init__(self, in_features: int, n_clusters: int, hidden: int = 200) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, n_clusters),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _reset(module: nn.Module) -> nn.Module:
    """Fresh random weights for a copied block, so copies do not start identical."""
    for m in module.modules():
        if m is not module and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return module


def _is_staged(backbone: nn.Module) -> bool:
    return all(hasattr(backbone, a) for a in ("stem", "stages", "stage_channels")) and len(
        backbone.stages) >= 1


def _pool(h: Tensor) -> Tensor:
    """Global average pooling of ``(B, C, H, W)`` maps; vectors ``(B, F)`` pass through."""
    return h if h.ndim == 2 else h.mean(dim=(2, 3))


class DHOGHeads(nn.Module):
    """A backbone with ``n_heads`` clustering heads, shallow to deep.

    Parameters
    ----------
    backbone : nn.Module
        Maps ``(B, *input_shape)`` to ``(B, out_features)``. A staged backbone
        (``stem``, ``stages``, ``stage_channels``: MLP, ConvNet, ResNet) is split:
        ``min(n_heads - 1, n_stages - 1)`` heads branch off the deepest
        early stages, the remaining heads each get a copy of the last stage
        (the first of them reuses the backbone's own, the others are freshly
        initialised copies).
    n_clusters : int
    n_heads : int
    hidden : int, default=200
    n_overcluster : int, default=0
        Clusters of an extra overclustering head next to each head; 0: none.

    ``forward`` returns ``(logits (B, n_heads, n_clusters),
    over_logits (B, n_heads, n_overcluster))`` (the second has 0 columns
    without overclustering).

    Examples
    --------
    >>> import torch
    >>> from sklproxy.nn.backbones import build_backbone
    >>> heads = DHOGHeads(build_backbone("resnet18", (1, 16, 16), width=4), 10, 8)
    >>> heads.early_stages, len(heads.late)
    ([0, 1, 2], 5)
    >>> [tuple(t.shape) for t in heads(torch.zeros(2, 1, 16, 16))]
    [(2, 8, 10), (2, 8, 0)]
    """

    def __init__(self, backbone: nn.Module, n_clusters: int, n_heads: int,
                 hidden: int = 200, n_overcluster: int = 0) -> None:
        super().__init__()
        self.n_clusters = n_clusters
        self.n_heads = n_heads
        self.n_overcluster = n_overcluster
        self.staged = _is_staged(backbone)
        if self.staged:
            n_stages = len(backbone.stages)
            n_early = min(n_heads - 1, n_stages - 1)
            # heads off the deepest early stages: stage index of each early head
            self.early_stages = list(range(n_stages - 1 - n_early, n_stages - 1))
            stages = list(backbone.stages)
            self.stem = backbone.stem
            self.trunk = nn.ModuleList(stages[:-1])
            last = stages[-1]
            n_late = n_heads - n_early
            self.late = nn.ModuleList([last] + [_reset(copy.deepcopy(last))
                                                for _ in range(n_late - 1)])
            widths = ([backbone.stage_channels[s] for s in self.early_stages]
                      + [backbone.stage_channels[-1]] * n_late)
            self.backbone = None
        else:
            self.early_stages = []
            self.backbone = backbone
            widths = [backbone.out_features] * n_heads
        self.heads = nn.ModuleList(ClusterHead(w, n_clusters, hidden) for w in widths)
        self.over_heads = nn.ModuleList(
            ClusterHead(w, n_overcluster, hidden) for w in widths) if n_overcluster else None

    def features(self, x: Tensor) -> list[Tensor]:
        """One ``(B, F_i)`` feature tensor per head, shallow to deep."""
        if not self.staged:
            f = self.backbone(x)
            return [f] * self.n_heads
        h = self.stem(x)
        feats = []
        for s, stage in enumerate(self.trunk):
            h = stage(h)
            if s in self.early_stages:
                feats.append(_pool(h))
        feats += [_pool(block(h)) for block in self.late]
        return feats

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        feats = self.features(x)
        logits = torch.stack([head(f) for head, f in zip(self.heads, feats)], dim=1)
        if self.over_heads is None:
            over = logits.new_zeros(logits.shape[0], self.n_heads, 0)
        else:
            over = torch.stack([head(f) for head, f in zip(self.over_heads, feats)], dim=1)
        return logits, over                                  # (B, H, C), (B, H, C_over)
