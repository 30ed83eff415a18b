"""Loss functions: pure functions with shape comments."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["nt_xent"]


def nt_xent(
    z_a: Tensor, z_b: Tensor, temperature: float, groups: Tensor | None = None
) -> Tensor:
    """SimCLR's NT-Xent between two views, optionally restricted to groups.

    For each of the ``2N`` views, the positive is the other view of the same
    item and the negatives are all other views **of the same group** (all
    views when ``groups`` is None). The loss is symmetric over (a, b) and
    (b, a). Per-anchor losses are averaged within each group and the group
    means are averaged over groups. A group with a single item has no
    negatives and contributes nothing; if no group has two items the loss is
    a zero that still carries a graph.

    Parameters
    ----------
    z_a, z_b : Tensor of shape (N, F)
        The two views' vectors; cosine similarity is used.
    temperature : float
    groups : Tensor of shape (N,), optional
        Integer group id per item (e.g. the class).

    >>> import torch
    >>> z = torch.eye(4)
    >>> round(float(nt_xent(z, z, temperature=1.0)), 4)  # log(1 + 6/e)
    1.1654
    """
    n = z_a.shape[0]
    z = F.normalize(torch.cat([z_a, z_b]).float(), dim=1)       # (2N, F)
    sim = z @ z.T / temperature                                 # (2N, 2N)
    gid = torch.zeros(n, dtype=torch.long, device=z.device) if groups is None else groups.long()
    gid = torch.cat([gid, gid])                                 # (2N,)
    same = gid[:, None] == gid[None, :]
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = sim.masked_fill(~same | self_mask, float("-inf"))
    pos = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    per_anchor = torch.logsumexp(logits, dim=1) - sim[torch.arange(2 * n, device=z.device), pos]

    # group means, then the mean over groups that have negatives
    _, inverse, counts = torch.unique(gid, return_inverse=True, return_counts=True)
    sums = torch.zeros(len(counts), device=z.device).index_add(0, inverse, per_anchor)
    valid = counts > 2                                          # more than one item (2 views each)
    if not bool(valid.any()):
        return per_anchor.sum() * 0.0
    return (sums[valid] / counts[valid]).mean()
