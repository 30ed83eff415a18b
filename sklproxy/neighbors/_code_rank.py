"""Exact top-k in code order: ``query XOR item`` read as an unsigned integer.

Column 0 is the most significant bit, so the item sharing the longest prefix
with the query comes first; ties (equal codes) by database index. This is
the order DDTL codes are evaluated in.

The database is sorted once (lexicographically on its big-endian words) and
reduced to its distinct codes, members of a code kept in index order.
Everything sharing the first ``p`` bits with a query is one contiguous block
of distinct codes, found by a binary search (``np.searchsorted`` on word 0;
within equal first words, a vectorised binary search on the next word).

Per query:

1. Binary search on the prefix length for the deepest block holding ``>= k``
   items; everything outside it is further away.
2. Usually that block is narrow (a few ``k`` codes) and is ranked directly: a
   window of consecutive distinct codes holding it is XOR-ed with the query
   and sorted (codes of the window outside the block sort after it).
3. When it is wide (a skewed database: the query-side half of the block has
   few items, the other half nearly everything), walk down instead: the
   query-side half is taken whole (it ranks first and holds ``< k`` items),
   and the search continues in the other half for the items still needed,
   as if the query's bit there were flipped. Each step takes one range of
   distinct codes; the candidates are at most ``k`` items in taken ranges
   plus one narrow final block, whatever the database.

Distinct codes have distinct XOR values, so ranking them needs no tie-break;
expanding each into its members in index order gives it. Per query the
cost is ``O(n_bits log n)`` searches plus a sort of ``O(k)`` codes: sub-linear
in the database for any code length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["CodeRanker", "sort_codes"]

# Rows ranked together in one call of Ranker._rank_blocks: up to
# _RANK_MAX_ROWS rows (at least 8) whose windows hold at most _RANK_ELEMENTS
# entries in all (1 MiB of uint64). Fewer, larger calls cut the Python
# overhead, which also holds the GIL that the worker threads share (B5 measures it).
_RANK_ELEMENTS = 1 << 17
_RANK_MAX_ROWS = 128


def _width_chunks(order: NDArray[np.intp], sorted_width: NDArray[np.intp]) -> list[NDArray[np.intp]]:
    """Split ``order`` (rows by ascending width) into consecutive chunks for ranking."""
    chunks, c, B = [], 0, len(order)
    while c < B:
        end = min(B, c + _RANK_MAX_ROWS)
        n_rows = max(8, min(end - c, _RANK_ELEMENTS // max(int(sorted_width[end - 1]), 1)))
        chunks.append(order[c : c + n_rows])
        c += n_rows
    return chunks



def sort_codes(words: NDArray[np.uint64], *, compact: bool = False
               ) -> tuple[list[NDArray[np.uint64]], NDArray[Any], NDArray[Any]]:
    """Sorted distinct codes of ``(n, W)`` words: ``(columns, starts, members)``.

    ``columns[w]`` is word ``w`` of each distinct code (``U`` of them),
    ascending lexicographically; the members of distinct code ``u`` are
    ``members[starts[u]:starts[u + 1]]``, ascending. Index arrays are
    ``intp``, or with ``compact`` ``uint32`` below ``2**32`` items (half the
    size on disk; a few per cent slower to query).
    """
    n, W = words.shape
    if W == 1:
        order = np.argsort(words[:, 0], kind="stable")  # equal codes in index order
    else:
        order = np.lexsort([words[:, w] for w in range(W - 1, -1, -1)])  # stable
    index_dtype = np.uint32 if compact and n < 2**32 else np.intp
    sorted_words = words[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (sorted_words[1:] != sorted_words[:-1]).any(axis=1)
    first = np.flatnonzero(new)
    columns = [np.ascontiguousarray(sorted_words[first, w]) for w in range(W)]
    starts = np.append(first, n).astype(index_dtype)
    return columns, starts, order.astype(index_dtype)


def _prefix_masks(n_bits: int, n_words: int) -> NDArray[np.uint64]:
    """``(n_bits + 1, W)``: row ``p`` keeps the first ``p`` bits of left-aligned words."""
    masks = np.zeros((n_bits + 1, n_words), dtype=np.uint64)
    for p in range(n_bits + 1):
        for w in range(n_words):
            nb = min(64, max(0, p - 64 * w))
            masks[p, w] = ((1 << nb) - 1) << (64 - nb)
    return masks


def _range_search(col: NDArray[np.uint64], lo: NDArray[np.intp], hi: NDArray[np.intp],
                  target: NDArray[np.uint64], side: str) -> NDArray[np.intp]:
    """``np.searchsorted`` of ``target[i]`` within ``col[lo[i]:hi[i]]`` (sorted), vectorised."""
    lo, hi = lo.copy(), hi.copy()
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        v = col[np.where(active, mid, 0)]
        right = v < target if side == "left" else v <= target
        lo = np.where(active & right, mid + 1, lo)
        hi = np.where(active & ~right, mid, hi)


class CodeRanker:
    """Exact top-k in code order over ``(n, W)`` database words.

    Parameters
    ----------
    db_words : ndarray of shape (n, W), uint64, or None
        Left-aligned big-endian words (:func:`codes_to_words`); None when
        ``sorted_arrays`` are given.
    n_bits : int
    offset : int
        Added to every returned index (a segment of a larger database).
    sorted_arrays : tuple, optional
        :func:`sort_codes` output, e.g. memory-mapped from files.
    """

    def __init__(self, db_words: NDArray[np.uint64] | None, n_bits: int, *, offset: int = 0,
                 sorted_arrays: tuple[list[NDArray[np.uint64]], NDArray[Any], NDArray[Any]] | None = None):
        if sorted_arrays is None:
            assert db_words is not None
            sorted_arrays = sort_codes(db_words)
        self.columns, self.starts, self.members = sorted_arrays
        self.n_words = len(self.columns)
        self.n = int(self.members.shape[0])
        self.n_distinct = int(self.columns[0].shape[0])
        self.n_bits = n_bits
        self.offset = offset
        self.shift = np.uint64(64 * self.n_words - n_bits)
        self.masks = _prefix_masks(n_bits, self.n_words)

    # -- blocks of distinct codes ---------------------------------------------

    def _search(self, t: NDArray[np.uint64], side: str) -> NDArray[np.intp]:
        """Lexicographic ``searchsorted`` of ``(B, W)`` targets among the distinct codes."""
        c0 = self.columns[0]
        if self.n_words == 1:
            return np.searchsorted(c0, t[:, 0], side=side)
        lo = np.searchsorted(c0, t[:, 0], side="left")
        hi = np.searchsorted(c0, t[:, 0], side="right")
        for w in range(1, self.n_words):
            col = self.columns[w]
            if w == self.n_words - 1:
                return _range_search(col, lo, hi, t[:, w], side)
            lo, hi = (_range_search(col, lo, hi, t[:, w], "left"),
                      _range_search(col, lo, hi, t[:, w], "right"))
        raise AssertionError("unreachable")  # pragma: no cover

    def _block(self, q: NDArray[np.uint64], p: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Range ``[lo, hi)`` of distinct codes sharing the first ``p`` bits with ``q``."""
        if self.n_words == 1:  # the common case, on 1-D arrays
            m1 = self.masks[p, 0]
            low1 = q[:, 0] & m1
            c0 = self.columns[0]
            return np.searchsorted(c0, low1, side="left"), np.searchsorted(c0, low1 | ~m1, side="right")
        m = self.masks[p]  # (B, W)
        low = q & m
        return self._search(low, "left"), self._search(low | ~m, "right")

    def _count(self, lo: NDArray[np.intp], hi: NDArray[np.intp]) -> NDArray[np.intp]:
        return self.starts[hi].astype(np.intp, copy=False) - self.starts[lo].astype(np.intp, copy=False)

    def _deepest(self, q: NDArray[np.uint64], need: NDArray[np.intp], p_min: NDArray[np.intp]) -> NDArray[np.intp]:
        """Longest prefix ``p >= p_min`` whose block holds ``>= need`` items.

        The block at ``p_min`` must hold enough; binary search with the
        invariant count(lo) >= need > count(hi) (``n_bits + 1``: an empty
        virtual block).
        """
        lo_p = p_min.astype(np.intp, copy=True)
        hi_p = np.full(len(q), self.n_bits + 1, dtype=np.intp)
        while True:
            rows = np.flatnonzero(hi_p - lo_p > 1)
            if rows.size == 0:
                return lo_p
            mid = (lo_p[rows] + hi_p[rows]) // 2
            ok = self._count(*self._block(q[rows], mid)) >= need[rows]
            lo_p[rows] = np.where(ok, mid, lo_p[rows])
            hi_p[rows] = np.where(ok, hi_p[rows], mid)

    def _walk(self, q: NDArray[np.uint64], k: int, p: NDArray[np.intp],
              narrow: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Ranges of distinct codes holding each query's top ``k`` (wide blocks).

        Returns ``(lo, hi)`` of shape ``(B, S)``: ``S`` ranges per query (empty
        ones where a query finished early) whose union holds the top ``k``.
        """
        B = len(q)
        q = q.copy()
        p = p.copy()
        need = np.full(B, k, dtype=np.intp)
        los, his = [], []
        active = np.ones(B, dtype=bool)
        while active.any():
            rows = np.flatnonzero(active)
            lo, hi = self._block(q[rows], p[rows])
            done = (hi - lo <= narrow) | (p[rows] == self.n_bits)
            take_lo, take_hi = np.zeros(B, np.intp), np.zeros(B, np.intp)
            take_lo[rows[done]], take_hi[rows[done]] = lo[done], hi[done]  # the final block
            active[rows[done]] = False
            go = rows[~done]
            if go.size:
                # the query-side half ranks first and holds fewer than `need` items: take it
                pg = p[go]
                clo, chi = self._block(q[go], pg + 1)
                take_lo[go], take_hi[go] = clo, chi
                need[go] -= self._count(clo, chi)
                # continue in the other half, as if the query's bit pg were flipped
                word, bit = pg // 64, (63 - pg % 64).astype(np.uint64)
                q[go, word] ^= np.left_shift(np.uint64(1), bit)
                p[go] = self._deepest(q[go], need[go], pg + 1)
            los.append(take_lo)
            his.append(take_hi)
        return np.stack(los, axis=1), np.stack(his, axis=1)

    # -- ranking -----------------------------------------------------------

    def _argsort_xor(
        self, x: NDArray[np.uint64], p: NDArray[np.intp], width: NDArray[np.intp], G: int
    ) -> NDArray[np.intp]:
        """Row-wise argsort of distinct XOR keys, exact over the first ``G`` (and one more).

        Row ``i`` holds ``width[i]`` in-block XORs, all below
        ``2**(n_bits - p[i])`` once right-aligned, then codes outside the
        block that only need to come after them. Sorting plain values is
        ~2.5x faster than ``argsort``, so the column goes into the low bits
        of ``min(xor, cap) >> drop``. When bits must be dropped to make room,
        two codes may tie on the kept bits; rows where that happens among the
        ranked codes fall back to a full ``argsort``.
        """
        B, L = x.shape
        col_bits = max(1, int(L - 1).bit_length())
        h = self.n_bits - p  # (B,) significant bits of in-block XORs
        drop = np.maximum(0, h + 1 + col_bits - 64)  # +1: room for the cap
        if col_bits + int(drop.max()) > 64:  # pragma: no cover - > 2**31 codes
            return np.argsort(x, axis=1)
        v = x >> self.shift  # (B, L) right-aligned XOR
        # cap = 2**h (no cap where h == 64: the block is then everything);
        # after the shift every in-block value stays below the capped ones
        cap = np.where(
            h < 64,
            np.left_shift(np.uint64(1), np.minimum(h, 63).astype(np.uint64)),
            np.uint64(2**64 - 1),
        )
        np.minimum(v, cap[:, None], out=v)
        v >>= drop.astype(np.uint64)[:, None]
        v <<= np.uint64(col_bits)
        v |= np.arange(L, dtype=np.uint64)
        n = min(G + 1, L)  # the ranked codes and one more (for the tie check)
        if L > 2 * n:  # select the n smallest first: linear, then sort only those
            v = np.partition(v, n - 1, axis=1)
            v[:, :n].sort(axis=1)
        else:
            v.sort(axis=1)
        order = (v & np.uint64((1 << col_bits) - 1)).astype(np.intp)
        if drop.any():
            # in-block codes come first; a tie among them (within the ranked
            # part) means dropped bits decide, so sort those rows exactly
            kept = v[:, :n] >> np.uint64(col_bits)
            in_block = np.arange(1, n) < width[:, None]
            tied = ((kept[:, 1:] == kept[:, :-1]) & in_block).any(axis=1)
            if tied.any():
                rows = np.flatnonzero(tied)
                order[rows] = np.argsort(x[rows], axis=1)
        return order


    def _rank(self, q: NDArray[np.uint64], cand: NDArray[np.intp] | None, start: NDArray[np.intp] | None,
              L: int, valid: NDArray[np.bool_] | None, p: NDArray[np.intp], n_real: NDArray[np.intp],
              k: int) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
        """Top ``k`` items among ``L`` candidate distinct codes per query.

        The candidates are ``cand`` (B, L), or the window ``start + arange(L)``.
        Every candidate shares the first ``p`` bits with its query; the
        first ``n_real`` of each row, once sorted, are the ones that count
        (``valid`` False: padding, sorted last). Returns the XOR words
        ``(B, k, W)`` and the indices ``(B, k)``.
        """
        B, W = q.shape
        if W == 1 and cand is None:
            assert start is not None
            window = np.lib.stride_tricks.sliding_window_view(self.columns[0], L)
            x = window[start]  # (B, L) copy
            np.bitwise_xor(x, q, out=x)
            x3 = x[:, :, None]
        else:
            if cand is None:
                assert start is not None
                cand = start[:, None] + np.arange(L)
            x3 = np.empty((B, L, W), dtype=np.uint64)
            for w in range(W):
                np.bitwise_xor(self.columns[w][cand], q[:, w : w + 1], out=x3[:, :, w])
            if valid is not None:
                x3[~valid] = np.uint64(2**64 - 1)
        G = min(L, k)  # k distinct codes always hold >= k items
        if W == 1:
            order = self._argsort_xor(x3[:, :, 0], p, n_real, G)[:, :G]
        else:
            order = np.lexsort([x3[:, :, w] for w in range(W - 1, -1, -1)], axis=-1)[:, :G]
        # (B, G) distinct codes, ranked
        gsel = start[:, None] + order if cand is None else np.take_along_axis(cand, order, axis=1)
        first = self.starts[gsel].astype(np.intp, copy=False)
        cnt = self.starts[gsel + 1].astype(np.intp, copy=False) - first
        before = np.cumsum(cnt, axis=1) - cnt  # items ranked ahead of a code
        take = np.minimum(np.maximum(k - before, 0), cnt)  # rows sum to k
        src = np.repeat(np.arange(B * G), take.ravel())  # (B * k,) slot of each hit
        first_out = (before + (np.arange(B) * k)[:, None]).ravel()
        offs = np.arange(B * k) - first_out[src]  # rank within its code
        idx = self.members[first.ravel()[src] + offs].astype(np.intp, copy=False).reshape(B, k) + self.offset
        grp = gsel.ravel()[src]
        xor = np.empty((B * k, W), dtype=np.uint64)
        for w in range(W):
            np.bitwise_xor(self.columns[w][grp], np.repeat(q[:, w], k), out=xor[:, w])
        return xor.reshape(B, k, W), idx

    def topk(self, q: NDArray[np.uint64], k: int) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
        """Exact top-``k`` (``1 <= k <= n``) of ``(B, W)`` query words.

        Returns the XOR words ``(B, k, W)`` (the ranking key) and the
        database indices ``(B, k)``.
        """
        B, W = q.shape
        U = self.n_distinct
        p = self._deepest(q, np.full(B, k, dtype=np.intp), np.zeros(B, dtype=np.intp))
        lo, hi = self._block(q, p)
        width = hi - lo  # distinct codes per block, varies a lot
        narrow = 4 * k + 64
        xor = np.empty((B, k, W), dtype=np.uint64)
        idx = np.empty((B, k), dtype=np.intp)
        # rank rows of similar width together so padding stays small
        rows_n = np.flatnonzero(width <= narrow)
        rows_n = rows_n[np.argsort(width[rows_n], kind="stable")]
        for rows in _width_chunks(rows_n, width[rows_n]):
            L = int(width[rows].max())
            # a window of L consecutive distinct codes holding the block; codes
            # in it outside the block share less of the prefix and sort after
            start = np.minimum(lo[rows], U - L)
            xor[rows], idx[rows] = self._rank(q[rows], None, start, L, None, p[rows], width[rows], k)
        rows_w = np.flatnonzero(width > narrow)
        if rows_w.size:
            wlo, whi = self._walk(q[rows_w], k, p[rows_w], narrow)
            sizes = whi - wlo  # (R, S)
            total = sizes.sum(axis=1)
            order = np.argsort(total, kind="stable")
            for chunk in _width_chunks(order, total[order]):
                L = int(total[chunk].max())
                s = sizes[chunk]
                cum = np.cumsum(s, axis=1) - s  # column where each range starts
                col = np.arange(L)
                # range holding each column: the last one starting at or before it
                which = (cum[:, None, :] <= col[None, :, None]).sum(axis=2) - 1  # (R, L)
                which = np.maximum(which, 0)
                base = np.take_along_axis(wlo[chunk], which, axis=1)
                off = col[None, :] - np.take_along_axis(cum, which, axis=1)
                valid = col[None, :] < total[chunk][:, None]
                cand = np.where(valid, base + off, 0)
                rows = rows_w[chunk]
                xor[rows], idx[rows] = self._rank(q[rows], cand, None, L, valid, p[rows], total[chunk], k)
        return xor, idx
