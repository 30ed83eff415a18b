"""Where a HammingIndex keeps its database: in memory, or memory-mapped files.

The database is the code words in index order plus, for the code ranking,
sorted segments (:func:`~._code_rank.sort_codes` arrays over consecutive
index ranges). With a directory every array is a file there, opened
memory-mapped (read-only): the operating system keeps the pages in use in
its cache, and the process holds no copy. Files:

* ``words.u64``: the ``(n, W)`` words, raw, appended to by ``add``;
* ``seg-<id>-col<w>.npy``, ``seg-<id>-starts.npy``, ``seg-<id>-members.npy``;
* ``index.json``: ``n_bits``, ``n``, the segments' index ranges.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Store"]

META = "index.json"
WORDS = "words.u64"


class Store:
    """Arrays of one index, in memory (``directory=None``) or in files."""

    def __init__(self, directory: str | os.PathLike | None) -> None:
        self.directory = None if directory is None else Path(directory)
        self._words: NDArray[np.uint64] | None = None  # in memory: a buffer with spare rows
        self.n = 0

    # -- lifecycle ----------------------------------------------------------

    def reset(self, n_words: int) -> None:
        """Forget any previous database (its files are deleted)."""
        self.n_words = n_words
        self.n = 0
        self._words = np.empty((0, n_words), dtype=np.uint64)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            for path in self.directory.iterdir():
                if path.name in (META, WORDS) or (path.name.startswith("seg-") and path.suffix == ".npy"):
                    path.unlink()
            (self.directory / WORDS).touch()

    # -- words --------------------------------------------------------------

    def append_words(self, words: NDArray[np.uint64]) -> None:
        m = words.shape[0]
        if self.directory is None:
            assert self._words is not None
            if self.n + m > self._words.shape[0]:  # grow geometrically: amortised O(1) per code
                grown = np.empty((max(2 * self._words.shape[0], self.n + m), self.n_words), np.uint64)
                grown[: self.n] = self._words[: self.n]
                self._words = grown
            self._words[self.n : self.n + m] = words
        else:
            with open(self.directory / WORDS, "ab") as f:
                f.write(np.ascontiguousarray(words, dtype="<u8").tobytes())
        self.n += m

    @property
    def words(self) -> NDArray[np.uint64]:
        """``(n, W)`` words in index order (a memory map with a directory)."""
        if self.directory is None:
            assert self._words is not None
            return self._words[: self.n]
        if self.n == 0:
            return np.empty((0, self.n_words), dtype=np.uint64)
        return np.memmap(self.directory / WORDS, dtype="<u8", mode="r", shape=(self.n, self.n_words))

    # -- sorted segments ----------------------------------------------------

    def save_segment(self, seg_id: int, arrays: tuple[list[NDArray[Any]], NDArray[Any], NDArray[Any]]
                     ) -> tuple[list[NDArray[Any]], NDArray[Any], NDArray[Any]]:
        if self.directory is None:
            return arrays
        columns, starts, members = arrays
        names = [f"seg-{seg_id}-col{w}.npy" for w in range(len(columns))]
        for name, arr in zip([*names, f"seg-{seg_id}-starts.npy", f"seg-{seg_id}-members.npy"],
                             [*columns, starts, members], strict=True):
            np.save(self.directory / name, arr)
        return self.load_segment(seg_id, len(columns))

    def load_segment(self, seg_id: int, n_words: int) -> tuple[list[NDArray[Any]], NDArray[Any], NDArray[Any]]:
        assert self.directory is not None
        load = lambda name: np.load(self.directory / name, mmap_mode="r")  # noqa: E731
        return ([load(f"seg-{seg_id}-col{w}.npy") for w in range(n_words)],
                load(f"seg-{seg_id}-starts.npy"), load(f"seg-{seg_id}-members.npy"))

    def delete_segment(self, seg_id: int) -> None:
        if self.directory is not None:
            for path in self.directory.glob(f"seg-{seg_id}-*.npy"):
                path.unlink()

    # -- metadata -----------------------------------------------------------

    def write_meta(self, meta: dict[str, Any]) -> None:
        if self.directory is not None:
            tmp = self.directory / (META + ".tmp")
            tmp.write_text(json.dumps(meta))
            tmp.replace(self.directory / META)  # atomic: a reader sees the old or the new state

    def read_meta(self) -> dict[str, Any]:
        assert self.directory is not None
        meta = json.loads((self.directory / META).read_text())
        self.n_words, self.n = meta["n_words"], meta["n"]
        return meta
