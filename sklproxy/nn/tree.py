"""Differentiable complete binary decision tree (DDTL's path-bit layer).

Nodes are numbered in heap order: the root is node 0 and node ``i`` has its
left child at ``2i + 1`` and its right child at ``2i + 2``; level ``l`` holds
nodes ``2**l - 1 .. 2**(l+1) - 2``. ``sigmoid(u_i)`` is the probability of
going right at node ``i``. Leaf ``k`` (``0 <= k < 2**D``) is reached by the
path whose decisions, read root first, are the binary digits of ``k`` (most
significant first; 0 = left, 1 = right), so leaf order equals code order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["DecisionTreeLayer", "greedy_path_bits", "leaf_log_probs"]


def _depth(n_nodes: int) -> int:
    depth = (n_nodes + 1).bit_length() - 1
    if n_nodes < 1 or 2**depth - 1 != n_nodes:
        raise ValueError(f"{n_nodes} node logits do not form a complete tree (need 2**D - 1).")
    return depth


def leaf_log_probs(node_logits: Tensor) -> Tensor:
    """Log-probabilities of the ``2**D`` leaves from ``(B, 2**D - 1)`` node logits.

    Computed as sums of log-sigmoids in float32, so deep trees (whose leaf
    probabilities underflow in float32) stay exact: ``logsumexp`` over the
    leaves is 0.

    >>> import torch
    >>> leaf_log_probs(torch.zeros(1, 3)).exp()
    tensor([[0.2500, 0.2500, 0.2500, 0.2500]])
    """
    u = node_logits.float()
    depth = _depth(u.shape[-1])
    log_right = F.logsigmoid(u)   # (B, 2**D - 1) log p(right)
    log_left = F.logsigmoid(-u)   # (B, 2**D - 1) log p(left) = log(1 - sigmoid(u))
    out = u.new_zeros(u.shape[0], 1)  # (B, 1) log-prob of the root
    for level in range(depth):
        lo, hi = 2**level - 1, 2 ** (level + 1) - 1
        # children of the 2**level nodes of this level, left then right: (B, 2**(level+1))
        out = torch.stack((out + log_left[:, lo:hi], out + log_right[:, lo:hi]), dim=-1)
        out = out.reshape(u.shape[0], -1)
    return out


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
