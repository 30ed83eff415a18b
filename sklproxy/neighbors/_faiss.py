"""faiss interop: export the indexed codes to ``faiss.IndexBinaryFlat`` and search it.

faiss takes bit ``j`` of a code from bit ``j % 8`` (least significant first)
of byte ``j // 8``, and needs whole bytes: codes are repacked with
``bitorder="little"`` and zero padded on the right to a multiple of 8 bits
(which changes no Hamming distance).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["build_flat", "faiss_search", "import_faiss", "words_to_faiss"]


def import_faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the env
        raise ImportError(
            "to_faiss() and backend='faiss' need faiss; install it with `pip install faiss-cpu` "
            "(or `pip install sklproxy[faiss]`)."
        ) from exc
    return faiss


def words_to_faiss(words: NDArray[np.uint64], n_bits: int) -> NDArray[np.uint8]:
    """``(n, W)`` left-aligned words -> ``(n, ceil(n_bits / 8))`` bytes as faiss reads them."""
    nbytes = -(-n_bits // 8)
    big_endian = words.astype(">u8").view(np.uint8).reshape(words.shape[0], -1)[:, :nbytes]
    bits = np.unpackbits(big_endian, axis=1)  # bit 0 first; padding bits are 0
    return np.packbits(bits, axis=1, bitorder="little")


def build_flat(words: NDArray[np.uint64], n_bits: int, chunk: int = 1 << 20) -> Any:
    """A ``faiss.IndexBinaryFlat`` of dimension ``8 * ceil(n_bits / 8)`` over ``words``."""
    faiss = import_faiss()
    index = faiss.IndexBinaryFlat(8 * -(-n_bits // 8))
    for a in range(0, words.shape[0], chunk):  # bounded memory for memory-mapped words
        index.add(words_to_faiss(np.asarray(words[a : a + chunk]), n_bits))
    return index


def faiss_search(index: Any, q: NDArray[np.uint64], n_bits: int, k: int, loo: bool
                 ) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """``index.search`` for query words; ``loo``: query ``i`` may not retrieve item ``i``."""
    dist, idx = index.search(words_to_faiss(q, n_bits), k + int(loo))
    if loo:
        self_idx = np.arange(q.shape[0])
        hit = idx == self_idx[:, None]
        drop = np.where(hit.any(axis=1), np.argmax(hit, axis=1), k)
        keep = np.arange(k + 1)[None, :] != drop[:, None]
        dist = dist[keep].reshape(-1, k)
        idx = idx[keep].reshape(-1, k)
    return dist.astype(np.int64), idx.astype(np.intp)
