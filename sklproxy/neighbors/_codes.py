"""Code arrays: validation, packing into words, and query batching over threads.

Bit conventions
---------------
A code array is ``uint8`` 0/1 of shape ``(n, n_bits)``, column 0 the most
significant bit. :func:`pack_codes` is ``np.packbits(codes, axis=1)`` (bit 0
goes to the most significant bit of byte 0). faiss reads the bits of each byte
least significant first, so :func:`pack_codes_faiss` packs with
``bitorder="little"`` (and pads ``n_bits`` to a multiple of 8 with zero bits,
which leaves every Hamming distance unchanged).

Searches work on big-endian 64-bit words, left aligned (zero padded on the
right): comparing word tuples compares bit strings (:func:`codes_to_words`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "check_codes", "check_ranking", "check_same_bits", "codes_to_words", "default_batch_size",
    "pack_codes", "pack_codes_faiss", "prefix_distance", "run_batches",
]

_RANKINGS = ("code", "hamming")
_T = TypeVar("_T")

# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def check_codes(codes: ArrayLike, *, name: str = "codes") -> NDArray[np.uint8]:
    """Validate a hash code array and return it as C-contiguous ``uint8`` 0/1.

    Accepts bool, integer or float arrays of shape ``(n_samples, n_bits)``
    holding only 0 and 1 (floats exactly 0.0 or 1.0).

    Examples
    --------
    >>> check_codes([[1, 0, 1], [0, 0, 1]]).dtype
    dtype('uint8')
    """
    if hasattr(codes, "toarray") or hasattr(codes, "tocsr"):
        raise TypeError(
            f"{name} is a sparse matrix; hash codes are dense 0/1 arrays. Pass "
            f"{name}.toarray() (a code array is small: n_bits columns)."
        )
    arr = np.asarray(codes)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_bits); got "
            f"ndim={arr.ndim} (shape {arr.shape}). Reshape one code with "
            f"code.reshape(1, -1)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} is empty (shape {arr.shape}); pass at least one code "
            f"with at least one bit."
        )
    if arr.dtype == np.bool_:
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if arr.dtype.kind == "f" and np.isin(arr, (0.0, 1.0)).all():
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if arr.dtype.kind not in "iu":
        detail = ("holds values other than exactly 0.0 and 1.0" if arr.dtype.kind == "f"
                  else f"has dtype {arr.dtype}")
        raise ValueError(
            f"{name} must be an array of 0/1 bits (bool, integer, or floats exactly 0 or 1); "
            f"it {detail}. Binarise first, e.g. (scores > 0).astype(np.uint8)."
        )
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi > 1:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"{name} must contain only 0 and 1; found the value {int(bad)}. "
            f"Binarise first, e.g. (codes > 0).astype(np.uint8)."
        )
    return np.ascontiguousarray(arr, dtype=np.uint8)


def check_same_bits(
    query: NDArray[np.uint8], db: NDArray[np.uint8], names: tuple[str, str]
) -> None:
    """Raise a ValueError unless both code arrays have the same ``n_bits``."""
    if query.shape[1] != db.shape[1]:
        raise ValueError(
            f"{names[0]} has {query.shape[1]} bits per code but {names[1]} "
            f"has {db.shape[1]}; both must come from the same hash function."
        )


def check_ranking(ranking: str) -> None:
    if ranking not in _RANKINGS:
        raise ValueError(
            f"ranking={ranking!r} is not supported; use 'code' (XOR order, "
            f"longest shared prefix first) or 'hamming'."
        )


def _resolve_n_jobs(n_jobs: int | None) -> int:
    """``None`` or ``-1``: every CPU this process may use; else ``n_jobs``."""
    try:
        n_cpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n_cpu = os.cpu_count() or 1
    if n_jobs is None or n_jobs == -1:
        return max(1, n_cpu)
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(
            f"n_jobs={n_jobs!r} is invalid; use None or -1 (all CPUs) or a "
            f"positive int."
        )
    return int(n_jobs)


# ---------------------------------------------------------------------------
# Packing
# ---------------------------------------------------------------------------


def pack_codes(codes: ArrayLike) -> NDArray[np.uint8]:
    """Pack 0/1 codes 8 per byte, column 0 into the most significant bit.

    This is ``np.packbits(codes, axis=1)``; the last byte is zero padded on
    its least significant side when ``n_bits % 8 != 0``.

    Examples
    --------
    >>> pack_codes([[1, 0, 0, 0, 0, 0, 0, 1, 1]]).tolist()
    [[129, 128]]
    """
    return np.packbits(check_codes(codes), axis=1)


def pack_codes_faiss(codes: ArrayLike) -> NDArray[np.uint8]:
    """Pack codes the way faiss binary indexes read them.

    faiss takes bit ``j`` of a code from bit ``j % 8`` (least significant
    first) of byte ``j // 8``, so this packs with ``bitorder="little"``.
    faiss also needs whole bytes: codes are zero padded on the right to a
    multiple of 8 bits, which changes no Hamming distance. Use it for the
    queries of an index made by :meth:`HammingIndex.to_faiss`.

    Examples
    --------
    >>> pack_codes_faiss([[1, 0, 0, 0, 0, 0, 0, 1, 1]]).tolist()
    [[129, 1]]
    """
    arr = check_codes(codes)
    pad = (-arr.shape[1]) % 8
    if pad:
        arr = np.pad(arr, ((0, 0), (0, pad)))
    return np.packbits(arr, axis=1, bitorder="little")


def codes_to_words(codes: NDArray[np.uint8]) -> NDArray[np.uint64]:
    """``(n, n_bits)`` 0/1 -> ``(n, ceil(n_bits / 64))`` left-aligned words.

    Word 0 holds bits 0..63 with bit 0 as its most significant bit, so tuple
    comparison of the words is lexicographic comparison of the bit strings.
    """
    n, n_bits = codes.shape
    n_words = -(-n_bits // 64)
    packed = np.packbits(codes, axis=1)  # (n, ceil(n_bits / 8))
    buf = np.zeros((n, 8 * n_words), dtype=np.uint8)
    buf[:, : packed.shape[1]] = packed
    return buf.view(">u8").astype(np.uint64)  # (n, n_words), native order


def _bit_length(v: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Number of significant bits of each uint64 (0 for 0), exact."""
    v = v.copy()
    out = np.zeros(v.shape, dtype=np.int64)
    for s in (32, 16, 8, 4, 2, 1):
        big = v >= np.uint64(1 << s)
        out += big * s
        v = np.where(big, v >> np.uint64(s), v)
    out += v > 0
    return out


def prefix_distance(xor: NDArray[np.uint64], n_bits: int) -> NDArray[np.int64]:
    """``n_bits`` minus the shared prefix length, from XOR words ``(..., W)``."""
    nonzero = xor != 0
    first = np.argmax(nonzero, axis=-1)  # first differing word
    word = np.take_along_axis(xor, first[..., None], axis=-1)[..., 0]
    lcp = 64 * first + 64 - _bit_length(word)
    return np.where(nonzero.any(axis=-1), n_bits - lcp, 0)


# ---------------------------------------------------------------------------
# Batching over threads
# ---------------------------------------------------------------------------


def run_batches(
    fn: Callable[[int, int], _T],
    n: int,
    batch_size: int,
    n_jobs: int | None,
) -> list[_T]:
    """Apply ``fn(start, stop)`` to consecutive batches of ``range(n)``.

    Batches are spread over ``n_jobs`` threads; results keep batch order.
    """
    starts = list(range(0, n, batch_size))
    bounds = [(s, min(s + batch_size, n)) for s in starts]
    workers = min(_resolve_n_jobs(n_jobs), len(bounds))
    if workers <= 1:
        return [fn(a, b) for a, b in bounds]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda ab: fn(*ab), bounds))


def default_batch_size(n_db: int, k: int, batch_size: int | None) -> int:
    """Queries per batch so that one batch's work arrays stay near 32 MB."""
    if batch_size is not None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(
                f"batch_size={batch_size!r} is invalid; use None (automatic) "
                f"or a positive int."
            )
        return int(batch_size)
    # about 12 bytes per (query, db item) in the Hamming path, 16 per (query,
    # neighbour) in the outputs.
    per_query = 12 * n_db + 32 * k
    return int(min(256, max(1, (32 << 20) // per_query)))
