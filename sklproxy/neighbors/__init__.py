"""Exact nearest-neighbour search over binary hash codes."""

from ._hamming import HammingIndex, pack_codes, pack_codes_faiss

__all__ = ["HammingIndex", "pack_codes", "pack_codes_faiss"]
