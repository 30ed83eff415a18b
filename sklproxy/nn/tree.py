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

__all__ = ["DecisionTreeLayer", "greedy_path_bits", "greedy_path_nodes", "greedy_reach", "leaf_log_probs",
           "invariant_split_weights", "median_split_offsets", "node_log_reach",
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
    # log p(right) = logsigmoid(u) = -relu(-u) - softplus(-|u|) and log p(left)
    # = -relu(u) - softplus(-|u|): one softplus for both, no cancellation.
    # Split per level: the backward of ``split`` is one concatenation, where
    # slicing would write a full-size zero gradient per level.
    sizes = [2**level for level in range(depth)]
    soft = torch.split(F.softplus(-u.abs()), sizes, dim=1)       # (B, 2**l) per level
    to_left = torch.split(F.relu(u), sizes, dim=1)               # -log p(left) - softplus(-|u|)
    to_right = torch.split(F.relu(-u), sizes, dim=1)
    out = u.new_zeros(u.shape[0], 1)  # (B, 1) log-prob of the root
    levels = []
    for level in range(depth):
        levels.append(out)
        base = out - soft[level]                                    # (B, 2**level)
        # children of the 2**level nodes of this level, left then right: (B, 2**(level+1))
        out = torch.stack((base - to_left[level], base - to_right[level]), dim=-1)
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
                       log_reach: Tensor | None = None, reach: str = "soft") -> Tensor:
    """How unevenly the tree splits each group of items (0 when every split is even).

    For a group ``g`` (a class of the batch; all items when ``groups`` is
    None) and a node ``i``, ``m = sum_x r_i(x)`` is how many of the group's
    ``n_g`` items reach the node and ``a = sum_x r_i(x) sigmoid(u_i(x)) / m``
    the share of them sent right. The loss is the cross-entropy of ``a``
    against 1/2 minus its minimum, ``-log(a) / 2 - log(1 - a) / 2 - log 2``,
    weighted by ``m / n_g`` (so each level weighs 1 and rarely reached
    nodes, whose ``a`` is a noisy estimate, little), averaged over the ``D``
    levels and the groups. It is the soft decision tree's balance penalty
    (Frosst & Hinton, 2017) taken per class: the contrastive loss alone
    leaves the splits of a class uneven at every depth.

    ``reach`` decides what ``r_i(x)`` is:

    * ``"soft"``: the probability of reaching node ``i``
      (:func:`node_log_reach`). Items left undecided at a node (``sigmoid``
      near 1/2) then spread their reach evenly over its subtree and satisfy
      the term there, while their greedy bits (the code) stay one-sided.
    * ``"greedy"``: 1 when the item's greedy path (its code) passes through
      node ``i``, else 0, a constant; the gradient flows through the node
      probabilities ``sigmoid(u_i(x))`` of the items each node holds. Every
      node is judged on the items the code sends there.

    Parameters
    ----------
    node_logits : Tensor of shape (B, 2**D - 1)
    groups : Tensor of shape (B,) or None
        Integer group of each row.
    log_reach : Tensor of shape (B, 2**D - 1) or None
        ``node_log_reach(node_logits)`` if already computed (e.g. by
        :func:`tree_log_probs`); None computes it. Ignored with ``reach="greedy"``.
    reach : {"soft", "greedy"}, default="soft"

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
    if reach not in ("soft", "greedy"):
        raise ValueError(f"reach={reach!r} is invalid; use 'soft' or 'greedy'.")
    # each group is summed into the row of its first item; no host
    # synchronisation (no unique, no data-dependent shapes), as in nt_xent
    if groups is None:
        first = torch.zeros(B, dtype=torch.long, device=u.device)
    else:
        same = groups[:, None] == groups[None, :]                       # (B, B)
        first = same.int().argmax(dim=1)                                # (B,) first item of the group
    size = u.new_zeros(B).index_add(0, first, u.new_ones(B))            # (B,) items per group row
    n_groups = (size > 0).sum()
    if reach == "greedy":
        # only the D nodes on each item's path hold it: sums over (group, node)
        # by scatter-adding B x D entries, no (B, 2**D - 1) reach tensor
        nodes = greedy_path_nodes(u)                                    # (B, D)
        s = torch.sigmoid(u.gather(1, nodes))                           # (B, D) p(right) on the path
        cell = (first[:, None] * u.shape[1] + nodes).reshape(-1)        # (B * D,) (group row, node)
        mass = u.new_zeros(B * u.shape[1]).index_add(0, cell, torch.ones_like(s).reshape(-1))
        right = u.new_zeros(B * u.shape[1]).index_add(0, cell, s.reshape(-1))
        share = (right[cell] / mass[cell]).clamp(1e-6, 1 - 1e-6)        # (B * D,) a of each entry's cell
        excess = -0.5 * (share.log() + (1 - share).log()) - math.log(2.0)
        # a cell with m items appears m times: sum_x excess / n_g = sum_cells m / n_g * excess
        per_item = excess.reshape(B, depth).sum(dim=1) / size[first]    # (B,)
        return per_item.sum() / n_groups / depth
    reach_p = (node_log_reach(u) if log_reach is None else log_reach).exp()  # (B, M)
    mass = torch.zeros_like(reach_p).index_add(0, first, reach_p)       # (B, M) items reaching
    right = torch.zeros_like(reach_p).index_add(0, first, reach_p * torch.sigmoid(u))  # ... going right
    share = (right / mass.clamp_min(1e-12)).clamp(1e-6, 1 - 1e-6)
    excess = -0.5 * (share.log() + (1 - share).log()) - math.log(2.0)   # (B, M) >= 0
    weight = mass / size.clamp_min(1.0)[:, None]                        # (B, M) reach share; 0 off-group rows
    return (weight * excess).sum() / n_groups / depth


def greedy_path_nodes(node_logits: Tensor) -> Tensor:
    """``(B, D)`` long: the heap index of the node each item's greedy path visits at each level.

    >>> import torch
    >>> greedy_path_nodes(torch.tensor([[1.0, 0.0, -2.0]]))  # root, then its right child
    tensor([[0, 2]])
    """
    depth = _depth(node_logits.shape[-1])
    u = node_logits.detach()
    node = torch.zeros(u.shape[0], dtype=torch.long, device=u.device)
    visited = []
    for _ in range(depth):
        visited.append(node)
        node = 2 * node + 1 + (u.gather(1, node[:, None])[:, 0] > 0).long()
    return torch.stack(visited, dim=1)


def greedy_reach(node_logits: Tensor) -> Tensor:
    """``(B, 2**D - 1)`` bool: does the item's greedy path (its code) pass through each node?

    Exactly one node per level is reached; heap order.

    >>> import torch
    >>> greedy_reach(torch.tensor([[1.0, 0.0, -2.0]])).int()  # root, then right child (node 2)
    tensor([[1, 0, 1]], dtype=torch.int32)
    """
    nodes = greedy_path_nodes(node_logits)
    reached = torch.zeros(node_logits.shape, dtype=torch.bool, device=node_logits.device)
    return reached.scatter_(1, nodes, True)


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

    ``offsets`` (None until set, e.g. by :func:`median_split_offsets`) is an
    ``(n_groups, 2**depth - 1)`` buffer subtracted from the node logits of
    the items of each group: ``forward(features, groups)`` with ``groups``
    the ``(B,)`` group index of every item (e.g. its predicted class).

    ``group_weight`` and ``group_bias`` (None until set, e.g. from
    :func:`invariant_split_weights`), of shapes ``(n_groups, 2**depth - 1,
    F)`` and ``(n_groups, 2**depth - 1)``, replace the shared node weights,
    the batch norm and the offsets: each group has its own tree, ``u =
    features @ group_weight[g].T + group_bias[g]``.
    """

    def __init__(self, in_features: int, depth: int, balance: bool = False) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth={depth} must be at least 1.")
        self.depth = depth
        self.nodes = nn.Linear(in_features, 2**depth - 1)
        self.norm = nn.BatchNorm1d(2**depth - 1) if balance else nn.Identity()
        self.register_buffer("offsets", None)
        self.register_buffer("group_weight", None)
        self.register_buffer("group_bias", None)

    def forward(self, features: Tensor, groups: Tensor | None = None) -> Tensor:
        if getattr(self, "group_weight", None) is not None:  # absent in older pickles
            return self._group_logits(features, groups)
        u = self.norm(self.nodes(features))                    # (B, 2**D - 1) node logits
        if self.offsets is not None:
            rows = groups if groups is not None and len(self.offsets) > 1 else torch.zeros(
                u.shape[0], dtype=torch.long, device=u.device)
            u = u - self.offsets[rows].to(u.dtype)
        return u

    def folded_weights(self) -> tuple[Tensor, Tensor]:
        """``(weight (2**D - 1, F), bias (2**D - 1,))`` of the shared nodes in eval mode, batch
        norm folded in: ``u = features @ weight.T + bias`` (before ``offsets``)."""
        weight, bias = self.nodes.weight, self.nodes.bias
        if isinstance(self.norm, nn.BatchNorm1d):
            bn = self.norm
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            return weight * scale[:, None], (bias - bn.running_mean) * scale + bn.bias
        return weight, bias

    def _group_logits(self, features: Tensor, groups: Tensor | None) -> Tensor:
        """``(B, 2**D - 1)`` logits of each item's own group's tree."""
        if groups is None or len(self.group_weight) == 1:
            groups = torch.zeros(features.shape[0], dtype=torch.long, device=features.device)
        u = features.new_empty(features.shape[0], self.group_weight.shape[1])
        for g in torch.unique(groups).tolist():
            mine = groups == g
            weight = self.group_weight[g].to(features.dtype)
            u[mine] = features[mine] @ weight.T + self.group_bias[g].to(features.dtype)
        return u

    def node_logits_at(self, features: Tensor, nodes: Tensor) -> Tensor:
        """``(B,)`` logit of node ``nodes[b]`` for item ``b``, eval-mode, before ``offsets``.

        Computes one node per item (``B x F`` work) instead of all ``2**D - 1``.
        """
        w, b = self.nodes.weight[nodes], self.nodes.bias[nodes]  # (B, F), (B,)
        u = (features * w).sum(dim=1) + b
        if isinstance(self.norm, nn.BatchNorm1d):
            bn = self.norm
            scale = bn.weight[nodes] / torch.sqrt(bn.running_var[nodes] + bn.eps)
            u = (u - bn.running_mean[nodes]) * scale + bn.bias[nodes]
        return u


@torch.no_grad()
def median_split_offsets(tree: DecisionTreeLayer, features: Tensor, groups: Tensor,
                         n_groups: int) -> Tensor:
    """Per-group offsets that split every group's items evenly at every node they reach.

    Top-down, level by level: the ``k`` items of group ``g`` that the greedy
    path (with the offsets found so far) brings to node ``i`` have node
    logits ``u_i``; ``offsets[g, i]`` is a median of them, the midpoint of
    the ``ceil(k/2)``-th smallest value and the next one, so that
    ``u_i - offsets[g, i] > 0`` sends ``floor(k/2)`` of them right. Items
    within ``1e-4 * (1 + |u|)`` of each other are never split apart (the
    nearest wider gap is taken instead), so no training item sits on a
    split, where the rounding of another evaluation (a different batch
    size) could flip its bit; a single item (or a cell of near-equal
    values) goes left. Nodes no item of ``g`` reaches keep offset 0.
    The directions (the tree's weights) are unchanged: only where each
    group's split sits along them moves, as in a median-split (k-d) tree.

    Parameters
    ----------
    tree : DecisionTreeLayer
        Evaluated in eval mode (running batch-norm statistics).
    features : Tensor of shape (n, F)
    groups : Tensor of shape (n,)
        Group index in ``[0, n_groups)`` of every item.
    n_groups : int

    Returns
    -------
    Tensor of shape (n_groups, 2**depth - 1), float32
    """
    n_nodes = 2**tree.depth - 1
    features = features.float()
    offsets = features.new_zeros(n_groups * n_nodes)
    node = torch.zeros(len(features), dtype=torch.long, device=features.device)
    groups = groups.long()
    for _ in range(tree.depth):
        u = tree.node_logits_at(features, node).float()           # (n,)
        cell = groups * n_nodes + node                            # (n,) (group, node)
        # sort by cell, then by value inside each cell
        by_value = torch.argsort(u, stable=True)
        order = by_value[torch.argsort(cell[by_value], stable=True)]
        cells, counts = torch.unique_consecutive(cell[order], return_counts=True)
        start = torch.cumsum(counts, 0) - counts
        sorted_u = u[order]
        median = _split_points(sorted_u, cells, counts, start)
        offsets[cells] = median
        node = 2 * node + 1 + (u - offsets[cell] > 0).long()
    return offsets.reshape(n_groups, n_nodes)


@torch.no_grad()
def invariant_split_weights(features: Tensor, views: Tensor, groups: Tensor, n_groups: int,
                            depth: int, *, shrinkage: float = 0.1, n_iter: int = 30,
                            fallback: tuple[Tensor, Tensor] | None = None, min_items: int = 0
                            ) -> tuple[Tensor, Tensor]:
    """Per-group median-split trees whose directions spread items most per unit of view noise.

    For each group ``g`` the features are whitened by the group's *view
    covariance* ``C_g``: the covariance of the differences between an item's
    augmented views and the item itself (``views - features``), shrunk
    towards ``trace(C_g) / F`` by ``shrinkage``. Then, top-down, each node's
    direction is the first principal component of the whitened features of
    the group's items the tree brings there (power iteration, ``n_iter``
    steps from a deterministic start), the direction along which items
    differ most relative to how far one item's views move; its threshold
    is a median of the items' projections, as in
    :func:`median_split_offsets` (no two items within a relative ``1e-4``
    are split apart). The first principal component of ``C_g^{-1/2}``-whitened
    features solves ``max_w (w' S w) / (w' C_g w)``, ``S`` the node's
    covariance: the split with the largest spread per unit of view noise.

    Parameters
    ----------
    features : Tensor of shape (n, F)
        Features of the items themselves (what is hashed).
    views : Tensor of shape (n, V, F)
        Features of ``V >= 1`` augmented views of every item.
    groups : Tensor of shape (n,)
        Group index in ``[0, n_groups)`` (e.g. the predicted class).
    n_groups : int
    depth : int
        Levels of the tree (path bits).
    shrinkage : float in [0, 1], default=0.1
    n_iter : int, default=30
    fallback : (Tensor of shape (2**depth - 1, F), Tensor of shape (2**depth - 1,)) or None
        Shared node directions ``(weight, bias)`` (e.g. a trained tree's,
        batch norm folded in) for the cells of fewer than ``min_items``
        items, where a principal direction is mostly sampling noise; their
        thresholds are still the cell's median.
    min_items : int, default=0

    Returns
    -------
    weight : Tensor of shape (n_groups, 2**depth - 1, F), float32
    bias : Tensor of shape (n_groups, 2**depth - 1), float32
        ``u = f @ weight[g, i] + bias[g, i] > 0`` sends an item of group
        ``g`` right at node ``i``. Nodes no item of a group reaches keep zero
        weight and bias (every item goes left there).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> f = torch.randn(64, 3, generator=g)
    >>> views = f[:, None] + 0.1 * torch.randn(64, 4, 3, generator=g)
    >>> w, b = invariant_split_weights(f, views, torch.zeros(64, dtype=torch.long), 1, 2)
    >>> u = f @ w[0, 0] + b[0, 0]
    >>> int((u > 0).sum())          # the root halves the items
    32
    """
    n, width = features.shape
    n_nodes = 2**depth - 1
    f = features.double()
    groups = groups.long()
    whitened = torch.empty_like(f)
    whitening = torch.zeros(n_groups, width, width, dtype=f.dtype, device=f.device)
    for g in torch.unique(groups).tolist():
        mine = groups == g
        diff = (views[mine].double() - f[mine, None]).reshape(-1, width)
        cov = diff.T @ diff / max(len(diff), 1)
        scale = cov.trace() / width
        if not scale > 0:                      # views equal to the items: no noise to divide by
            cov, scale = torch.eye(width, dtype=f.dtype, device=f.device), 1.0
        cov = (1 - shrinkage) * cov + shrinkage * scale * torch.eye(width, dtype=f.dtype,
                                                                    device=f.device)
        vals, vecs = torch.linalg.eigh(cov)
        whitening[g] = vecs @ torch.diag(vals.rsqrt()) @ vecs.T
        whitened[mine] = f[mine] @ whitening[g]
    weight = features.new_zeros(n_groups * n_nodes, width, dtype=torch.float32)
    bias = features.new_zeros(n_groups * n_nodes, dtype=torch.float32)
    node = torch.zeros(n, dtype=torch.long, device=f.device)
    for _ in range(depth):
        cell = groups * n_nodes + node                                  # (n,) (group, node)
        cells, local = torch.unique(cell, return_inverse=True)
        counts = torch.bincount(local, minlength=len(cells)).to(f.dtype)
        mean = torch.zeros(len(cells), width, dtype=f.dtype, device=f.device).index_add_(
            0, local, whitened) / counts[:, None]
        centred = whitened - mean[local]                                # (n, F)
        # start: each cell's item farthest from its mean (ties: the first)
        norm = centred.square().sum(dim=1)
        far = torch.zeros(len(cells), dtype=f.dtype, device=f.device).scatter_reduce(
            0, local, norm, reduce="amax")
        first = torch.full((len(cells),), n, dtype=torch.long, device=f.device).scatter_reduce(
            0, local, torch.where(norm == far[local], torch.arange(n, device=f.device), n),
            reduce="amin")
        v = centred[first.clamp(max=n - 1)]
        for _ in range(n_iter):
            v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-300)
            proj = (centred * v[local]).sum(dim=1)
            v = torch.zeros_like(v).index_add_(0, local, proj[:, None] * centred)
        length = v.norm(dim=1, keepdim=True)
        v = torch.where(length > 0, v / length.clamp_min(1e-300), 0.0)
        v = v * torch.sign(v.gather(1, v.abs().argmax(dim=1, keepdim=True)))
        cell_group = cells // n_nodes
        w_raw = torch.einsum("cfk,ck->cf", whitening[cell_group], v).float()  # (cells, F)
        b_raw = torch.zeros(len(cells), dtype=torch.float32, device=f.device)
        if fallback is not None:
            small = counts < min_items
            w_raw[small] = fallback[0][cells[small] % n_nodes].float()
            b_raw[small] = fallback[1][cells[small] % n_nodes].float()
        u = (features.float() * w_raw[local]).sum(dim=1) + b_raw[local]  # as the layer computes
        by_value = torch.argsort(u, stable=True)
        order = by_value[torch.argsort(local[by_value], stable=True)]  # by cell, then value
        sizes = counts.long()
        split = _split_points(u[order], cells, sizes, torch.cumsum(sizes, 0) - sizes)
        weight[cells] = w_raw
        bias[cells] = b_raw - split
        node = 2 * node + 1 + (u - split[local] > 0).long()
    return weight.reshape(n_groups, n_nodes, width), bias.reshape(n_groups, n_nodes)


# Items this close to a split (relative to 1 + |logit|) could change sides
# between two float32 evaluations of the same logit (e.g. another batch size).
_SPLIT_MARGIN = 1e-4


def _split_points(values: Tensor, cells: Tensor, counts: Tensor, start: Tensor) -> Tensor:
    """``(n_cells,)`` split point of each cell's values (sorted within cells).

    A split "at position p" sends the cell's first ``p`` values left. Wanted:
    ``p = ceil(k/2)``; only gaps of at least ``2 * margin`` between
    consecutive values count, so no item lies within ``margin`` of the split
    (duplicate items go to the same side), and the valid gap nearest to
    ``ceil(k/2)`` is taken. The split point is the gap's midpoint; a cell
    without a valid gap sends everything left.
    """
    n = values.shape[0]
    cell_of = torch.repeat_interleave(torch.arange(len(counts), device=values.device), counts)
    pos = torch.arange(n, device=values.device)
    # gap before each position p (between values p-1 and p), valid inside a cell only
    prev = torch.cat([values[:1], values[:-1]])
    margin = _SPLIT_MARGIN * (1 + torch.maximum(values.abs(), prev.abs()))
    valid = (pos > start[cell_of]) & (values - prev >= 2 * margin)
    target = start + (counts + 1) // 2                            # (n_cells,) ceil(k/2) left
    far = torch.where(valid, (pos - target[cell_of]).abs(), n + 1)  # distance of valid gaps
    best = torch.full_like(counts, n + 1).scatter_reduce(0, cell_of, far, reduce="amin")
    # first position of each cell attaining its best distance (n when none)
    hit = (far == best[cell_of]) & valid
    chosen = torch.full_like(counts, n).scatter_reduce(
        0, cell_of, torch.where(hit, pos, n), reduce="amin")
    last = values[start + counts - 1]
    has_gap = chosen < n
    at = chosen.clamp(max=n - 1)
    split = (values[at] + values[(at - 1).clamp(min=0)]) / 2
    everything_left = last + _SPLIT_MARGIN * (1 + last.abs())
    return torch.where(has_gap, split, everything_left)
