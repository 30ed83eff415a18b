"""One ranking over a database made of segments: the query side of HammingIndex.

:class:`Ranker` answers exact top-k queries under ``"code"`` or
``"hamming"`` ranking over database words ``(n, W)`` (in memory or memory
mapped). The code ranking searches sorted segments (each a
:class:`~._code_rank.CodeRanker` over a contiguous index range, so an index
can grow by appending segments) and merges their top-k by (XOR, index); the
Hamming ranking scans blocks of at most ``HAMMING_BLOCK`` items (bounded
work arrays for any database size) and merges by (distance, index).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._code_rank import CodeRanker
from ._codes import prefix_distance
from ._hamming_rank import HammingRanker

__all__ = ["HAMMING_BLOCK", "Ranker", "topk_leave_one_out"]

#: Items per Hamming scan block: 4M, so one query's distance row is 4 MB.
HAMMING_BLOCK = 1 << 22


class Ranker:
    """Exact top-k queries under one ranking.

    Parameters
    ----------
    db_words : ndarray of shape (n, W), uint64
        Left-aligned big-endian words of the database, in index order.
    n_bits : int
    ranking : {"code", "hamming"}
    code_segments : sequence of CodeRanker, optional
        Sorted segments covering consecutive index ranges (code ranking);
        by default one segment over the whole database.
    """

    def __init__(self, db_words: NDArray[np.uint64], n_bits: int, ranking: str,
                 code_segments: Sequence[CodeRanker] | None = None) -> None:
        self.words = db_words
        self.n, self.n_words = db_words.shape
        self.n_bits = n_bits
        self.ranking = ranking
        self.shift = np.uint64(64 * self.n_words - n_bits)
        self.segments: list[Any]
        if ranking == "code":
            self.segments = list(code_segments) if code_segments is not None else [
                CodeRanker(db_words, n_bits)]
        else:
            self.segments = [HammingRanker(db_words[a : a + HAMMING_BLOCK], n_bits)
                             for a in range(0, self.n, HAMMING_BLOCK)]
            self._offsets = list(range(0, self.n, HAMMING_BLOCK))

    # -- code ranking -------------------------------------------------------

    def code_distance(self, xor: NDArray[np.uint64]) -> NDArray[Any]:
        """Public code-order distance of XOR words ``(..., W)``.

        One word: the XOR as an unsigned integer (``uint64``, right
        aligned). Several words: ``n_bits`` minus the shared prefix length.
        """
        if self.n_words == 1:
            return xor[..., 0] >> self.shift
        return prefix_distance(xor, self.n_bits)

    def _topk_code(self, q: NDArray[np.uint64], k: int) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
        if len(self.segments) == 1:
            return self.segments[0].topk(q, k)
        parts = [seg.topk(q, min(k, seg.n)) for seg in self.segments]
        xor = np.concatenate([p[0] for p in parts], axis=1)  # (B, sum k_s, W)
        idx = np.concatenate([p[1] for p in parts], axis=1)
        keys = [idx] + [xor[:, :, w] for w in range(self.n_words - 1, -1, -1)]
        order = np.lexsort(keys, axis=-1)[:, :k]  # by XOR, then index
        return np.take_along_axis(xor, order[:, :, None], axis=1), np.take_along_axis(idx, order, axis=1)

    # -- hamming ranking ----------------------------------------------------

    def _topk_hamming(self, q: NDArray[np.uint64], k: int) -> tuple[NDArray[Any], NDArray[np.intp]]:
        if len(self.segments) == 1:
            return self.segments[0].topk(q, k)
        dists, idxs = [], []
        for seg, offset in zip(self.segments, self._offsets, strict=True):
            d, i = seg.topk(q, min(k, seg.n))
            dists.append(d)
            idxs.append(i + offset)
        dist = np.concatenate(dists, axis=1)  # blocks in index order: a stable sort keeps ties by index
        order = np.argsort(dist, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(dist, order, axis=1), np.take_along_axis(np.concatenate(idxs, axis=1), order, 1)

    def hamming_distances(self, q: NDArray[np.uint64]) -> NDArray[Any]:
        """``(B, W)`` query words -> ``(B, n)`` Hamming distances."""
        if self.ranking != "hamming":
            return HammingRanker(self.words, self.n_bits).hamming_distances(q)
        return np.concatenate([seg.hamming_distances(q) for seg in self.segments], axis=1)

    # -- dispatch -------------------------------------------------------------

    def topk(self, q_words: NDArray[np.uint64], k: int) -> tuple[NDArray[Any], NDArray[np.intp]]:
        """Exact top-``k`` (``1 <= k <= n``) for ``(B, W)`` query words.

        Returns ``(distances, indices)`` of shape ``(B, k)``: Hamming
        distances, or the code-order distance of :meth:`code_distance`.
        """
        if self.ranking == "hamming":
            return self._topk_hamming(q_words, k)
        xor, idx = self._topk_code(q_words, k)
        return self.code_distance(xor), idx


def topk_leave_one_out(
    ranker: Ranker, q_words: NDArray[np.uint64], self_idx: NDArray[np.intp], k: int
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Top-``k`` where query ``i`` may not retrieve database item ``self_idx[i]``.

    The ranking of the other items is unchanged by removing one item, so take
    the top ``k + 1`` and drop the query itself (or the last hit if the query
    was not among them).
    """
    dist, idx = ranker.topk(q_words, k + 1)
    hit = idx == self_idx[:, None]  # (B, k + 1)
    drop = np.where(hit.any(axis=1), np.argmax(hit, axis=1), k)
    keep = np.arange(k + 1)[None, :] != drop[:, None]
    B = idx.shape[0]
    return dist[keep].reshape(B, k), idx[keep].reshape(B, k)
