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
    z = F.normalize(torch.cat([z_a, z_b]).float(), dim=1)       # (2N, F)
    if groups is not None and z.device.type == "cpu":
        return _nt_xent_by_group(z, groups, temperature)
    return _nt_xent_masked(z, groups, temperature)


def _nt_xent_masked(z: Tensor, groups: Tensor | None, temperature: float) -> Tensor:
    """The loss from the full ``(2N, 2N)`` similarity, other groups masked out.

    ``z`` is the normalised ``(2N, F)`` stack of both views. No host
    synchronisation: the path for CUDA, and for ``groups=None``.
    """
    n = z.shape[0] // 2
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


def _nt_xent_by_group(z: Tensor, groups: Tensor, temperature: float) -> Tensor:
    """The grouped loss from one similarity block per group (the CPU path).

    Equal to the masked ``(2N, 2N)`` computation, at about ``1 / n_groups``
    of its cost; the loop needs the groups on the host, which is free on the
    CPU but would synchronise a GPU, so CUDA takes the masked path.
    """
    n = z.shape[0] // 2
    gid = torch.cat([groups, groups]).long()                    # (2N,)
    order = torch.argsort(gid, stable=True)                     # views sorted by group
    rank = torch.empty_like(order)
    rank[order] = torch.arange(2 * n)
    partner = rank[(order + n) % (2 * n)]                       # sorted position of each view's pair
    _, counts = torch.unique_consecutive(gid[order], return_counts=True)
    # one gather and one split: their backwards are one scatter and one
    # concatenation (indexing per group would write a full-size gradient each)
    blocks = torch.split(z[order], counts.tolist())
    means, start = [], 0
    for zg, size in zip(blocks, counts.tolist()):
        if size > 2:                                            # a group of one item has no negatives
            sim = zg @ zg.T / temperature                       # (2k, 2k)
            logits = sim.masked_fill(torch.eye(size, dtype=torch.bool), float("-inf"))
            pos = partner[start:start + size] - start
            per_anchor = torch.logsumexp(logits, dim=1) - sim[torch.arange(size), pos]
            means.append(per_anchor.mean())
        start += size
    if not means:
        return z.sum() * 0.0                                    # a zero that carries a graph
    return torch.stack(means).mean()
