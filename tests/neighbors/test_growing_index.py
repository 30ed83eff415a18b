"""Code-order search on long and skewed codes, incremental add, memory-mapped storage."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from sklproxy.neighbors import HammingIndex


def code_order(q: np.ndarray, db: np.ndarray) -> np.ndarray:
    """Reference: indices of db by (q XOR item as a Python int, index)."""
    w = [1 << (db.shape[1] - 1 - j) for j in range(db.shape[1])]
    keys = [sum(wj for wj, b in zip(w, row, strict=True) if b) for row in db]
    qk = sum(wj for wj, b in zip(w, q, strict=True) if b)
    return np.array(sorted(range(len(db)), key=lambda j: (keys[j] ^ qk, j)))


def hamming_order(q: np.ndarray, db: np.ndarray) -> np.ndarray:
    return np.argsort((db != q).sum(1), kind="stable")


def skewed_codes(rng, n, n_bits):
    """Few items on one side of many splits: wide blocks, the walk's case.

    Bit j is 1 with probability 0.03 for the first 40 bits, then random; so
    a query with ones early has a tiny query-side half at each of them.
    """
    p = np.where(np.arange(n_bits) < 40, 0.03, 0.5)
    return (rng.random((n, n_bits)) < p).astype(np.uint8)


@pytest.mark.parametrize("n_bits", [64, 128, 150])
def test_code_order_on_skewed_databases_matches_brute_force(n_bits):
    rng = np.random.default_rng(n_bits)
    db = skewed_codes(rng, 1500, n_bits)
    db[100:160] = db[7]  # duplicates: ties by index
    q = np.vstack([rng.integers(0, 2, (6, n_bits)), db[[7, 3]], 1 - db[:2]]).astype(np.uint8)
    index = HammingIndex(ranking="code", batch_size=4).fit(db)
    for k in (1, 20, 300):
        _, ind = index.kneighbors(q, n_neighbors=k)
        for i in range(len(q)):
            np.testing.assert_array_equal(ind[i], code_order(q[i], db)[:k])


def test_walk_takes_the_query_side_half_whole():
    # 64-bit: 2000 codes start with 0, 30 with 1; a query starting with 1 and
    # k=100 needs all 30 plus the best 70 of the other half (the walk)
    rng = np.random.default_rng(0)
    db = rng.integers(0, 2, (2030, 64), dtype=np.uint8)
    db[:2000, 0], db[2000:, 0] = 0, 1
    q = rng.integers(0, 2, (5, 64), dtype=np.uint8)
    q[:, 0] = 1
    d, ind = HammingIndex(ranking="code").fit(db).kneighbors(q, n_neighbors=100)
    for i in range(len(q)):
        ref = code_order(q[i], db)[:100]
        np.testing.assert_array_equal(ind[i], ref)
        assert set(range(2000, 2030)) <= set(ind[i].tolist())
    assert (np.diff(d.astype(np.float64), axis=1) > 0).all()  # distinct codes: strictly increasing


@pytest.mark.parametrize("ranking", ["code", "hamming"])
@pytest.mark.parametrize("n_bits", [16, 64, 96])
def test_add_equals_fit_on_everything(ranking, n_bits, tmp_path):
    rng = np.random.default_rng(n_bits)
    pool = rng.integers(0, 2, (40, n_bits), dtype=np.uint8)
    db = np.vstack([pool[rng.integers(0, 40, 900)], rng.integers(0, 2, (300, n_bits), dtype=np.uint8)])
    q = np.vstack([rng.integers(0, 2, (8, n_bits), dtype=np.uint8), db[:4]])
    whole = HammingIndex(ranking=ranking).fit(db)
    sizes = [300, 1, 50, 50, 200, 99, 300, 200]  # merges happen at several sizes
    bounds = np.cumsum([0, *sizes])
    for storage in (None, tmp_path / "index"):
        grown = HammingIndex(ranking=ranking, storage_dir=storage).fit(db[: sizes[0]])
        for a, b in zip(bounds[1:-1], bounds[2:], strict=True):
            grown.add(db[a:b])
        assert grown.n_samples_fit_ == len(db)
        if ranking == "code":
            assert 1 < grown.n_segments_ <= 1 + int(np.log2(len(db)))
        for k in (1, 37, 700):
            dw, iw = whole.kneighbors(q, n_neighbors=k)
            dg, ig = grown.kneighbors(q, n_neighbors=k)
            np.testing.assert_array_equal(ig, iw)
            np.testing.assert_array_equal(dg, dw)
        dg, ig = grown.kneighbors(None, n_neighbors=5)
        np.testing.assert_array_equal(ig, whole.kneighbors(None, n_neighbors=5)[1])
        np.testing.assert_array_equal(grown.packed_codes_, np.packbits(db, axis=1))


def test_partial_fit_fits_then_adds():
    rng = np.random.default_rng(1)
    db = rng.integers(0, 2, (50, 12), dtype=np.uint8)
    index = HammingIndex().partial_fit(db[:20]).partial_fit(db[20:])
    np.testing.assert_array_equal(index.kneighbors(db[:3], n_neighbors=50)[1],
                                  HammingIndex().fit(db).kneighbors(db[:3], n_neighbors=50)[1])


def test_storage_dir_is_memory_mapped_and_pickles_by_path(tmp_path):
    rng = np.random.default_rng(2)
    db = rng.integers(0, 2, (5000, 64), dtype=np.uint8)
    q = rng.integers(0, 2, (10, 64), dtype=np.uint8)
    index = HammingIndex(storage_dir=tmp_path).fit(db[:3000]).add(db[3000:])
    assert isinstance(index._words, np.memmap)
    for seg in index._code_segments:
        assert isinstance(seg.members, np.memmap) and isinstance(seg.columns[0], np.memmap)
    assert (tmp_path / "words.u64").stat().st_size == 5000 * 8
    blob = pickle.dumps(index)
    assert len(blob) < 2000  # the path and a few attributes, not 40 kB of codes
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.kneighbors(q, n_neighbors=30)[1], index.kneighbors(q, n_neighbors=30)[1])
    # an in-memory index pickles its data
    mem = pickle.loads(pickle.dumps(HammingIndex(ranking="hamming").fit(db)))
    np.testing.assert_array_equal(mem.kneighbors(q, n_neighbors=30)[1],
                                  HammingIndex(ranking="hamming").fit(db).kneighbors(q, n_neighbors=30)[1])
    # fit again replaces the files
    HammingIndex(storage_dir=tmp_path).fit(db[:10])
    assert (tmp_path / "words.u64").stat().st_size == 10 * 8
    assert sorted(p.name for p in tmp_path.glob("seg-*")) == [
        "seg-0-col0.npy", "seg-0-members.npy", "seg-0-starts.npy"]


def test_add_checks_bits_and_fitted():
    index = HammingIndex()
    with pytest.raises(ValueError, match="not fitted"):
        index.add(np.zeros((2, 8), dtype=np.uint8))
    index.fit(np.zeros((2, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="8-bit codes"):
        index.add(np.zeros((2, 9), dtype=np.uint8))


def test_sparse_codes_get_a_clear_error():
    with pytest.raises(TypeError, match=r"sparse matrix.*toarray\(\)"):
        HammingIndex().fit(sp.csr_matrix(np.eye(4, dtype=np.uint8)))


def test_is_a_scikit_learn_estimator():
    index = HammingIndex(ranking="hamming", batch_size=4)
    assert clone(index).get_params() == index.get_params()
    assert "storage_dir" in index.get_params()
    assert repr(index) == "HammingIndex(batch_size=4, ranking='hamming')"
    with pytest.raises(ValueError, match="Invalid parameter"):
        index.set_params(k=3)


def _rss_anon_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no RssAnon in /proc/self/status (not Linux)")


def _malloc_trim() -> None:
    """Hand freed heap memory back to the OS (glibc keeps freed large blocks after its
    dynamic mmap threshold has grown), so RssAnon shows what is still in use."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def test_memory_mapped_index_holds_no_copy_of_its_database(tmp_path):
    """2M 64-bit codes added in 4 steps into storage_dir: 48 MB of files.

    The process's anonymous memory after building (the sort temporaries
    freed) and after answering 2000 queries stays far below the database
    size: the words and sorted segments are file pages. Measured: +0.0 MiB
    after the build (45.8 MiB for the same index in memory), +0.7 MiB after
    the queries. Bounds: 12 MiB and 8 MiB.
    """
    import gc

    rng = np.random.default_rng(3)
    q = rng.integers(0, 2, (2000, 64), dtype=np.uint8)
    _malloc_trim()
    base = _rss_anon_mib()
    index = HammingIndex(ranking="code", storage_dir=tmp_path)
    for _ in range(4):
        index.partial_fit(np.unpackbits(rng.integers(0, 256, (500_000, 8), dtype=np.uint8), axis=1))
    gc.collect()
    _malloc_trim()
    files = sum(p.stat().st_size for p in tmp_path.iterdir()) / 2**20
    after_build = _rss_anon_mib() - base
    ind = index.kneighbors(q, n_neighbors=10, return_distance=False)
    _malloc_trim()
    after_queries = _rss_anon_mib() - base - after_build
    assert index.n_samples_fit_ == 2_000_000 and ind.shape == (2000, 10)
    assert files > 40
    print(f"files {files:.1f} MiB, anon after build {after_build:+.1f} MiB, over queries {after_queries:+.1f} MiB")
    assert after_build < 12, (after_build, files)
    assert after_queries < 8, (after_queries, files)
