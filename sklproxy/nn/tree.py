"""Differentiable complete binary decision tree (DDTL's path-bit layer).

Nodes are numbered in heap order: the root is node 0 and node ``i`` has its
left child at ``2i + 1`` and its right child at ``2i + 2``; level ``l`` holds
nodes ``2**l - 1 .. 2**(l+1) - 2``. ``sigmoid(u_i)`` is the probability of
going right at node ``i``. Leaf ``k`` (``0 <= k < 2**D``) is reached by the
path whose decisions, read root first, are the binary digits of ``k`` (most
significant first; 0 = left, 1 = right), so leaf order equals code order.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["DecisionTreeLayer", "greedy_path_bits", "leaf_log_probs", "node_log_reach",
           "split_balance_loss", "tree_log_probs"]


def _depth(n_nodes: int) -> int:
    depth = (n_nodes + 1).bit_length() - 1
    if n_nodes < 1 or 2**depth - 1 != n_nodes:
        raise ValueError(f"{n_nodes} node logits do not form a complete tree (need 2**D - 1).")
    return depth


def _descend(node_logits: Tensor) -> tuple[list[Tensor], Tensor]:
    """Log-probabilities of reaching each level's nodes, and the leaves.

    Returns ``(levels, leaves)``: ``levels[l]`` is ``(B, 2**l)`` (the nodes
    of level ``l`` in heap order), ``leaves`` is ``(B, 2**D)``; float32 sums
    of log-sigmoids.
    """
    u = node_logits.float()
    depth = _depth(u.shape[-1])
    log_right = F.logsigmoid(u)   # (B, 2**D - 1) log p(right)
    log_left = F.logsigmoid(-u)   # (B, 2**D - 1) log p(left) = log(1 - sigmoid(u))
    out = u.new_zeros(u.shape[0], 1)  # (B, 1) log-prob of the root
    levels = []
    for level in range(depth):
        levels.append(out)
        lo, hi = 2**level - 1, 2 ** (level + 1) - 1
        # children of the 2**level nodes of this level, left then right: (B, 2**(level+1))
        out = torch.stack((out + log_left[:, lo:hi], out + log_right[:, lo:hi]), dim=-1)
        out = out.reshape(u.shape[0], -1)
    return levels, out


def leaf_log_probs(node_logits: Tensor) -> Tensor:
    """Log-probabilities of the ``2**D`` leaves from ``(B, 2**D - 1)`` node logits.

    Computed as sums of log-sigmoids in float32, so deep trees (whose leaf
    probabilities underflow in float32) stay exact: ``logsumexp`` over the
    leaves is 0.

    >>> import torch
    >>> leaf_log_probs(torch.zeros(1, 3)).exp()
    tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """
    return _descend(node_logits)[1]


def node_log_reach(node_logits: Tensor) -> Tensor:
    """``(B, 2**D - 1)`` log-probability of reaching each node, heap order.

    >>> import torch
    >>> node_log_reach(torch.tensor([[0.0, 5.0, -5.0]])).exp()
    tensor([[1.0000, 0.5000, 0.5000]])
    """
    return torch.cat(_descend(node_logits)[0], dim=1)


def tree_log_probs(node_logits: Tensor) -> tuple[Tensor, Tensor]:
    """``(node_log_reach(u), leaf_log_probs(u))`` from one descent of the tree.

    For a loss that needs both (the contrastive term on the leaves and the
    split-balance term on the nodes) without descending twice.
    """
    levels, leaves = _descend(node_logits)
    return torch.cat(levels, dim=1), leaves


def split_balance_loss(node_logits: Tensor, groups: Tensor | None = None, *,
                       log_reach: Tensor | None = None) -> Tensor:
    """How unevenly the tree splits each group of items (0 when every split is even).

    For a group ``g`` (a class of the batch; all items when ``groups`` is
    None) and a node ``i``, ``m = sum_x r_i(x)`` is how many of the group's
    ``n_g`` items reach the node (soft: ``r`` is the reach probability) and
    ``a = sum_x r_i(x) sigmoid(u_i(x)) / m`` the share of them sent right.
    The loss is the cross-entropy of ``a`` against 1/2 minus its minimum,
    ``-log(a) / 2 - log(1 - a) / 2 - log 2``, weighted by ``m / n_g`` (so
    each level weighs 1 and rarely reached nodes, whose ``a`` is a noisy
    estimate, little), averaged over the ``D`` levels and the groups. It is
    the soft decision tree's balance penalty (Frosst & Hinton, 2017) taken
    per class: the contrastive loss alone leaves the splits of a class
    uneven at every depth.

    Parameters
    ----------
    node_logits : Tensor of shape (B, 2**D - 1)
    groups : Tensor of shape (B,) or None
        Integer group of each row.
    log_reach : Tensor of shape (B, 2**D - 1) or None
        ``node_log_reach(node_logits)`` if already computed (e.g. by
        :func:`tree_log_probs`); None computes it.

    Returns
    -------
    Tensor
        Scalar, float32.

    >>> import torch
    >>> float(split_balance_loss(torch.zeros(4, 7)))
    0.0
    >>> round(float(split_balance_loss(torch.full((4, 1), 3.0))), 3)  # all go right
    0.855
    """
    u = node_logits.float()
    B, depth = u.shape[0], _depth(u.shape[-1])
    reach = (node_log_reach(u) if log_reach is None else log_reach).exp()  # (B, M)
    # each group is summed into the row of its first item; no host
    # synchronisation (no unique, no data-dependent shapes), as in nt_xent
    if groups is None:
        first = torch.zeros(B, dtype=torch.long, device=u.device)
    else:
        same = groups[:, None] == groups[None, :]                       # (B, B)
        first = same.int().argmax(dim=1)                                # (B,) first item of the group
    size = u.new_zeros(B).index_add(0, first, u.new_ones(B))            # (B,) items per group row
    mass = torch.zeros_like(reach).index_add(0, first, reach)           # (B, M) items reaching
    right = torch.zeros_like(reach).index_add(0, first, reach * torch.sigmoid(u))  # ... going right
    share = (right / mass.clamp_min(1e-12)).clamp(1e-6, 1 - 1e-6)
    excess = -0.5 * (share.log() + (1 - share).log()) - math.log(2.0)   # (B, M) >= 0
    weight = mass / size.clamp_min(1.0)[:, None]                        # (B, M) reach share; 0 off-group rows
    return (weight * excess).sum() / (size > 0).sum() / depth


def greedy_path_bits(node_logits: Tensor) -> Tensor:
    """The ``D`` greedy decisions (``sigmoid(u) > 0.5``, i.e. ``u > 0``), root first.

    Returns a ``(B, D)`` uint8 tensor of 0 (left) / 1 (right).

    >>> import torch
    >>> greedy_path_bits(torch.tensor([[1.0, 0.0, -2.0]]))  # root right, then node 2 left
    tensor([[1, 0]], dtype=torch.uint8)
    """
    depth = _depth(node_logits.shape[-1])
    node = torch.zeros(node_logits.shape[0], dtype=torch.long, device=node_logits.device)
    bits = []
    for _ in range(depth):
        go_right = (node_logits.gather(1, node[:, None])[:, 0] > 0).long()
        bits.append(go_right)
        node = 2 * node + 1 + go_right
    return torch.stack(bits, dim=1).to(torch.uint8)


class DecisionTreeLayer(nn.Module):
    """Linear map from features to the ``2**depth - 1`` node logits of a tree.

    With ``balance=True`` each node logit is batch-normalised (zero mean, a
    learned scale), which centres every split on the data that reach the
    layer instead of letting one side of a node take everything.
    """

    def __init__(self, in_features: int, depth: int, balance: bool = False) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth={depth} must be at least 1.")
        self.depth = depth
        self.nodes = nn.Linear(in_features, 2**depth - 1)
        self.norm = nn.BatchNorm1d(2**depth - 1) if balance else nn.Identity()

    def forward(self, features: Tensor) -> Tensor:
        return self.norm(self.nodes(features))  # (B, 2**D - 1) node logits
