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
    "cross_head_mutual_information",
    "dhog_objective",
    "joint_distribution",
    "mutual_information",
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


def dhog_objective(
    probs: Sequence[Sequence[Tensor]],
    alpha: float,
    over_probs: Sequence[Sequence[Tensor]] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """DHOG's objective (to maximise) from the heads' assignments of R views.

    Parameters
    ----------
    probs : probs[r][i] of shape (B, C)
        Head ``i``'s probabilities for augmentation repeat ``r`` of the same
        ``B`` images; heads ordered shallow to deep.
    alpha : float
        Weight of the push term; 0 gives IIC on the same network.
    over_probs : over_probs[r][i] of shape (B, C_over), optional
        Overclustering heads: they add their own pull term and take no part
        in the push term.

    Returns
    -------
    objective, pull, push : scalar float32 tensors
        ``pull = mean_i mean_{r<s} MI(head_i(view r), head_i(view s))``
        (plus the same for the overclustering heads when given);
        ``push = mean_r sum_{i>0} (1/i) sum_{j<i} MI(head_i(view r),
        head_j(view r).detach())`` with 0-based ``i`` (so each head is pushed
        from the *mean* MI with its ``i`` earlier heads);
        ``objective = pull - alpha * push``.
    """
    n_repeats, n_heads = len(probs), len(probs[0])
    if n_repeats < 2:
        raise ValueError(f"DHOG needs at least 2 augmentation repeats; got {n_repeats}.")
    pairs = [(r, s) for r in range(n_repeats) for s in range(r + 1, n_repeats)]

    def pull_of(ps: Sequence[Sequence[Tensor]]) -> Tensor:
        total = sum(mutual_information(ps[r][i], ps[s][i], symmetric=True)
                    for i in range(len(ps[0])) for r, s in pairs)
        return total / (len(ps[0]) * len(pairs))

    pull = pull_of(probs)
    if over_probs is not None and len(over_probs[0]):
        pull = pull + pull_of(over_probs)
    push = probs[0][0].new_zeros((), dtype=torch.float32)
    if alpha != 0 and n_heads > 1:
        for r in range(n_repeats):
            for i in range(1, n_heads):
                push = push + sum(cross_head_mutual_information(probs[r][i], probs[r][j])
                                  for j in range(i)) / i
        push = push / n_repeats
    return pull - alpha * push, pull, push
