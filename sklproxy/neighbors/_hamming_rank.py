"""Exact top-k by Hamming distance, ties by database index.

``np.bitwise_count(query ^ keys)`` for a batch of queries; a distance
threshold per query from a sample of columns, stepped up (or down) with
packed ``d < u`` masks (one compare-and-pack pass per step, popcounts on
64-bit words) until it is exact: for large ``k`` the k-th smallest distance
``t``, the candidates being the items closer than ``t`` plus those at ``t``
up to the 64-item word where ``k`` is reached (``k`` to ``k + 63`` per
query); for small ``k`` an upper estimate whose items all become candidates.
Then one stable radix sort of the candidates by (query, distance);
candidates are in index order, so ties resolve by index. No full
``argsort`` of the database per query. Codes of several words sum the
per-word popcounts.

With numba installed (the ``fast`` extra) :meth:`HammingRanker.topk` runs the
compiled kernel of :mod:`._kernels` instead, with the same results.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._kernels import HAVE_NUMBA, hamming_topk

__all__ = ["HammingRanker"]

# set-bit positions of each byte value, most significant bit first
_BYTE_COUNT = np.bitwise_count(np.arange(256, dtype=np.uint8)).astype(np.intp)
_BYTE_POS = np.zeros((256, 8), dtype=np.intp)
for _v in range(256):
    _p = [j for j in range(8) if _v >> (7 - j) & 1]
    _BYTE_POS[_v, : len(_p)] = _p
_BYTE_POS_FLAT = _BYTE_POS.ravel()


def _packed_positions(packed: NDArray[np.uint8]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(row, column) of the set bits of a ``np.packbits(mask, axis=1)`` array.

    ``np.flatnonzero`` on the mask costs about 1 ns per entry whatever the
    density; scanning the packed bytes (8 entries each) and expanding the
    non-zero ones through a lookup table is several times faster when sparse.
    """
    n_bytes = packed.shape[1]
    nz = np.flatnonzero(packed != 0)  # bytes holding any set bit
    byte = packed.ravel()[nz].astype(np.intp)
    count = _BYTE_COUNT[byte]
    src = np.repeat(np.arange(nz.size), count)  # source byte of each set bit
    rank = np.arange(src.size) - (np.cumsum(count) - count)[src]
    row_of_byte, byte_in_row = np.divmod(nz, n_bytes)
    cols = byte_in_row[src] * 8 + _BYTE_POS_FLAT[byte[src] * 8 + rank]
    return row_of_byte[src], cols




class HammingRanker:
    """Exact top-k under Hamming distance over ``(n, W)`` database words.

    ``topk(query_words, k)`` returns ``(distances, indices)``, each of shape
    ``(n_queries, k)``, ascending distance, ties by index.
    """

    def __init__(self, db_words: NDArray[np.uint64], n_bits: int) -> None:
        self.words = np.ascontiguousarray(db_words)
        self.n, self.n_words = db_words.shape
        self.n_bits = n_bits
        self.n_padded = -(-self.n // 64) * 64  # columns of a packed mask
        self.dist_dtype: Any = (
            np.uint8 if n_bits < 255 else np.uint16 if n_bits < 65535 else np.uint32
        )
        self.dist_max = int(np.iinfo(self.dist_dtype).max)
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_local"]  # per-thread scratch arrays
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def _workspace(self, name: str, shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
        """A per-thread scratch array, reused across batches.

        Fresh multi-MB temporaries cost page faults on every batch; reusing
        them roughly halves the time of the distance pass.
        """
        ws = self._local.__dict__
        buf = ws.get(name)
        size = int(np.prod(shape))
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = np.empty(max(size, 1), dtype=dtype)
            ws[name] = buf
        return buf[:size].reshape(shape)

    def hamming_distances(
        self, q: NDArray[np.uint64], out: NDArray[Any] | None = None
    ) -> NDArray[Any]:
        """``(B, W)`` query words -> ``(B, N)`` Hamming distances."""
        B, N = q.shape[0], self.n
        d = np.empty((B, N), dtype=self.dist_dtype) if out is None else out
        # a few rows at a time so the uint64 XOR scratch stays in cache
        R = max(1, min(B, (1 << 16) // max(N, 1)))  # <= 512 KB, or one row
        xbuf = self._workspace("xor", (R, N), np.uint64)
        cbuf = self._workspace("cnt", (R, N), np.uint8) if self.n_words > 1 else None
        for a in range(0, B, R):
            b = min(a + R, B)
            x = xbuf[: b - a]
            for w in range(self.n_words):
                np.bitwise_xor(q[a:b, w : w + 1], self.words[None, :, w], out=x)
                if w == 0:
                    np.bitwise_count(x, out=d[a:b], casting="unsafe")
                else:
                    assert cbuf is not None
                    c = cbuf[: b - a]
                    np.bitwise_count(x, out=c)
                    d[a:b] += c
        return d

    def _below(self, d: NDArray[Any], u: NDArray[np.intp]) -> NDArray[np.uint64]:
        """Packed mask of ``d < u[:, None]``: ``(B, ceil(N / 64))`` words.

        Word ``w`` of a row holds columns ``64 w .. 64 w + 63`` (padding bits
        are 0); only popcounts and whole words are used, never bit order.
        """
        B, N = d.shape
        m = self._workspace("mask", (B, self.n_padded), np.bool_)
        m[:, N:] = False
        np.less(d, u.astype(d.dtype)[:, None], out=m[:, :N])
        return np.packbits(m, axis=1).view(np.uint64)

    def topk(
        self, q: NDArray[np.uint64], k: int
    ) -> tuple[NDArray[Any], NDArray[np.intp]]:
        if HAVE_NUMBA:
            return hamming_topk(q, self.words, k, self.dist_dtype)
        return self.topk_numpy(q, k)

    def topk_numpy(
        self, q: NDArray[np.uint64], k: int
    ) -> tuple[NDArray[Any], NDArray[np.intp]]:
        """The same top-k with NumPy only (without numba)."""
        B, N = q.shape[0], self.n
        d = self.hamming_distances(q, out=self._workspace("dist", (B, N), self.dist_dtype))
        if 4 * k >= N:  # most of the row is needed: one radix argsort
            order = np.argsort(d, axis=1, kind="stable")[:, :k]
            return np.take_along_axis(d, order, axis=1), order
        # 1. A threshold u per row with count(d < u) >= k. Large k: the least
        # such u, i.e. t + 1 for the exact k-th smallest distance t. Small k:
        # an upper estimate (three standard deviations), whose whole last
        # level costs less than pinning t down. Both start from a column
        # sample and step each row up (or down) until ``lo`` (d < u - 1, or
        # nothing for small k) holds fewer than k items and ``hi`` (d < u) at
        # least k; every step is one compare-and-pack pass over those rows.
        exact = 64 * k >= N
        step = max(1, N // 1024)
        sample = np.sort(d[:, ::step], axis=1, kind="stable")  # radix sort
        ns = sample.shape[1]
        lam = k * ns / N  # expected sample items within the k nearest
        r = round(lam) - 1 if exact else int(lam + 3 * np.sqrt(lam))
        u = sample[:, min(ns - 1, max(0, r))].astype(np.intp) + 1  # (B,)
        hi = self._below(d, u)
        lo = self._below(d, u - 1) if exact else np.zeros_like(hi)
        n_hi = np.bitwise_count(hi).sum(axis=1, dtype=np.intp)
        n_lo = np.bitwise_count(lo).sum(axis=1, dtype=np.intp)
        while True:
            up = np.flatnonzero(n_hi < k)  # u is higher
            down = np.flatnonzero(n_lo >= k)  # u is lower (never both)
            if up.size == 0 and down.size == 0:
                break
            # one side of the bracket is reused, the other one recomputed
            u[up] += 1
            u[down] -= 1
            lo[up], n_lo[up] = hi[up], n_hi[up]
            hi[down], n_hi[down] = lo[down], n_lo[down]
            hi[up] = self._below(d[up], u[up])
            lo[down] = self._below(d[down], u[down] - 1)
            n_hi[up] = np.bitwise_count(hi[up]).sum(axis=1, dtype=np.intp)
            n_lo[down] = np.bitwise_count(lo[down]).sum(axis=1, dtype=np.intp)
        # 2. Candidates: small k, every item with d < u. Large k, every item
        # with d < t, plus the items at distance t up to the 64-item word
        # where the k - n_lo needed ones are reached. Extra candidates sort
        # after the k wanted ones and fall off below.
        if exact:
            eq = hi & ~lo
            eq_count = np.bitwise_count(eq)
            eq_before = np.cumsum(eq_count, axis=1, dtype=np.intp) - eq_count
            eq[eq_before >= (k - n_lo)[:, None]] = 0
            hi = lo | eq
        rows, cols = _packed_positions(hi.view(np.uint8))  # index order
        cnt = np.bincount(rows, minlength=B)
        dist = d.ravel()[rows * N + cols]
        # 3. One stable sort by (row, distance); index order survives in ties.
        n_d = self.dist_max + 1
        key_dtype = np.uint16 if B * n_d <= 1 << 16 else np.int64
        key = rows.astype(key_dtype) * key_dtype(n_d) + dist
        order = np.argsort(key, kind="stable")
        first = np.cumsum(cnt) - cnt  # (B,) start of each row's candidates
        sel = order[first[:, None] + np.arange(k)]  # (B, k)
        return dist[sel], cols[sel]
