"""Hash-quality metrics for binary codes: entropy, unique codes, collisions, retention,
and the spread report against the random reference.

Codes are 0/1 arrays of shape ``(n, n_bits)`` (bool or any integer dtype),
column 0 the most significant bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import binom

from ..neighbors._codes import (
    check_codes,
    codes_to_words,
)

__all__ = [
    "HashSpread",
    "SpreadFigures",
    "hash_entropy",
    "hash_retention",
    "hash_spread",
    "mean_collisions",
    "unique_code_ratio",
]

# ---------------------------------------------------------------------------
# Hash quality
# ---------------------------------------------------------------------------


def _code_counts(codes: ArrayLike, name: str = "codes") -> tuple[NDArray[np.intp], int]:
    """Multiplicity of each distinct code, and the number of codes."""
    words = codes_to_words(check_codes(codes, name=name))
    if words.shape[1] == 1:
        _, counts = np.unique(words[:, 0], return_counts=True)
    else:
        _, counts = np.unique(words, axis=0, return_counts=True)
    return counts, words.shape[0]


def hash_entropy(codes: ArrayLike) -> float:
    """Shannon entropy, in bits, of the histogram of distinct codes.

    ``H = -sum_c p_c log2 p_c`` with ``p_c`` the fraction of items whose code
    is ``c``. At most ``min(n_bits, log2(n_samples))``; 0 when all codes are
    equal. Invariant to the order of the items.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_bits)

    Returns
    -------
    float

    Examples
    --------
    >>> hash_entropy([[0, 0], [0, 1], [1, 0], [1, 1]])
    2.0
    >>> hash_entropy([[1, 0], [1, 0]])
    0.0
    """
    counts, n = _code_counts(codes)
    p = counts / n
    return float(max(0.0, -(p * np.log2(p)).sum()))


def unique_code_ratio(codes: ArrayLike) -> float:
    """Number of distinct codes divided by the number of items, in ``(0, 1]``.

    A fraction, not a percentage (benchmarks report ``100 *`` this).

    Examples
    --------
    >>> unique_code_ratio([[0, 1], [0, 1], [1, 1], [0, 0]])
    0.75
    """
    counts, n = _code_counts(codes)
    return float(counts.size / n)


def mean_collisions(codes: ArrayLike) -> float:
    """Mean, over items, of how many *other* items share the item's code.

    Equals ``sum_c n_c (n_c - 1) / n`` over distinct codes ``c`` with
    ``n_c`` items each; 0 when every code is unique.

    Examples
    --------
    >>> mean_collisions([[0, 1], [0, 1], [1, 1], [0, 0]])
    0.5
    """
    counts, n = _code_counts(codes)
    c = counts.astype(np.float64)
    return float((c * (c - 1)).sum() / n)


def hash_retention(
    codes_clean: ArrayLike,
    codes_perturbed: ArrayLike,
    prefix_lengths: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Fraction of items whose code prefix survives a perturbation.

    For each prefix length ``t``, the fraction of items ``i`` whose first
    ``t`` bits are identical in ``codes_clean[i]`` and ``codes_perturbed[i]``
    (row ``i`` of both arrays is the same item). Non-increasing in ``t``.

    Parameters
    ----------
    codes_clean : array-like of shape (n_samples, n_bits)
    codes_perturbed : array-like of shape (n_samples, n_bits)
    prefix_lengths : array-like of int or None, default=None
        Prefix lengths in ``[1, n_bits]``; ``None`` means ``1, ..., n_bits``.

    Returns
    -------
    ndarray of shape (len(prefix_lengths),), float64
        Fractions in ``[0, 1]`` (multiply by 100 for %).

    Examples
    --------
    >>> clean = [[0, 1, 1], [1, 0, 0]]
    >>> noisy = [[0, 1, 0], [0, 0, 0]]
    >>> hash_retention(clean, noisy).tolist()
    [0.5, 0.5, 0.0]
    """
    a = check_codes(codes_clean, name="codes_clean")
    b = check_codes(codes_perturbed, name="codes_perturbed")
    if a.shape != b.shape:
        raise ValueError(
            f"codes_clean has shape {a.shape} but codes_perturbed has shape "
            f"{b.shape}; pass the codes of the same items before and after "
            f"the perturbation, row for row."
        )
    n_bits = a.shape[1]
    if prefix_lengths is None:
        t = np.arange(1, n_bits + 1)
    else:
        t = np.asarray(prefix_lengths)
        if t.ndim != 1 or t.size == 0 or t.dtype.kind not in "iu":
            raise ValueError(
                f"prefix_lengths must be a non-empty 1-D sequence of ints; "
                f"got {prefix_lengths!r}."
            )
        if t.min() < 1 or t.max() > n_bits:
            raise ValueError(
                f"prefix_lengths must lie in [1, n_bits={n_bits}]; got values "
                f"from {t.min()} to {t.max()}."
            )
    diff = a != b  # (n, n_bits)
    # first differing bit of each item (n_bits when none differ)
    first = np.where(diff.any(axis=1), np.argmax(diff, axis=1), n_bits)
    return (first[None, :] >= t[:, None]).mean(axis=1)


# ---------------------------------------------------------------------------
# Spread report: how far codes are from the random reference
# ---------------------------------------------------------------------------

# Beyond this many path bits the random reference no longer depends on the
# depth: ``n**2 * 2**-200`` is far below float64 resolution for any ``n``.
_MAX_REFERENCE_DEPTH = 200


@dataclass(frozen=True)
class SpreadFigures:
    """Spread figures of one set of codes (or their random-reference expectation).

    Attributes
    ----------
    entropy : float
        Entropy of the whole codes, bits (:func:`hash_entropy`).
    unique_ratio : float
        Distinct codes / items (:func:`unique_code_ratio`), a fraction.
    mean_collisions : float
        Mean number of other items sharing an item's code (:func:`mean_collisions`).
    level_bits : ndarray of shape (n_path_bits,)
        Bits gained at each tree level within a group:
        ``H(first l path bits | group) - H(first l-1 path bits | group)``,
        group-size weighted. At most 1; a level that splits every group's
        items evenly gains 1 bit until the groups run out of items.
    group_bits : ndarray of shape (n_groups,)
        Entropy of the path bits within each group, bits.
    """

    entropy: float
    unique_ratio: float
    mean_collisions: float
    level_bits: NDArray[np.float64]
    group_bits: NDArray[np.float64]

    @property
    def path_bits(self) -> float:
        """``H(path bits | group)``: the spread within groups, group-size weighted (sum of ``level_bits``)."""
        return float(self.level_bits.sum())


@dataclass(frozen=True)
class HashSpread:
    """The spread of hash codes beside the random reference; see :func:`hash_spread`.

    Attributes
    ----------
    codes : SpreadFigures
        Figures of the given codes.
    reference : SpreadFigures
        Expected figures of the random reference: every item of a group
        placed in a uniformly random leaf of the same depth (with its group
        as class bits when the codes have class bits). Exact expectations,
        no sampling.
    groups : ndarray of shape (n_groups,)
        Group labels in the order of ``group_bits`` (the labels given, or the
        distinct class-bit prefixes read as integers).
    group_sizes : ndarray of shape (n_groups,)
    n_class_bits, n_path_bits : int
    """

    codes: SpreadFigures
    reference: SpreadFigures
    groups: NDArray = field(repr=False)
    group_sizes: NDArray[np.intp] = field(repr=False)
    n_class_bits: int = 0
    n_path_bits: int = 0

    @property
    def entropy_gap(self) -> float:
        """``reference.entropy - codes.entropy``, bits (0 at the reference; may be negative)."""
        return self.reference.entropy - self.codes.entropy

    def as_dict(self) -> dict:
        """Plain floats and lists (JSON-ready): the codes' figures, ``reference_*`` beside them."""
        out: dict = {"n_samples": int(self.group_sizes.sum()), "n_class_bits": self.n_class_bits,
                     "n_path_bits": self.n_path_bits, "n_groups": int(len(self.groups))}
        for prefix, figs in (("", self.codes), ("reference_", self.reference)):
            out.update({
                f"{prefix}entropy_bits": figs.entropy,
                f"{prefix}unique_percent": 100 * figs.unique_ratio,
                f"{prefix}mean_collisions": figs.mean_collisions,
                f"{prefix}path_bits_per_group": figs.path_bits,
                f"{prefix}level_bits": figs.level_bits.tolist(),
                f"{prefix}group_bits": figs.group_bits.tolist(),
            })
        out["entropy_gap_bits"] = self.entropy_gap
        return out

    def __str__(self) -> str:
        c, r = self.codes, self.reference
        lines = [
            f"spread of {int(self.group_sizes.sum())} codes "
            f"({self.n_class_bits} class bits + {self.n_path_bits} path bits, "
            f"{len(self.groups)} group{'s' if len(self.groups) != 1 else ''})",
            f"{'':<26}{'codes':>9}{'random ref':>12}",
            f"{'entropy (bits)':<26}{c.entropy:>9.2f}{r.entropy:>12.2f}",
            f"{'unique codes (%)':<26}{100 * c.unique_ratio:>9.1f}{100 * r.unique_ratio:>12.1f}",
            f"{'mean collisions':<26}{c.mean_collisions:>9.2f}{r.mean_collisions:>12.2f}",
            f"{'path bits within a group':<26}{c.path_bits:>9.2f}{r.path_bits:>12.2f}",
        ]
        if self.n_path_bits:
            lines.append("bits per tree level (root first), codes / reference:")
            lines.append("  " + " ".join(f"{v:.2f}" for v in c.level_bits))
            lines.append("  " + " ".join(f"{v:.2f}" for v in r.level_bits))
        return "\n".join(lines)


def _entropy_of_counts(counts: NDArray[np.intp]) -> float:
    p = counts / counts.sum()
    return float(max(0.0, -(p * np.log2(p)).sum()))


def _prefix_entropy(path: NDArray[np.uint8], inverse: NDArray[np.intp], n_groups: int,
                    length: int) -> NDArray[np.float64]:
    """``(n_groups,)`` entropy of the first ``length`` path bits within each group."""
    if length == 0:
        return np.zeros(n_groups)
    words = codes_to_words(np.ascontiguousarray(path[:, :length]))   # (n, W) left aligned
    if length + int(n_groups - 1).bit_length() <= 64:  # one integer key per item: (group, prefix)
        keys = (inverse.astype(np.uint64) << np.uint64(length % 64)) | (
            words[:, 0] >> np.uint64(64 - length))
    else:
        keys = np.concatenate([inverse[:, None].astype(np.uint64), words], axis=1)
    _, code_of, counts = np.unique(keys, axis=0 if keys.ndim == 2 else None,
                                   return_inverse=True, return_counts=True)
    code_group = np.empty(len(counts), dtype=np.intp)
    code_group[code_of.ravel()] = inverse
    out = np.zeros(n_groups)
    for g in range(n_groups):
        out[g] = _entropy_of_counts(counts[code_group == g])
    return out


def _expected_entropy(n: int, depth: int) -> float:
    """E[entropy] of the histogram of ``n`` items dropped into ``2**depth`` equal bins.

    Each bin's count is Binomial(n, 2**-depth), so
    ``E[H] = -2**depth * sum_k P(X=k) (k/n) log2(k/n)``.
    """
    if n <= 1 or depth == 0:
        return 0.0
    depth = min(depth, _MAX_REFERENCE_DEPTH)
    k = np.arange(1, n + 1)
    pmf = binom.pmf(k, n, 2.0**-depth)
    return float(-(2.0**depth) * (pmf * (k / n) * np.log2(k / n)).sum())


def _expected_distinct(n: int, depth: int) -> float:
    """E[number of occupied bins] for ``n`` items in ``2**depth`` equal bins."""
    depth = min(depth, _MAX_REFERENCE_DEPTH)
    bins = 2.0**depth
    return float(-bins * math.expm1(n * math.log1p(-1.0 / bins))) if depth else float(n > 0)


def _reference_figures(sizes: NDArray[np.intp], depth: int, shared_space: bool) -> SpreadFigures:
    """Expected spread when each group's items fall in uniformly random leaves of depth ``depth``.

    ``shared_space``: the codes have no class bits, so all groups share one
    space of ``2**depth`` codes (entropy, unique share and collisions are
    then those of all items together); otherwise each group has its own.
    """
    n = int(sizes.sum())
    weights = sizes / n
    group_bits = np.array([_expected_entropy(int(s), depth) for s in sizes])
    prefix = np.array([[_expected_entropy(int(s), length) for s in sizes]
                       for length in range(depth + 1)])            # (depth + 1, n_groups)
    level_bits = np.diff(prefix @ weights)
    eff = min(depth, _MAX_REFERENCE_DEPTH)
    if shared_space:
        entropy = _expected_entropy(n, depth)
        distinct = _expected_distinct(n, depth)
        collisions = (n - 1) * 2.0**-eff
    else:
        entropy = _entropy_of_counts(sizes) + float(weights @ group_bits)
        distinct = sum(_expected_distinct(int(s), depth) for s in sizes)
        collisions = float((sizes * (sizes - 1)).sum()) * 2.0**-eff / n
    return SpreadFigures(entropy, distinct / n, collisions, level_bits, group_bits)


def hash_spread(codes: ArrayLike, labels: ArrayLike | None = None, *,
                n_class_bits: int = 0) -> HashSpread:
    """How far hash codes spread, beside the random reference for the same groups and depth.

    The codes are ``n_class_bits`` class bits followed by path bits (a
    hasher's ``n_class_bits_``; 0 for codes without class bits). Items are
    grouped by ``labels`` when given (single-label: one group per label;
    multi-label indicator rows: one group per distinct label set), else by
    their class bits (one group when there are none). Reported, for the codes
    and for the *random reference*, in which every item of a group falls in
    a uniformly random leaf of the same depth (with its group's own class
    bits when the codes have class bits; the reference's figures are exact
    expectations, not a sample):

    * entropy of the whole codes (bits), unique share, mean collisions;
    * bits gained at each tree level within a group (``level_bits``), whose
      sum is the path entropy within a group;
    * the path entropy of each group (``group_bits``).

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_bits)
        0/1 codes.
    labels : array-like of shape (n_samples,) or (n_samples, n_labels), default=None
        Groups for the per-group figures and the reference: class labels
        (any hashable values) or a 0/1 indicator matrix. None groups by the
        class bits.
    n_class_bits : int, default=0
        How many leading bits are class bits; the rest are path bits.

    Returns
    -------
    HashSpread
        ``codes`` and ``reference`` figures (:class:`SpreadFigures`),
        ``entropy_gap``, ``as_dict()``; ``print`` shows a small table.

    See Also
    --------
    hash_entropy, unique_code_ratio, mean_collisions : the figures alone.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.repeat([0, 1], 4)
    >>> class_bits = labels[:, None]
    >>> path = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 2)   # every leaf once per class
    >>> report = hash_spread(np.hstack([class_bits, path]), labels, n_class_bits=1)
    >>> report.codes.entropy, report.codes.level_bits.tolist()
    (3.0, [1.0, 1.0])
    >>> round(report.reference.entropy, 2)    # random leaves collide: below 3 bits
    2.32
    """
    c = check_codes(codes, name="codes")
    n, n_bits = c.shape
    if (not isinstance(n_class_bits, (int, np.integer)) or isinstance(n_class_bits, bool)
            or not 0 <= n_class_bits <= n_bits):
        raise ValueError(
            f"n_class_bits={n_class_bits!r} is invalid for codes of {n_bits} bits; use an "
            f"int from 0 to {n_bits} (a hasher's n_class_bits_)."
        )
    if labels is None:
        key = codes_to_words(c[:, :n_class_bits]) if n_class_bits else np.zeros((n, 1), np.uint64)
        groups, inverse = np.unique(key, axis=0, return_inverse=True)
        groups = groups[:, 0] >> np.uint64(64 - n_class_bits) if n_class_bits else groups[:, 0]
    else:
        lab = np.asarray(labels)
        if lab.ndim not in (1, 2) or lab.shape[0] != n:
            raise ValueError(
                f"labels must have one entry (or indicator row) per code: {n} rows; got shape "
                f"{lab.shape}. Pass labels=None to group by the class bits."
            )
        if lab.ndim == 2:
            groups, inverse = np.unique(check_codes(lab, name="labels"), axis=0, return_inverse=True)
        else:
            groups, inverse = np.unique(lab, return_inverse=True)
    inverse = inverse.ravel().astype(np.intp)
    sizes = np.bincount(inverse, minlength=len(groups))
    depth = n_bits - n_class_bits
    path = c[:, n_class_bits:]
    weights = sizes / n
    prefix = np.array([_prefix_entropy(path, inverse, len(groups), length)
                       for length in range(depth + 1)])           # (depth + 1, n_groups)
    figures = SpreadFigures(hash_entropy(c), unique_code_ratio(c), mean_collisions(c),
                            np.diff(prefix @ weights), prefix[-1])
    reference = _reference_figures(sizes, depth, shared_space=n_class_bits == 0)
    return HashSpread(figures, reference, groups, sizes, int(n_class_bits), depth)
