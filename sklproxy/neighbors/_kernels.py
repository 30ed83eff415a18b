"""Compiled kernels for the Hamming top-k (numba, an optional extra: ``pip install sklproxy[fast]``).

:func:`hamming_topk` gives exactly what the NumPy path of
:class:`~._hamming_rank.HammingRanker` gives (ascending distance, ties by
database index), per query: the popcounts of ``query XOR item`` into a
distance row (a loop the compiler vectorises for one-word codes), its
histogram (four sub-histograms, so that increments of one bin do not wait
on each other), then, from the histogram, the distance ``t`` of the k-th
item and one counting-sort pass that writes the items closer than ``t``,
and the first items at ``t`` in index order, straight to their output
slots. The work is
``n_queries * n_db`` popcounts plus two byte reads, with no sort and no
temporary larger than one distance row. The GIL is released, so the
batches that :func:`~._codes.run_batches` spreads over threads run in
parallel.

Without numba (or with ``SKLPROXY_NUMBA=0`` in the environment) nothing here
is used and :data:`HAVE_NUMBA` is False.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["HAVE_NUMBA", "hamming_topk", "popcount_sum"]

try:  # pragma: no cover - exercised where numba is installed
    if os.environ.get("SKLPROXY_NUMBA", "1") == "0":
        raise ImportError("disabled by SKLPROXY_NUMBA=0")
    from llvmlite import ir
    from numba import njit, types
    from numba.extending import intrinsic
    HAVE_NUMBA = True
except ImportError:
    HAVE_NUMBA = False


if HAVE_NUMBA:  # pragma: no cover - compiled code; tested through hamming_topk

    @intrinsic
    def _popcount(typingctx: Any, x: Any) -> Any:
        """LLVM's ``ctpop`` on a uint64: the POPCNT instruction where the CPU has it."""
        sig = types.uint64(types.uint64)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
            return builder.call(fn, args)

        return sig, codegen

    @njit(nogil=True, cache=True)
    def _topk(q: Any, db: Any, k: int, out_d: Any, out_i: Any) -> None:
        n_q, n_words = q.shape
        n = db.shape[0]
        n_bins = 64 * n_words + 1
        dist = np.empty(n, np.uint16)
        hist = np.empty(n_bins, np.int64)
        sub = np.empty((4, n_bins), np.int64)  # four histograms: no chain of increments to one bin
        pos = np.empty(n_bins, np.int64)
        for b in range(n_q):
            if n_words == 1:  # one word per code: a loop the compiler vectorises
                qb = q[b, 0]
                for j in range(n):
                    dist[j] = _popcount(qb ^ db[j, 0])
            else:
                for j in range(n):
                    d = 0
                    for w in range(n_words):
                        d += _popcount(q[b, w] ^ db[j, w])
                    dist[j] = d
            sub[:] = 0
            n4 = n - n % 4
            for j in range(0, n4, 4):
                sub[0, dist[j]] += 1
                sub[1, dist[j + 1]] += 1
                sub[2, dist[j + 2]] += 1
                sub[3, dist[j + 3]] += 1
            for j in range(n4, n):
                sub[0, dist[j]] += 1
            for t in range(n_bins):
                hist[t] = sub[0, t] + sub[1, t] + sub[2, t] + sub[3, t]
            t, before = 0, 0                      # the k-th item's distance, items below it
            while before + hist[t] < k:
                before += hist[t]
                t += 1
            run = 0
            for dd in range(t + 1):
                pos[dd] = run
                run += hist[dd]
            need = k - before                     # items at distance t, in index order
            for j in range(n):
                d = dist[j]
                if d < t or (d == t and need > 0):
                    if d == t:
                        need -= 1
                    p = pos[d]
                    out_i[b, p] = j
                    out_d[b, p] = d
                    pos[d] = p + 1

    @njit(nogil=True, cache=True)
    def _popcount_sum(q: Any, db: Any) -> int:
        total = 0
        for b in range(q.shape[0]):
            for j in range(db.shape[0]):
                for w in range(q.shape[1]):
                    total += _popcount(q[b, w] ^ db[j, w])
        return total


def hamming_topk(q: NDArray[np.uint64], db: NDArray[np.uint64], k: int,
                 dist_dtype: Any) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Top-``k`` of ``(B, W)`` query words over ``(N, W)`` database words (needs numba).

    Returns ``(distances (B, k) of dist_dtype, indices (B, k))``, ascending
    distance, ties by index; ``1 <= k <= N``.
    """
    out_d = np.empty((q.shape[0], k), dtype=dist_dtype)
    out_i = np.empty((q.shape[0], k), dtype=np.intp)
    _topk(np.ascontiguousarray(q), np.ascontiguousarray(db), int(k), out_d, out_i)
    return out_d, out_i


def popcount_sum(q: NDArray[np.uint64], db: NDArray[np.uint64]) -> int:
    """Sum of the popcounts of every ``query XOR item``: the bare popcount work (needs numba).

    B5 times it as the floor of any exact Hamming search over the same codes.
    """
    return int(_popcount_sum(np.ascontiguousarray(q), np.ascontiguousarray(db)))
