"""Exact nearest neighbours over binary hash codes.

Two rankings are supported, both exact and deterministic:

* ``"code"``: sort the database by ``query XOR item`` read as an unsigned
  integer with column 0 as the most significant bit, i.e. compare the XOR bit
  strings lexicographically (the item sharing the longest prefix with the
  query comes first). This is the order DDTL codes are evaluated in.
* ``"hamming"``: plain Hamming distance.

Remaining ties are always broken by database index, ascending.

The modules, one part each:

* ``_codes``: validation, packing (bit conventions), words, query batching;
* ``_code_rank``: code ranking over sorted distinct codes, sub-linear;
* ``_hamming_rank``: Hamming ranking, a thresholded scan;
* ``_ranking``: either ranking over a database made of segments;
* ``_storage``: the database in memory or in memory-mapped files;
* ``_index``: :class:`HammingIndex`, the estimator;
* ``_faiss``: export to and search with faiss binary indexes.
"""

from ._codes import pack_codes, pack_codes_faiss
from ._index import HammingIndex

__all__ = ["HammingIndex", "pack_codes", "pack_codes_faiss"]
