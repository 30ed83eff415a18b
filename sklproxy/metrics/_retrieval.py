"""Retrieval metrics for binary codes: mAP@k in code order or Hamming order.

Codes are 0/1 arrays of shape ``(n, n_bits)`` (bool or any integer dtype),
column 0 the most significant bit; see :mod:`sklproxy.neighbors` for the two
rankings (``"code"``: XOR order, ``"hamming"``) and the index tie-break.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..neighbors._codes import (
    check_codes,
    check_ranking,
    check_same_bits,
    codes_to_words,
    default_batch_size,
    run_batches,
)
from ..neighbors._ranking import Ranker, topk_leave_one_out
from ._cluster import _check_finite_labels

__all__ = ["mean_average_precision", "self_retrieval_map"]

# ---------------------------------------------------------------------------
# Labels and relevance
# ---------------------------------------------------------------------------


class _Relevance:
    """Relevance of database items to queries, for one labelling.

    Single-label (1-D labels of any hashable type): same label. Multi-label
    (2-D 0/1 indicator matrices): at least one shared label.
    """

    def __init__(self, query_labels: ArrayLike, db_labels: ArrayLike, n_q: int, n_db: int):
        ql, dl = np.asarray(query_labels), np.asarray(db_labels)
        for name, lab, n in (("query_labels", ql, n_q), ("db_labels", dl, n_db)):
            if lab.ndim not in (1, 2):
                raise ValueError(
                    f"{name} must be 1-D (one label per item) or a 2-D 0/1 "
                    f"indicator matrix (multi-label); got shape {lab.shape}."
                )
            if lab.shape[0] != n:
                raise ValueError(
                    f"{name} has {lab.shape[0]} entries but there are {n} "
                    f"codes; pass one label (row) per code."
                )
        _check_finite_labels(("query_labels", ql), ("db_labels", dl))
        if ql.ndim != dl.ndim:
            raise ValueError(
                f"query_labels is {ql.ndim}-D but db_labels is {dl.ndim}-D; "
                f"use 1-D labels for both (single-label) or 2-D indicator "
                f"matrices for both (multi-label)."
            )
        self.multilabel = ql.ndim == 2
        if self.multilabel:
            if ql.shape[1] != dl.shape[1]:
                raise ValueError(
                    f"query_labels has {ql.shape[1]} label columns but "
                    f"db_labels has {dl.shape[1]}; use the same label set."
                )
            # reuse the code checks: indicator matrices are 0/1 bit arrays
            self.q = codes_to_words(check_codes(ql, name="query_labels"))
            self.d = codes_to_words(check_codes(dl, name="db_labels"))
        else:
            _, inv = np.unique(np.concatenate([ql, dl]), return_inverse=True)
            inv = inv.ravel().astype(np.intp)
            self.q, self.d = inv[:n_q], inv[n_q:]

    def __call__(self, q_idx: NDArray[np.intp], db_idx: NDArray[np.intp]) -> NDArray[np.bool_]:
        """``(B,)`` query indices, ``(B, k)`` retrieved indices -> ``(B, k)``."""
        if not self.multilabel:
            return self.d[db_idx] == self.q[q_idx][:, None]
        shared = self.d[db_idx] & self.q[q_idx][:, None, :]  # (B, k, W)
        return (shared != 0).any(axis=-1)


def _average_precision(rel: NDArray[np.bool_]) -> NDArray[np.float64]:
    """``(B, k)`` relevance in rank order -> ``(B,)`` AP over the top ``k``."""
    hits = np.cumsum(rel, axis=1, dtype=np.float64)  # relevant within top i
    precision = hits / np.arange(1, rel.shape[1] + 1)
    n_rel = hits[:, -1]
    total = (precision * rel).sum(axis=1)
    return np.divide(total, n_rel, out=np.zeros_like(total), where=n_rel > 0)


def _check_k(k: int | None, n_db: int) -> int:
    if k is None:
        return n_db
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k={k!r} is invalid; use a positive int or None (all).")
    return int(min(k, n_db))


# ---------------------------------------------------------------------------
# mAP
# ---------------------------------------------------------------------------


def mean_average_precision(
    query_codes: ArrayLike,
    db_codes: ArrayLike,
    query_labels: ArrayLike,
    db_labels: ArrayLike,
    *,
    k: int | None = None,
    ranking: str = "code",
    batch_size: int | None = None,
    n_jobs: int | None = None,
) -> float:
    """Mean average precision at ``k`` of hash-code retrieval.

    Each query ranks the whole database, exactly, under ``ranking``, with
    remaining ties broken by database index (ascending). Over the top ``k``
    results::

        AP@k = (1 / R_k) * sum_{i <= k} precision@i * rel_i

    where ``rel_i`` is 1 when the ``i``-th result is relevant and ``R_k`` is
    the number of relevant results within the top ``k`` (AP is 0 when there
    are none). mAP@k is the mean over queries. This is the convention of the
    standard deep-hashing evaluation code (HashNet, DCH): ``R_k`` counts the
    relevant items retrieved, not all relevant items in the database.

    Parameters
    ----------
    query_codes : array-like of shape (n_queries, n_bits)
        0/1 codes (bool or integer dtype).
    db_codes : array-like of shape (n_db, n_bits)
    query_labels : array-like of shape (n_queries,) or (n_queries, n_labels)
        1-D: single-label (any hashable values); relevant = same label.
        2-D: 0/1 indicator matrix (multi-label); relevant = at least one
        shared label.
    db_labels : array-like of shape (n_db,) or (n_db, n_labels)
    k : int or None, default=None
        Results per query; ``None`` (or ``k > n_db``) uses the whole database.
    ranking : {"code", "hamming"}, default="code"
        ``"code"``: ``query XOR item`` as an unsigned integer, column 0 most
        significant (longest shared prefix first), DDTL's evaluation order.
        ``"hamming"``: Hamming distance.
    batch_size : int or None, default=None
        Queries per batch (memory bound); ``None`` picks one.
    n_jobs : int or None, default=None
        Threads; ``None`` or ``-1`` uses every available CPU.

    Returns
    -------
    float

    See Also
    --------
    self_retrieval_map : each item queries all the others.
    sklproxy.neighbors.HammingIndex : the same rankings as a search index.

    Examples
    --------
    >>> import numpy as np
    >>> db = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> db_labels = np.array([0, 0, 1, 1])
    >>> mean_average_precision([[0, 0]], db, [0], db_labels, k=2)
    1.0
    >>> round(mean_average_precision([[0, 1]], db, [1], db_labels), 4)
    0.4167
    """
    qc = check_codes(query_codes, name="query_codes")
    dc = check_codes(db_codes, name="db_codes")
    check_same_bits(qc, dc, ("query_codes", "db_codes"))
    check_ranking(ranking)
    rel = _Relevance(query_labels, db_labels, qc.shape[0], dc.shape[0])
    k_eff = _check_k(k, dc.shape[0])
    ranker = Ranker(codes_to_words(dc), dc.shape[1], ranking)
    q = codes_to_words(qc)

    def batch(a: int, b: int) -> NDArray[np.float64]:
        _, idx = ranker.topk(q[a:b], k_eff)
        return _average_precision(rel(np.arange(a, b), idx))

    bs = default_batch_size(dc.shape[0], k_eff, batch_size)
    ap = np.concatenate(run_batches(batch, qc.shape[0], bs, n_jobs))
    return float(ap.mean())


def self_retrieval_map(
    codes: ArrayLike,
    labels: ArrayLike,
    *,
    k: int | None = None,
    ranking: str = "code",
    batch_size: int | None = None,
    n_jobs: int | None = None,
) -> float:
    """mAP@k with every item querying all the other items (leave-one-out).

    Same definition as :func:`mean_average_precision` with the query item
    itself removed from its own database (the ranking of the others is
    unchanged, ties still by index). Used by :func:`map_scorer` and for model
    selection without a separate database.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_bits)
    labels : array-like of shape (n_samples,) or (n_samples, n_labels)
    k : int or None, default=None
        ``None`` (or ``k >= n_samples``) uses all ``n_samples - 1`` others.
    ranking : {"code", "hamming"}, default="code"
    batch_size, n_jobs : see :func:`mean_average_precision`.

    Returns
    -------
    float

    Examples
    --------
    >>> codes = [[0, 0], [0, 0], [1, 1], [1, 1]]
    >>> self_retrieval_map(codes, [0, 0, 1, 1], k=1)
    1.0
    >>> self_retrieval_map(codes, [0, 1, 0, 1], k=1)
    0.0
    """
    c = check_codes(codes, name="codes")
    check_ranking(ranking)
    n = c.shape[0]
    if n < 2:
        raise ValueError(
            f"codes has {n} sample; self-retrieval needs at least 2 so that "
            f"each item has others to retrieve."
        )
    rel = _Relevance(labels, labels, n, n)
    k_eff = _check_k(k, n - 1)
    ranker = Ranker(codes_to_words(c), c.shape[1], ranking)
    q = ranker.words

    def batch(a: int, b: int) -> NDArray[np.float64]:
        rows = np.arange(a, b)
        _, idx = topk_leave_one_out(ranker, q[a:b], rows, k_eff)
        return _average_precision(rel(rows, idx))

    bs = default_batch_size(n, k_eff + 1, batch_size)
    ap = np.concatenate(run_batches(batch, n, bs, n_jobs))
    return float(ap.mean())


