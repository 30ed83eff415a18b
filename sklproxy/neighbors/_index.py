"""HammingIndex: the scikit-learn-style estimator over binary codes.

Rankings, bit conventions and tie-breaks: :mod:`sklproxy.neighbors`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from ._code_rank import CodeRanker, sort_codes
from ._codes import (
    check_codes,
    check_ranking,
    codes_to_words,
    default_batch_size,
    prefix_distance,
    run_batches,
)
from ._faiss import build_flat, faiss_search
from ._ranking import HAMMING_BLOCK, Ranker, topk_leave_one_out
from ._storage import Store

__all__ = ["HammingIndex"]

_BACKENDS = ("auto", "numpy", "faiss")
# rows of 0/1 codes validated and packed at once by fit/add: bounded memory
# for memory-mapped input of any length (a 1M x 64-bit chunk is 64 MB)
_ADD_CHUNK = 1 << 20
# a new sorted segment is merged into the previous one while that one is at
# most this many times larger: O(log n) segments, each code re-sorted O(log n) times
_MERGE_RATIO = 2


class HammingIndex(BaseEstimator):
    """Exact nearest-neighbour index over binary hash codes.

    Parameters
    ----------
    ranking : {"code", "hamming"}, default="code"
        ``"code"``: order the database by ``query XOR item`` read as an
        unsigned integer, column 0 most significant (longest shared prefix
        first), the order DDTL codes are meant to be searched in.
        ``"hamming"``: plain Hamming distance. Ties are broken by database
        index, ascending, under both rankings.
    backend : {"auto", "numpy", "faiss"}, default="auto"
        ``"numpy"``: the exact NumPy search described in
        :mod:`sklproxy.neighbors`. ``"faiss"``: ``faiss.IndexBinaryFlat.search``
        (Hamming ranking only); faiss breaks ties by index too, so results
        equal the NumPy path. ``"auto"``: NumPy, which is at least as fast as
        faiss' flat search on CPU (B5 on the benchmarks page); faiss stays
        available through :meth:`to_faiss`.
    batch_size : int or None, default=None
        Queries processed at once; ``None`` picks a size that keeps each
        batch's work arrays near 32 MB per thread.
    n_jobs : int or None, default=None
        Threads over query batches; ``None`` or ``-1`` uses every CPU this
        process may run on.
    storage_dir : str, path or None, default=None
        ``None``: the database lives in memory. A directory: the codes and
        the sorted search structures are files there, memory-mapped, so a
        database of any size (10M 64-bit codes: about 240 MB of files) costs
        no process memory beyond the pages in use; :meth:`fit` replaces the
        index files in it, :meth:`add` appends. Sorting a segment (in
        :meth:`fit`, and when :meth:`add` merges) takes about 50 bytes of
        temporary memory per code of that segment (24 more per extra
        64-bit word). A
        pickled index stores the path, not the data, and reopens the files
        when loaded.

    Attributes
    ----------
    n_bits_ : int
        Bits per code.
    n_samples_fit_ : int
        Number of indexed codes.
    n_segments_ : int
        Sorted segments searched by the code ranking (1 after :meth:`fit`;
        :meth:`add` appends one and merges neighbours of similar size, so
        there are ``O(log n)``).
    packed_codes_ : ndarray of shape (n_samples_fit_, ceil(n_bits_ / 8)), uint8
        The indexed codes, ``np.packbits(codes, axis=1)`` (computed on access).

    See Also
    --------
    sklproxy.metrics.mean_average_precision : mAP@k with the same rankings.

    Notes
    -----
    Distances returned by :meth:`kneighbors` and :meth:`radius_neighbors`:

    * ``ranking="hamming"``: the Hamming distance (``int64``).
    * ``ranking="code"``, ``n_bits <= 64``: ``query XOR item`` as an unsigned
      integer (``uint64``), column 0 most significant; it orders the results.
    * ``ranking="code"``, ``n_bits > 64``: the prefix distance
      ``n_bits - (length of the shared prefix)`` (``int64``); it is
      non-decreasing along the results but coarser than the full XOR order.

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.neighbors import HammingIndex
    >>> db = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 1], [0, 0, 1]])
    >>> index = HammingIndex(ranking="code").fit(db)
    >>> dist, ind = index.kneighbors([[0, 0, 0]], n_neighbors=3)
    >>> ind.tolist(), dist.tolist()
    ([[0, 3, 2]], [[1, 1, 3]])
    >>> index.add([[0, 0, 0]]).kneighbors([[0, 0, 0]], n_neighbors=2, return_distance=False).tolist()
    [[4, 0]]
    >>> HammingIndex(ranking="hamming").fit(db).kneighbors(
    ...     [[1, 1, 1]], n_neighbors=2, return_distance=False).tolist()
    [[2, 0]]
    """

    def __init__(
        self,
        *,
        ranking: Literal["code", "hamming"] = "code",
        backend: Literal["auto", "numpy", "faiss"] = "auto",
        batch_size: int | None = None,
        n_jobs: int | None = None,
        storage_dir: str | os.PathLike | None = None,
    ) -> None:
        self.ranking = ranking
        self.backend = backend
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.storage_dir = storage_dir

    # -- fitting ---------------------------------------------------------------

    def _check_params(self) -> None:
        check_ranking(self.ranking)
        if self.backend not in _BACKENDS:
            raise ValueError(
                f"backend={self.backend!r} is not supported; use 'auto', "
                f"'numpy' or 'faiss'."
            )
        if self.backend == "faiss" and self.ranking != "hamming":
            raise ValueError(
                "backend='faiss' only supports ranking='hamming'; use "
                "backend='numpy' or 'auto' for the code ranking."
            )

    def fit(self, codes: ArrayLike, y: Any = None) -> HammingIndex:
        """Index ``codes`` of shape ``(n_samples, n_bits)`` (0/1), replacing any previous ones.

        ``codes`` may be a memory-mapped array of any length: it is read in
        chunks of ``2**20`` rows.
        """
        self._check_params()
        chunks = _code_chunks(codes)
        first = next(chunks)
        self.n_bits_ = int(first.shape[1])
        self._store = Store(self.storage_dir)
        self._store.reset(-(-self.n_bits_ // 64))
        self._store.append_words(codes_to_words(first))
        for chunk in chunks:
            self._append_chunk(chunk)
        self._segments: list[tuple[int, int, int]] = []  # (start, stop, id)
        self._next_segment = 0
        self._code_segments: list[CodeRanker] = []
        if self.ranking == "code":
            self._add_segment(0, self._store.n)
        self._finish()
        return self

    def partial_fit(self, codes: ArrayLike, y: Any = None) -> HammingIndex:
        """:meth:`fit` on the first call, :meth:`add` afterwards."""
        return self.add(codes) if self.__sklearn_is_fitted__() else self.fit(codes)

    def add(self, codes: ArrayLike) -> HammingIndex:
        """Append ``codes`` to the index; they get the next indices.

        The code ranking sorts the new codes into a segment of their own and
        merges it with the previous segment while that one is at most twice
        as large (sorting cost ``O(log n)`` per code over the index's life,
        ``O(log n)`` segments to search, each sub-linearly).
        """
        self._check_fitted()
        start = self._store.n
        for chunk in _code_chunks(codes):
            self._append_chunk(chunk)
        if self.ranking == "code" and self._store.n > start:
            self._add_segment(start, self._store.n)
            while len(self._segments) >= 2 and (
                self._segments[-2][1] - self._segments[-2][0]
                <= _MERGE_RATIO * (self._segments[-1][1] - self._segments[-1][0])
            ):
                (a, _, id_a), (_, b, id_b) = self._segments[-2:]
                del self._segments[-2:], self._code_segments[-2:]
                self._store.delete_segment(id_a)
                self._store.delete_segment(id_b)
                self._add_segment(a, b)
        self._finish()
        return self

    def _append_chunk(self, chunk: NDArray[np.uint8]) -> None:
        if chunk.shape[1] != self.n_bits_:
            raise ValueError(
                f"codes have {chunk.shape[1]} bits but the index holds "
                f"{self.n_bits_}-bit codes; add codes of the same hash."
            )
        self._store.append_words(codes_to_words(chunk))

    def _add_segment(self, start: int, stop: int) -> None:
        seg_id = self._next_segment
        self._next_segment += 1
        words = np.asarray(self._store.words[start:stop])
        arrays = self._store.save_segment(seg_id, sort_codes(words, compact=self.storage_dir is not None))
        self._segments.append((start, stop, seg_id))
        self._code_segments.append(CodeRanker(None, self.n_bits_, offset=start, sorted_arrays=arrays))

    def _finish(self) -> None:
        """Refresh the fitted attributes and the query side after fit/add."""
        self.n_samples_fit_ = int(self._store.n)
        self.n_segments_ = max(1, len(self._segments))
        self._words = self._store.words
        self._ranker = Ranker(self._words, self.n_bits_, self.ranking,
                              self._code_segments if self.ranking == "code" else None)
        self._faiss_index: Any = None
        self._store.write_meta({
            "n_bits": self.n_bits_, "n_words": self._store.n_words, "n": self._store.n,
            "ranking": self.ranking, "segments": self._segments, "next_segment": self._next_segment,
        })

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_ranker")

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                "This HammingIndex is not fitted yet; call fit(codes) first."
            )

    # -- pickling: a stored index pickles its path, not its data ---------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # object.__getstate__ may return __dict__ itself
        # the query side is rebuilt on loading; faiss objects do not pickle
        for key in ("_words", "_ranker", "_faiss_index"):
            state.pop(key, None)
        if self.storage_dir is not None and "_store" in state:
            for key in ("_code_segments", "_store"):  # file-backed: reopened from storage_dir
                state.pop(key)
            state["_reopen"] = True
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        reopen = state.pop("_reopen", False)
        super().__setstate__(state)
        if reopen:
            self._store = Store(self.storage_dir)
            meta = self._store.read_meta()
            self._segments = [tuple(s) for s in meta["segments"]]
            self._next_segment = meta["next_segment"]
            self._code_segments = [
                CodeRanker(None, self.n_bits_, offset=a,
                           sorted_arrays=self._store.load_segment(i, self._store.n_words))
                for a, _, i in self._segments
            ]
        if "_store" in self.__dict__:
            self._finish()

    # -- codes -------------------------------------------------------------------

    @property
    def packed_codes_(self) -> NDArray[np.uint8]:
        self._check_fitted()
        nbytes = -(-self.n_bits_ // 8)
        return self._words.astype(">u8").view(np.uint8).reshape(self.n_samples_fit_, -1)[:, :nbytes]

    def _unpack(self) -> NDArray[np.uint8]:
        return np.unpackbits(self.packed_codes_, axis=1, count=self.n_bits_)

    def _query_words(self, codes: ArrayLike) -> NDArray[np.uint64]:
        arr = check_codes(codes, name="codes")
        if arr.shape[1] != self.n_bits_:
            raise ValueError(
                f"codes have {arr.shape[1]} bits but the index was fitted on "
                f"{self.n_bits_}-bit codes; query with codes of the same hash."
            )
        return codes_to_words(arr)

    # -- queries ---------------------------------------------------------------

    def kneighbors(
        self,
        codes: ArrayLike | None = None,
        n_neighbors: int = 5,
        return_distance: bool = True,
    ) -> tuple[NDArray[Any], NDArray[np.intp]] | NDArray[np.intp]:
        """Exact ``n_neighbors`` nearest indexed codes of each query.

        Parameters
        ----------
        codes : array-like of shape (n_queries, n_bits) or None
            Query codes. ``None`` queries every indexed code against all the
            others (the item itself is left out, as in scikit-learn).
        n_neighbors : int, default=5
            Neighbours per query, at most ``n_samples_fit_`` (minus one when
            ``codes`` is None).
        return_distance : bool, default=True
            Also return the distances (see the class Notes for their meaning).

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            Only if ``return_distance``. ``ranking="hamming"``: Hamming
            distances (int64). ``ranking="code"``: not a metric distance but
            the code-order key, ``query XOR item`` read as an unsigned integer
            with column 0 most significant (uint64; up to 64 bits), or the
            prefix distance ``n_bits - shared prefix length`` (int64) for
            longer codes. Either way it is non-decreasing along each row.
        indices : ndarray of shape (n_queries, n_neighbors)
            Database indices in ranking order, ties by ascending index.
        """
        self._check_fitted()
        loo = codes is None
        n_max = self.n_samples_fit_ - int(loo)
        if (
            not isinstance(n_neighbors, (int, np.integer))
            or isinstance(n_neighbors, bool)
            or not 1 <= n_neighbors <= n_max
        ):
            raise ValueError(
                f"n_neighbors={n_neighbors!r} is invalid; use an int between 1 "
                f"and {n_max} (the number of "
                f"{'other ' if loo else ''}indexed codes)."
            )
        k = int(n_neighbors)
        q = np.array(self._words) if loo else self._query_words(codes)
        n_q = q.shape[0]
        if self.backend == "faiss":
            if self._faiss_index is None:
                self._faiss_index = build_flat(self._words, self.n_bits_)
            dist, idx = faiss_search(self._faiss_index, q, self.n_bits_, k, loo)
        else:
            # the Hamming scan holds (batch, block) distances; the code ranking's
            # work per query does not grow with the database
            n_scan = min(self.n_samples_fit_, HAMMING_BLOCK) if self.ranking == "hamming" else 0
            bs = default_batch_size(n_scan, k, self.batch_size)

            def batch(a: int, b: int) -> tuple[NDArray[Any], NDArray[np.intp]]:
                if loo:
                    return topk_leave_one_out(self._ranker, q[a:b], np.arange(a, b), k)
                return self._ranker.topk(q[a:b], k)

            parts = run_batches(batch, n_q, bs, self.n_jobs)
            dist = np.concatenate([p[0] for p in parts])
            idx = np.concatenate([p[1] for p in parts])
        idx = idx.astype(np.intp, copy=False)
        if not return_distance:
            return idx
        if self.ranking == "hamming" or self._ranker.n_words > 1:
            dist = dist.astype(np.int64, copy=False)
        return dist, idx

    def radius_neighbors(
        self,
        codes: ArrayLike,
        radius: int,
        return_distance: bool = True,
    ) -> tuple[NDArray[np.object_], NDArray[np.object_]] | NDArray[np.object_]:
        """All indexed codes within ``radius`` of each query, in ranking order.

        Parameters
        ----------
        codes : array-like of shape (n_queries, n_bits)
        radius : int
            ``ranking="hamming"``: Hamming distance ``<= radius``.
            ``ranking="code"``: the item shares at least ``n_bits - radius``
            leading bits with the query, i.e. ``query XOR item < 2**radius``
            (``radius=0``: identical codes; ``radius >= n_bits``: everything).
        return_distance : bool, default=True

        Returns
        -------
        distances : ndarray of object, shape (n_queries,)
            One array per query (see the class Notes); only if
            ``return_distance``.
        indices : ndarray of object, shape (n_queries,)
            One index array per query, ranking order, ties by index.
        """
        self._check_fitted()
        if (
            not isinstance(radius, (int, np.integer))
            or isinstance(radius, bool)
            or radius < 0
        ):
            raise ValueError(f"radius={radius!r} is invalid; use an int >= 0.")
        q = self._query_words(codes)
        n_q = q.shape[0]
        ranker = self._ranker
        words = self._words
        bs = default_batch_size(self.n_samples_fit_, 0, self.batch_size)

        def batch(a: int, b: int) -> list[tuple[NDArray[Any], NDArray[np.intp]]]:
            out = []
            if self.ranking == "hamming":
                d = ranker.hamming_distances(q[a:b])
                for row in d:
                    hit = np.flatnonzero(row <= radius)
                    order = np.argsort(row[hit], kind="stable")
                    out.append((row[hit][order].astype(np.int64), hit[order]))
                return out
            x = q[a:b, None, :] ^ words[None, :, :]  # (B, N, W)
            pdist = prefix_distance(x, self.n_bits_)
            for i in range(b - a):
                hit = np.flatnonzero(pdist[i] <= radius)
                xi = x[i, hit]
                keys = (hit,) + tuple(xi[:, w] for w in range(ranker.n_words - 1, -1, -1))
                order = np.lexsort(keys)
                dist = xi[order, 0] >> ranker.shift if ranker.n_words == 1 else pdist[i, hit][order]
                out.append((dist, hit[order]))
            return out

        rows = [r for part in run_batches(batch, n_q, bs, self.n_jobs) for r in part]
        dists = np.empty(n_q, dtype=object)
        inds = np.empty(n_q, dtype=object)
        for i, (d_i, i_i) in enumerate(rows):
            dists[i], inds[i] = d_i, i_i
        return (dists, inds) if return_distance else inds

    # -- faiss -------------------------------------------------------------------

    def to_faiss(self) -> Any:
        """Export the indexed codes as a ``faiss.IndexBinaryFlat``.

        faiss reads bits least significant first within a byte, so the codes
        are repacked with ``bitorder="little"``; faiss also needs whole bytes,
        so codes are zero padded on the right to a multiple of 8 bits (the
        index dimension is then ``8 * ceil(n_bits_ / 8)``). Padding changes
        no Hamming distance. Pack queries with :func:`pack_codes_faiss`.
        faiss ranks by Hamming distance only.

        Raises
        ------
        ImportError
            If faiss is not installed (``pip install faiss-cpu``).
        """
        self._check_fitted()
        return build_flat(self._words, self.n_bits_)


def _code_chunks(codes: ArrayLike) -> Iterator[NDArray[np.uint8]]:
    """Validated 0/1 chunks of ``codes``; at least one (an empty array raises)."""
    if hasattr(codes, "toarray") or hasattr(codes, "tocsr") or not hasattr(codes, "shape"):
        yield check_codes(codes, name="codes")  # sparse input, lists: one chunk (or the error)
        return
    n = codes.shape[0]
    if n == 0 or len(codes.shape) != 2:
        yield check_codes(codes, name="codes")  # raises the empty / ndim error
        return
    for a in range(0, n, _ADD_CHUNK):
        yield check_codes(codes[a : a + _ADD_CHUNK], name="codes")
