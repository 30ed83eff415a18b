"""IIC mutual information between soft cluster assignments, and the DHOG objective.

All functions take probabilities (rows sum to 1), compute in float32 whatever
the input dtype (the logs must not run in bf16), and never return NaN/inf:
probabilities are clamped *out of place* before every log (an in-place write
on an expanded tensor fails on current PyTorch and would also corrupt the
autograd graph).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "conditional_pull_mutual_information",
    "cross_head_mutual_information",
    "dhog_objective",
    "joint_distribution",
    "mutual_information",
    "pull_mutual_information",
    "push_mutual_information",
]

#: Floor applied (out of place) to probabilities before taking logs.
EPS = 1e-8


def joint_distribution(p_a: Tensor, p_b: Tensor, *, symmetric: bool = False) -> Tensor:
    """The batch estimate of the joint of two cluster variables.

    ``P = mean_n p_a[n] p_b[n]^T``, shape ``(C_a, C_b)``; with ``symmetric``
    (both from the same head, so ``C_a == C_b``) it is ``(P + P^T) / 2``.
    ``P`` is normalised to sum to 1.
    """
    if p_a.ndim != 2 or p_b.ndim != 2 or p_a.shape[0] != p_b.shape[0]:
        raise ValueError(
            "p_a and p_b must be (batch, clusters) probabilities with the same batch "
            f"size; got shapes {tuple(p_a.shape)} and {tuple(p_b.shape)}."
        )
    if symmetric and p_a.shape[1] != p_b.shape[1]:
        raise ValueError(
            f"symmetric=True needs the same number of clusters on both sides; got "
            f"{p_a.shape[1]} and {p_b.shape[1]}. Use symmetric=False for two heads."
        )
    p_a, p_b = p_a.float(), p_b.float()
    joint = p_a.T @ p_b / p_a.shape[0]                                   # (C_a, C_b)
    if symmetric:
        joint = (joint + joint.T) / 2
    return joint / joint.sum().clamp_min(EPS)


def mutual_information(p_a: Tensor, p_b: Tensor, *, symmetric: bool = False) -> Tensor:
    """IIC's mutual information (nats) between two soft assignments of one batch.

    ``MI = sum_ij P_ij (log P_ij - log P_i - log P_j)`` with ``P`` from
    :func:`joint_distribution`. ``P``, ``P_i`` and ``P_j`` are clamped to at
    least :data:`EPS` (out of place) inside the logs, so empty cells add
    exactly 0 and the gradient stays finite. Rectangular joints (heads with
    different cluster counts) are allowed when ``symmetric`` is False.

    Parameters
    ----------
    p_a : Tensor of shape (B, C_a)
    p_b : Tensor of shape (B, C_b)
    symmetric : bool, default=False
        Symmetrise the joint; use it when ``p_a`` and ``p_b`` come from the
        same head (two augmentations of the same images).

    Returns
    -------
    Tensor, scalar float32, in ``[0, log(min(C_a, C_b))]`` up to rounding.

    Examples
    --------
    >>> import torch
    >>> p = torch.eye(4)
    >>> round(float(mutual_information(p, p, symmetric=True) / torch.log(torch.tensor(4.0))), 4)
    1.0
    """
    joint = joint_distribution(p_a, p_b, symmetric=symmetric)          # (C_a, C_b)
    p_i = joint.sum(dim=1, keepdim=True)                                # (C_a, 1)
    p_j = joint.sum(dim=0, keepdim=True)                                # (1, C_b)
    log_ratio = (torch.log(joint.clamp_min(EPS)) - torch.log(p_i.clamp_min(EPS))
                 - torch.log(p_j.clamp_min(EPS)))
    return (joint * log_ratio).sum()


def cross_head_mutual_information(p_later: Tensor, p_earlier: Tensor) -> Tensor:
    """MI between a later head and an earlier head on the same view.

    The earlier head is detached: the gradient reaches only the later head's
    path (DHOG's gradient stopping), so earlier heads are never pushed by
    later ones.
    """
    return mutual_information(p_later, p_earlier.detach(), symmetric=False)


def _batched_mi(joint: Tensor) -> Tensor:
    """MI of a stack of joints ``(..., C_a, C_b)`` (each summing to 1), as :func:`mutual_information`."""
    p_i = joint.sum(dim=-1, keepdim=True)                               # (..., C_a, 1)
    p_j = joint.sum(dim=-2, keepdim=True)                               # (..., 1, C_b)
    log_ratio = (torch.log(joint.clamp_min(EPS)) - torch.log(p_i.clamp_min(EPS))
                 - torch.log(p_j.clamp_min(EPS)))
    return (joint * log_ratio).sum(dim=(-2, -1))


def _normalised(joint: Tensor) -> Tensor:
    return joint / joint.sum(dim=(-2, -1), keepdim=True).clamp_min(EPS)


def pull_mutual_information(probs: Tensor) -> Tensor:
    """Per head, IIC's MI between every pair of augmentation repeats, averaged over pairs.

    ``probs``: ``(R, B, H, C)``; returns ``(H,)``. Equal to averaging
    ``mutual_information(probs[r, :, h], probs[s, :, h], symmetric=True)``
    over ``r < s``, computed with one einsum.
    """
    n_repeats = probs.shape[0]
    r_idx, s_idx = torch.triu_indices(n_repeats, n_repeats, offset=1, device=probs.device)
    p = probs.float()
    joint = torch.einsum("pbhc,pbhd->phcd", p[r_idx], p[s_idx]) / p.shape[1]  # (pairs, H, C, C)
    joint = _normalised((joint + joint.transpose(-2, -1)) / 2)
    return _batched_mi(joint).mean(dim=0)


def push_mutual_information(probs: Tensor) -> Tensor:
    """Per head ``i``, the mean MI with its earlier heads on the same view, averaged over views.

    ``probs``: ``(R, B, H, C)``; returns ``(H,)`` with
    ``out[i] = mean_r (1/i) sum_{j<i} MI(probs[r, :, i], probs[r, :, j].detach())``
    and ``out[0] = 0``. The earlier heads are detached (gradient stopping).
    """
    n_repeats, batch, n_heads, _ = probs.shape
    p = probs.float()
    joint = torch.einsum("rbic,rbjd->rijcd", p, p.detach()) / batch     # (R, H, H, C, C)
    mi = _batched_mi(_normalised(joint)).mean(dim=0)                    # (H, H) [later, earlier]
    earlier = torch.tril(torch.ones(n_heads, n_heads, device=p.device), diagonal=-1)
    counts = earlier.sum(dim=1).clamp_min(1)
    return (mi * earlier).sum(dim=1) / counts


def conditional_pull_mutual_information(probs: Tensor) -> Tensor:
    """Per head ``i``, the MI between its views *given* an earlier head, averaged.

    ``probs``: ``(R, B, H, C)``; returns ``(H,)`` with, for ``i > 0``::

        out[i] = mean_{j<i} mean_{r<s} I(A; B | J)
        P(a, b, j) = (1/2B) sum_n [ z_i^r(n)_a z_i^s(n)_b z_j^r(n)_j
                                    + z_i^s(n)_a z_i^r(n)_b z_j^s(n)_j ]
        I(A; B | J) = sum P(a, b, j) log( P(a, b, j) P(j) / (P(a, j) P(b, j)) )

    (``z_i^r``: head ``i``'s probabilities for repeat ``r``; the earlier
    head ``j`` is detached and conditions the view it sees.) ``out[0]`` is
    head 0's plain pull (:func:`pull_mutual_information`). It is what two
    views agree on *beyond* what head ``j`` already tells: 0 for a copy of
    head ``j`` and, like the pull, 0 for a collapsed or random head, so no
    weighting of it makes a degenerate head pay. Cost ``O(R^2 H^2 C^3)``.
    """
    n_repeats, batch, n_heads, n_clusters = probs.shape
    p = probs.float()
    out = [pull_mutual_information(p[:, :, :1])[0]]
    r_idx, s_idx = torch.triu_indices(n_repeats, n_repeats, offset=1, device=p.device)
    for i in range(1, n_heads):
        a, b = p[r_idx, :, i], p[s_idx, :, i]                               # (pairs, B, C)
        ja, jb = p[r_idx, :, :i].detach(), p[s_idx, :, :i].detach()         # (pairs, B, i, C)
        # (pairs, C*C, B) @ (pairs, B, i*C): one batched matmul per ordering of the views
        ab = (a[..., :, None] * b[..., None, :]).flatten(2).transpose(1, 2)
        ba = (b[..., :, None] * a[..., None, :]).flatten(2).transpose(1, 2)
        joint = (ab @ ja.flatten(2) + ba @ jb.flatten(2)) / (2 * batch)  # (pairs, C*C, i*C)
        joint = joint.unflatten(1, (n_clusters, n_clusters)).unflatten(3, (i, n_clusters))
        joint = joint.permute(0, 3, 1, 2, 4)                                # (pairs, i, C, C, C)
        joint = joint / joint.sum(dim=(-3, -2, -1), keepdim=True).clamp_min(EPS)
        p_j = joint.sum(dim=(-3, -2), keepdim=True)                         # (pairs, i, 1, 1, C)
        p_aj = joint.sum(dim=-2, keepdim=True)                              # (pairs, i, C, 1, C)
        p_bj = joint.sum(dim=-3, keepdim=True)                              # (pairs, i, 1, C, C)
        log_ratio = (torch.log(joint.clamp_min(EPS)) + torch.log(p_j.clamp_min(EPS))
                     - torch.log(p_aj.clamp_min(EPS)) - torch.log(p_bj.clamp_min(EPS)))
        out.append((joint * log_ratio).sum(dim=(-3, -2, -1)).mean())
    return torch.stack(out)


#: What a later head is pushed away from (``dhog_objective(..., push=...)``).
PUSH_KINDS = ("mi", "conditional")


def dhog_objective(
    probs: Tensor | Sequence[Sequence[Tensor]],
    alpha: float,
    over_probs: Tensor | Sequence[Sequence[Tensor]] | None = None,
    push: str = "mi",
) -> tuple[Tensor, Tensor, Tensor]:
    """DHOG's objective (to maximise) from the heads' assignments of R views.

    Normalisation: both terms are *per-head means*, so ``alpha`` is the
    weight of a head's push relative to its own pull, whatever ``n_heads``::

        pull_i = mean_{r<s} MI(head_i(view r), head_i(view s))
        push_i = mean_r (1/i) sum_{j<i} MI(head_i(view r), head_j(view r).detach())
        pull = (1/H) sum_i pull_i        push = (1/H) sum_{i>0} push_i
        objective = pull - alpha * push = (1/H) sum_i (pull_i - alpha * push_i)

    (0-based ``i``; head 0 is never pushed.) The thesis's formula averages
    the pull over heads but sums the push, which makes each head's push
    ``H`` times stronger relative to its pull, growing with the number of
    heads: its ``alpha`` equals this ``alpha / H`` (the thesis's 0.05 with 8
    heads is ``alpha=0.4`` here).

    Parameters
    ----------
    probs : Tensor (R, B, H, C), or probs[r][i] of shape (B, C)
        Head ``i``'s probabilities for augmentation repeat ``r`` of the same
        ``B`` images; heads ordered shallow to deep.
    alpha : float
        Weight of the push term; 0 gives IIC on the same network.
    over_probs : Tensor (R, B, H, C_over), or over_probs[r][i], optional
        Overclustering heads: their mean pull is added to ``pull``; they
        take no part in the push term.
    push : {"mi", "conditional"}, default="mi"
        ``"mi"``: the thesis's push above. ``"conditional"``: ``push_i =
        pull_i - cpull_i``, the part of head ``i``'s agreement between views
        that its earlier heads already explain (``cpull_i``:
        :func:`conditional_pull_mutual_information`), so that ``pull_i -
        alpha * push_i = (1 - alpha) pull_i + alpha cpull_i``. A head that
        copies an earlier one keeps ``(1 - alpha) pull_i``, a collapsed one
        0: unlike ``"mi"``, no ``alpha`` in ``[0, 1]`` makes a degenerate
        head score more than a head with structure of its own.

    Returns
    -------
    objective, pull, push : scalar float32 tensors
    """
    probs = _stack(probs)
    n_repeats, _, n_heads, _ = probs.shape
    if n_repeats < 2:
        raise ValueError(f"DHOG needs at least 2 augmentation repeats; got {n_repeats}.")
    head_pull = pull_mutual_information(probs)                          # (H,)
    pull = head_pull.mean()
    if over_probs is not None:
        over_probs = _stack(over_probs)
        if over_probs.shape[-1] and over_probs.shape[2]:
            pull = pull + pull_mutual_information(over_probs).mean()
    if push not in PUSH_KINDS:
        raise ValueError(f"push must be one of {PUSH_KINDS}; got {push!r}.")
    if alpha != 0 and n_heads > 1 and push == "conditional":
        redundancy = head_pull - conditional_pull_mutual_information(probs)
        push_term = redundancy[1:].sum() / n_heads
    elif alpha != 0 and n_heads > 1:
        push_term = push_mutual_information(probs).sum() / n_heads
    else:
        push_term = probs.new_zeros((), dtype=torch.float32)
    return pull - alpha * push_term, pull, push_term


def _stack(probs: Tensor | Sequence[Sequence[Tensor]]) -> Tensor:
    """Nested ``probs[r][i]`` of shape ``(B, C)`` -> one ``(R, B, H, C)`` tensor."""
    if isinstance(probs, Tensor):
        if probs.ndim != 4:
            raise ValueError(f"probs must have shape (repeats, batch, heads, clusters); got "
                             f"{tuple(probs.shape)}.")
        return probs
    return torch.stack([torch.stack(list(per_head), dim=1) for per_head in probs])
