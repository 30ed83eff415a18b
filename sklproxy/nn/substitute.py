"""Code substitution: remove a spurious signal carried by codes of a VQ latent.

Where the QE-walk (:mod:`sklproxy.nn.walk`) moves each latent towards the
simple classifier ``f``'s uncertainty, substitution swaps the *codes* that
carry the easy signal, consistently over the whole latent, for the
corresponding codes of another group. Four pure steps:

1. :func:`code_class_counts`: ``counts[k, c]``, how many latent positions hold
   code ``k`` in samples of class ``c`` (:func:`code_holders`: how many samples).
2. :func:`spurious_codes`: a code is *spurious* when the class of the samples
   that hold it is nearly determined, i.e. the entropy of ``p(c | k)`` (class
   frequencies equalised) is below ``threshold * log(n_classes)``, and most
   samples of that class hold it. A code that draws an object's stroke occurs
   in every class and stays; a background colour that occurs with one class
   only is spurious. Each spurious code belongs to the *group* of its most
   frequent class.
3. :func:`neighbour_signatures`: the *role* of a code, as the distribution of
   what its grid neighbours are: "a spurious code" or one particular
   non-spurious code. A background code is surrounded by spurious codes, an
   edge code half by the object's codes, whatever its colour; the role is
   what is matched across groups.
4. :func:`substitution_tables`: for each target group ``g``, a code-to-code
   table: every spurious code goes to the code of group ``g`` (or a
   non-spurious code) with the nearest role (L1 distance of signatures);
   non-spurious codes are kept. :func:`substitute` applies a table per sample.

Mapping each sample to a random group makes the signal independent of the
class (a random end point, drawn anew each time).

A signal can also sit in *where* a shared code is rather than in which code
it is (the one-pixel problem: a white pixel, the same code as the digit's
strokes, at column ``k`` of the first row for class ``k``).
:func:`position_markers` finds such *markers*: (position, code) pairs present
in nearly every sample of one class (``coverage``) and nearly never in the
others. :func:`substitute` then erases a sample's markers (the position gets
its most common non-marker code) and writes the target group's markers.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "code_class_counts",
    "code_holders",
    "neighbour_signatures",
    "position_markers",
    "spurious_codes",
    "substitute",
    "substitution_tables",
]


def code_class_counts(codes: Tensor, classes: Tensor, n_codes: int, n_classes: int) -> Tensor:
    """``counts[k, c]``: positions holding code ``k`` in samples of class ``c``.

    Parameters
    ----------
    codes : LongTensor of shape (N, *S)
        Code index per latent position.
    classes : LongTensor of shape (N,)
        Class per sample (e.g. ``f``'s prediction).

    Returns
    -------
    counts : Tensor of shape (n_codes, n_classes), float64
    """
    flat = codes.reshape(len(codes), -1)                                 # (N, P)
    cls = classes.reshape(-1, 1).expand_as(flat)                         # (N, P)
    index = (flat * n_classes + cls).flatten()
    counts = torch.bincount(index.cpu(), minlength=n_codes * n_classes)
    return counts.view(n_codes, n_classes).double()


def code_holders(codes: Tensor, classes: Tensor, n_codes: int, n_classes: int) -> Tensor:
    """``holders[k, c]``: how many samples of class ``c`` hold code ``k`` somewhere.

    codes : (N, *S) long; classes : (N,) long. Returns (n_codes, n_classes), float64.
    """
    flat = codes.reshape(len(codes), -1).cpu()
    holds = torch.zeros(len(codes), n_codes, dtype=torch.float64)
    holds.scatter_(1, flat, 1.0)                                             # (N, K) 0/1
    one_hot = torch.nn.functional.one_hot(classes.cpu(), n_classes).double()  # (N, C)
    return holds.T @ one_hot


def spurious_codes(counts: Tensor, class_sizes: Tensor, threshold: float = 0.7,
                   holders: Tensor | None = None,
                   coverage: float = 0.5) -> tuple[Tensor, Tensor, Tensor]:
    """Which codes tell the class, their group and their normalised class entropy.

    ``p(c | k)`` is computed from ``counts[k, c] / class_sizes[c]`` (so a large
    class does not look informative), normalised over ``c``; its entropy is
    divided by ``log(n_classes)``. A code is spurious when that entropy is
    below ``threshold`` and (given ``holders``) at least ``coverage`` of the
    samples of its class hold it: a colour is in every image of its class,
    a rare stroke shape that happens to occur in one class only is not.

    Parameters
    ----------
    counts : Tensor of shape (n_codes, n_classes)
    class_sizes : Tensor of shape (n_classes,)
        Samples per class (classes with none are ignored).
    threshold : float in (0, 1]
        Normalised entropy below which a code is spurious.
    holders : Tensor of shape (n_codes, n_classes) or None
        :func:`code_holders`; None skips the coverage condition.
    coverage : float in [0, 1]

    Returns
    -------
    spurious : BoolTensor of shape (n_codes,)
    group : LongTensor of shape (n_codes,)
        The most frequent class of each code (meaningful for spurious codes).
    entropy : Tensor of shape (n_codes,)
        Normalised entropy in [0, 1] (1 for unused codes).
    """
    counts = counts.double()
    present = class_sizes > 0
    n_present = int(present.sum())
    rate = counts[:, present] / class_sizes[present].double()            # (K, C')
    entropy = _entropy_rows(rate)
    group = torch.arange(counts.shape[1])[present][rate.argmax(dim=1)]
    spurious = (entropy < threshold) & (counts.sum(dim=1) > 0) & (n_present >= 2)
    if holders is not None:
        held = holders.double().gather(1, group.view(-1, 1)).squeeze(1)    # (K,)
        spurious &= held >= coverage * class_sizes.double()[group]
    return spurious, group, entropy.float()


def _neighbour_pairs(codes: Tensor) -> tuple[Tensor, Tensor]:
    """``(centre, neighbour)`` code pairs of every grid neighbour relation.

    2-D grids ``(N, H, W)``: the 8-neighbourhood; 1-D ``(N, L)``: left and right.
    """
    if codes.ndim == 3:
        shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
        _, H, W = codes.shape
        centres, neighbours = [], []
        for dy, dx in shifts:
            ys = slice(max(dy, 0), H + min(dy, 0))
            xs = slice(max(dx, 0), W + min(dx, 0))
            yn = slice(max(-dy, 0), H + min(-dy, 0))
            xn = slice(max(-dx, 0), W + min(-dx, 0))
            centres.append(codes[:, ys, xs].flatten())
            neighbours.append(codes[:, yn, xn].flatten())
        return torch.cat(centres), torch.cat(neighbours)
    if codes.ndim == 2:
        return (torch.cat([codes[:, 1:].flatten(), codes[:, :-1].flatten()]),
                torch.cat([codes[:, :-1].flatten(), codes[:, 1:].flatten()]))
    raise ValueError(f"codes must be (N, L) or (N, H, W); got shape {tuple(codes.shape)}.")


def neighbour_signatures(codes: Tensor, spurious: Tensor) -> Tensor:
    """Role of each code: the distribution of the types of its grid neighbours.

    Type 0 is "a spurious code", type ``1 + j`` is non-spurious code ``j``.

    Parameters
    ----------
    codes : LongTensor of shape (N, H, W) or (N, L)
    spurious : BoolTensor of shape (n_codes,)

    Returns
    -------
    signatures : Tensor of shape (n_codes, 1 + n_codes), rows sum to 1 (0 for
        codes that never occur next to anything).
    """
    n_codes = len(spurious)
    spurious = spurious.to(codes.device)
    centre, neighbour = _neighbour_pairs(codes)
    kind = torch.where(spurious[neighbour], torch.zeros_like(neighbour), neighbour + 1)
    index = (centre * (n_codes + 1) + kind).cpu()
    hist = torch.bincount(index, minlength=n_codes * (n_codes + 1)).view(n_codes, n_codes + 1)
    hist = hist.double()
    return (hist / hist.sum(dim=1, keepdim=True).clamp_min(1.0)).float()


def substitution_tables(spurious: Tensor, group: Tensor, signatures: Tensor) -> tuple[Tensor, Tensor]:
    """One code-to-code table per group that owns spurious codes.

    Returns
    -------
    tables : LongTensor of shape (n_groups, n_codes)
        ``tables[g, k]``: the code that replaces ``k`` when a sample is moved to
        group ``groups[g]``. Non-spurious codes map to themselves; a spurious
        code maps to the candidate (the spurious codes of the group, or any
        non-spurious code) whose signature is nearest in L1 distance, ties to
        the lowest index. Every table maps a group's own codes to themselves.
    groups : LongTensor of shape (n_groups,)
        The class behind each table, in increasing order.
    """
    n_codes = len(spurious)
    spurious = spurious.cpu()
    group = group.cpu()
    signatures = signatures.cpu()
    groups = torch.unique(group[spurious])
    dist = torch.cdist(signatures.double(), signatures.double(), p=1)     # (K, K)
    identity = torch.arange(n_codes)
    tables = identity.repeat(len(groups), 1)
    for i, g in enumerate(groups.tolist()):
        candidate = (~spurious) | (group == g)                             # (K,)
        d = dist.masked_fill(~candidate.view(1, -1), float("inf"))
        own = spurious & (group == g)
        d[own] = float("inf")
        d[own, identity[own]] = 0.0                                        # own codes stay
        tables[i] = torch.where(spurious, d.argmin(dim=1), identity)
    return tables, groups


def _entropy_rows(rate: Tensor) -> Tensor:
    """Normalised entropy of each row of non-negative ``rate`` ``(..., C)`` (1 for empty rows)."""
    total = rate.sum(dim=-1, keepdim=True)
    p = torch.where(total > 0, rate / total.clamp_min(1e-300), torch.zeros_like(rate))
    plogp = torch.where(p > 0, p * p.clamp_min(1e-300).log(), torch.zeros_like(p))
    ent = -plogp.sum(dim=-1) / math.log(max(rate.shape[-1], 2))
    return torch.where(total.squeeze(-1) > 0, ent, torch.ones_like(ent))


def position_markers(codes: Tensor, classes: Tensor, n_codes: int, n_classes: int,
                     spurious: Tensor, *, coverage: float = 0.9, threshold: float = 0.2,
                     chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """(position, code) pairs that mark one class, and the code to erase them with.

    A pair ``(p, k)`` (``k`` not spurious) marks class ``c`` when at least
    ``coverage`` of the samples of class ``c`` hold code ``k`` at ``p`` and the
    normalised entropy of the class over the samples holding it is below
    ``threshold``: the one-pixel code, not a stroke that a class draws often.

    Parameters
    ----------
    codes : LongTensor of shape (N, *S)
    classes : LongTensor of shape (N,)
    spurious : BoolTensor of shape (n_codes,)
        Codes already handled by the substitution tables.

    Returns
    -------
    markers : LongTensor of shape (P, n_codes)
        The class each pair marks, -1 for none (``P = prod(S)``).
    fill : LongTensor of shape (P,)
        Per position, the most frequent code that marks nothing there.
    """
    n, P = len(codes), int(codes[0].numel()) if len(codes) else 0
    flat = codes.reshape(n, P).cpu()
    cls = classes.cpu()
    counts = torch.zeros(P * n_codes * n_classes, dtype=torch.float64)
    pos = torch.arange(P).view(1, P)
    for start in range(0, n, chunk):  # (p, k, c) counts, a chunk of samples at a time
        block = flat[start:start + chunk]
        index = (pos * n_codes + block) * n_classes + cls[start:start + chunk].view(-1, 1)
        counts += torch.bincount(index.flatten(), minlength=counts.numel()).double()
    counts = counts.view(P, n_codes, n_classes)
    sizes = torch.bincount(cls, minlength=n_classes).double()
    rate = counts / sizes.clamp_min(1.0)                                   # (P, K, C) share of class c
    best, owner = rate.max(dim=-1)                                         # (P, K)
    markers = torch.where((best >= coverage) & (_entropy_rows(rate) < threshold)
                          & ~spurious.cpu().view(1, -1) & (sizes[owner] > 0), owner,
                          torch.full_like(owner, -1))
    per_code = counts.sum(dim=-1).masked_fill(markers >= 0, -1.0)         # (P, K)
    return markers, per_code.argmax(dim=1)


def substitute(codes: Tensor, tables: Tensor, targets: Tensor, markers: Tensor | None = None,
               fill: Tensor | None = None, groups: Tensor | None = None) -> Tensor:
    """Apply table ``targets[i]`` to sample ``i``: ``out[i] = tables[targets[i]][codes[i]]``.

    With ``markers`` (and ``fill``, ``groups``: see :func:`position_markers`
    and :func:`substitution_tables`), each sample's markers are erased and
    the markers of class ``groups[targets[i]]`` written in.

    codes : (N, *S) long; tables : (G, K) long; targets : (N,) long in [0, G).
    """
    device = codes.device
    targets = targets.to(device)
    rows = tables.to(device)[targets]                                      # (N, K)
    flat = torch.gather(rows, 1, codes.reshape(len(codes), -1))            # (N, P)
    if markers is not None:
        markers = markers.to(device)
        P, K = markers.shape
        marked = markers.view(-1)[torch.arange(P, device=device) * K + flat] >= 0   # (N, P)
        flat = torch.where(marked, fill.to(device).view(1, P), flat)
        # write the target class's markers: (P, K) -> for each sample its (P,) code or -1
        target_class = groups.to(device)[targets].view(-1, 1, 1)           # (N, 1, 1)
        hit = markers.view(1, P, K) == target_class                        # (N, P, K)
        has = hit.any(dim=2)
        flat = torch.where(has, hit.int().argmax(dim=2), flat)
    return flat.view_as(codes)
