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
    same = gid[:, None] == gid[None, :]                         # (2N, 2N)
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = sim.masked_fill(~same | self_mask, float("-inf"))
    anchor = torch.arange(2 * n, device=z.device)
    pos = (anchor + n) % (2 * n)                                # the other view of each item
    per_anchor = torch.logsumexp(logits, dim=1) - sim[anchor, pos]  # (2N,); 0 without negatives

    # mean within each group, then over the groups that have negatives:
    # sum_i w_i * l_i / sum_i w_i with w_i = [group size > 2] / group size, so
    # sum_i w_i counts those groups. No host synchronisation (no unique/any).
    size = same.sum(dim=1).float()                              # (2N,) views in the anchor's group
    weight = (size > 2).float() / size                          # (2N,)
    return (weight * per_anchor).sum() / weight.sum().clamp_min(1.0)
