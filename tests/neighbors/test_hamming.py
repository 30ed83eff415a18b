"""HammingIndex against brute force written from the definitions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklproxy.neighbors import HammingIndex, pack_codes, pack_codes_faiss


def xor_int(a: np.ndarray, b: np.ndarray) -> int:
    """XOR of two bit rows read as an integer, column 0 most significant."""
    return int("".join(str(int(x) ^ int(y)) for x, y in zip(a, b, strict=True)), 2)


def hamming(a: np.ndarray, b: np.ndarray) -> int:
    return int(sum(int(x) != int(y) for x, y in zip(a, b, strict=True)))


def brute_rank(q: np.ndarray, db: np.ndarray, ranking: str) -> list[tuple[int, int]]:
    """[(distance, index)] of every db item, sorted by (distance, index)."""
    dist = xor_int if ranking == "code" else hamming
    return sorted((dist(q, row), i) for i, row in enumerate(db))


def random_codes(rng, n, n_bits, n_distinct=None):
    """Random codes; with ``n_distinct`` drawn from few patterns (many ties)."""
    if n_distinct is None:
        return rng.integers(0, 2, (n, n_bits), dtype=np.uint8)
    pool = rng.integers(0, 2, (n_distinct, n_bits), dtype=np.uint8)
    return pool[rng.integers(0, n_distinct, n)]


CASES = [  # (n_bits, n_distinct)
    (1, None),
    (5, 6),
    (7, None),
    (16, 30),
    (63, 20),
    (64, 25),
    (64, None),
    (70, 15),
    (130, None),
]


@pytest.mark.parametrize("ranking", ["code", "hamming"])
@pytest.mark.parametrize("n_bits,n_distinct", CASES)
def test_kneighbors_matches_brute_force(ranking, n_bits, n_distinct):
    rng = np.random.default_rng(n_bits)
    db = random_codes(rng, 60, n_bits, n_distinct)
    q = np.vstack([random_codes(rng, 6, n_bits), db[:4]])
    index = HammingIndex(ranking=ranking, batch_size=3).fit(db)
    for k in (1, 7, 60):
        dist, ind = index.kneighbors(q, n_neighbors=k)
        assert dist.shape == ind.shape == (len(q), k)
        for i in range(len(q)):
            ref = brute_rank(q[i], db, ranking)[:k]
            assert ind[i].tolist() == [j for _, j in ref]
            if ranking == "hamming" or n_bits <= 64:
                assert [int(d) for d in dist[i]] == [d for d, _ in ref]
            else:  # prefix distance: n_bits - shared prefix length
                expect = [n_bits - (n_bits - d.bit_length()) for d, _ in ref]
                assert [int(d) for d in dist[i]] == expect


@pytest.mark.parametrize("ranking", ["code", "hamming"])
def test_kneighbors_none_leaves_self_out(ranking):
    rng = np.random.default_rng(0)
    db = random_codes(rng, 40, 6, 5)  # heavy duplicates: self often not first
    index = HammingIndex(ranking=ranking).fit(db)
    dist, ind = index.kneighbors(n_neighbors=5)
    for i in range(len(db)):
        ref = [(d, j) for d, j in brute_rank(db[i], db, ranking) if j != i][:5]
        assert ind[i].tolist() == [j for _, j in ref]
        assert dist[i].tolist() == [d for d, _ in ref]


def test_larger_database_many_batches_and_threads():
    rng = np.random.default_rng(1)
    # realistic-ish: 2 class bits + path bits, duplicate codes
    db = random_codes(rng, 3000, 20, 400)
    q = random_codes(rng, 50, 20, None)
    for ranking in ("code", "hamming"):
        index = HammingIndex(ranking=ranking, batch_size=7, n_jobs=2).fit(db)
        d, ind = index.kneighbors(q, n_neighbors=300)
        if ranking == "code":
            keys = db.astype(np.int64) @ (1 << np.arange(19, -1, -1))
            qk = q.astype(np.int64) @ (1 << np.arange(19, -1, -1))
            full = keys[None, :] ^ qk[:, None]
        else:
            full = (q[:, None, :] != db[None, :, :]).sum(-1)
        ref = np.argsort(full, axis=1, kind="stable")[:, :300]
        np.testing.assert_array_equal(ind, ref)
        np.testing.assert_array_equal(d, np.take_along_axis(full, ref, 1))


def test_64_bit_extremes():
    # XOR of all ones must sort last yet be returned when needed
    db = np.array([[1] * 64, [0] * 64, [1] * 63 + [0]], dtype=np.uint8)
    d, ind = HammingIndex().fit(db).kneighbors([[0] * 64], n_neighbors=3)
    assert ind.tolist() == [[1, 2, 0]]
    assert d[0, 2] == np.uint64(2**64 - 1)


@pytest.mark.parametrize("ranking", ["code", "hamming"])
@pytest.mark.parametrize("n_bits", [6, 70])
def test_radius_neighbors(ranking, n_bits):
    rng = np.random.default_rng(3)
    db = random_codes(rng, 50, n_bits, 12)
    q = random_codes(rng, 5, n_bits, None)
    index = HammingIndex(ranking=ranking).fit(db)
    for r in (0, 2, 5, n_bits):
        dist, ind = index.radius_neighbors(q, radius=r)
        for i in range(len(q)):
            ref = brute_rank(q[i], db, ranking)
            if ranking == "hamming":
                ref = [(d, j) for d, j in ref if d <= r]
            else:  # shares at least n_bits - r leading bits
                ref = [(d, j) for d, j in ref if d < 2**r]
            assert ind[i].tolist() == [j for _, j in ref]
            if ranking == "hamming" or n_bits <= 64:
                assert [int(x) for x in dist[i]] == [d for d, _ in ref]


def test_fit_attributes_and_packing():
    codes = np.array([[1, 0, 0, 0, 0, 0, 0, 1, 1], [0] * 9], dtype=bool)
    index = HammingIndex().fit(codes)
    assert index.n_bits_ == 9 and index.n_samples_fit_ == 2
    np.testing.assert_array_equal(index.packed_codes_, [[129, 128], [0, 0]])
    np.testing.assert_array_equal(pack_codes(codes), np.packbits(codes, axis=1))
    np.testing.assert_array_equal(pack_codes_faiss(codes), [[129, 1], [0, 0]])


@pytest.mark.parametrize("n_bits", [16, 13, 64])
def test_to_faiss_round_trip(n_bits):
    faiss = pytest.importorskip("faiss")
    rng = np.random.default_rng(n_bits)
    db = random_codes(rng, 200, n_bits, 40)
    q = random_codes(rng, 20, n_bits, None)
    index = HammingIndex(ranking="hamming").fit(db)
    fidx = index.to_faiss()
    assert isinstance(fidx, faiss.IndexBinaryFlat) and fidx.ntotal == 200
    D, ind_faiss = fidx.search(pack_codes_faiss(q), 200)
    full = (q[:, None, :] != db[None, :, :]).sum(-1)
    np.testing.assert_array_equal(D, np.take_along_axis(full, ind_faiss, 1))
    d, _ = index.kneighbors(q, n_neighbors=200)
    np.testing.assert_array_equal(D, d)


def test_faiss_backend_identical_to_numpy():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(5)
    db = random_codes(rng, 500, 16, 30)  # many ties
    q = random_codes(rng, 30, 16, None)
    a = HammingIndex(ranking="hamming", backend="faiss").fit(db)
    b = HammingIndex(ranking="hamming", backend="numpy").fit(db)
    for k in (1, 10, 120):
        for x in (q, None):
            da, ia = a.kneighbors(x, n_neighbors=k)
            db_, ib = b.kneighbors(x, n_neighbors=k)
            np.testing.assert_array_equal(ia, ib)
            np.testing.assert_array_equal(da, db_)


@pytest.mark.parametrize(
    "codes,match",
    [
        (np.array([0, 1, 1]), "2-D"),
        (np.zeros((0, 4)), "empty"),
        (np.zeros((3, 0)), "empty"),
        (np.array([[0, 2]]), "only 0 and 1"),
        (np.array([[0, -1]]), "only 0 and 1"),
        (np.array([[0.0, 0.5]]), "other than exactly 0.0 and 1.0"),
        (np.array([["0", "1"]]), "has dtype <U1"),
    ],
)
def test_bad_codes(codes, match):
    with pytest.raises(ValueError, match=match):
        HammingIndex().fit(codes)


def test_float_codes_of_exact_zeros_and_ones_are_codes():
    rng = np.random.default_rng(0)
    db = rng.integers(0, 2, (50, 12), dtype=np.uint8)
    q = rng.integers(0, 2, (5, 12), dtype=np.uint8)
    for ranking in ("code", "hamming"):
        ints = HammingIndex(ranking=ranking).fit(db).kneighbors(q, n_neighbors=4)
        floats = HammingIndex(ranking=ranking).fit(db.astype(np.float32)).kneighbors(
            q.astype(np.float64), n_neighbors=4)
        for a, b in zip(ints, floats):
            np.testing.assert_array_equal(a, b)


def test_bad_parameters_and_queries():
    db = np.zeros((4, 8), dtype=np.uint8)
    with pytest.raises(ValueError, match="ranking='xor'"):
        HammingIndex(ranking="xor").fit(db)
    with pytest.raises(ValueError, match="backend="):
        HammingIndex(backend="gpu").fit(db)
    with pytest.raises(ValueError, match="only supports ranking='hamming'"):
        HammingIndex(backend="faiss").fit(db)
    with pytest.raises(NotFittedError, match="not fitted"):
        HammingIndex().kneighbors(db)
    index = HammingIndex().fit(db)
    with pytest.raises(ValueError, match="bits"):
        index.kneighbors(np.zeros((2, 9), dtype=np.uint8), n_neighbors=2)
    with pytest.raises(ValueError, match="n_neighbors=5"):
        index.kneighbors(db, n_neighbors=5)
    with pytest.raises(ValueError, match="n_neighbors=4"):
        index.kneighbors(None, n_neighbors=4)
    with pytest.raises(ValueError, match="radius"):
        index.radius_neighbors(db, radius=-1)
    with pytest.raises(ValueError, match="batch_size"):
        HammingIndex(batch_size=0).fit(db).kneighbors(db, n_neighbors=1)


def test_get_set_params():
    index = HammingIndex(ranking="hamming")
    assert index.get_params()["ranking"] == "hamming"
    assert index.set_params(batch_size=4).batch_size == 4
    assert "HammingIndex(" in repr(index)


@pytest.mark.parametrize("n_bits", [64, 60])
def test_code_ranking_codes_differing_only_in_last_bits(n_bits):
    # clusters sharing long prefixes: exercises the packed-sort tie fallback
    rng = np.random.default_rng(11)
    heads = rng.integers(0, 2, (6, n_bits - 9), dtype=np.uint8)
    db = np.hstack([heads[rng.integers(0, 6, 3000)], rng.integers(0, 2, (3000, 9))])
    db = db.astype(np.uint8)
    q = np.vstack([db[:20], rng.integers(0, 2, (20, n_bits))]).astype(np.uint8)
    weights = [1 << (n_bits - 1 - j) for j in range(n_bits)]
    keys = np.array([sum(w for w, b in zip(weights, row, strict=True) if b) for row in db], dtype=object)
    index = HammingIndex(ranking="code", batch_size=16).fit(db)
    for k in (5, 600, 2999):
        d, ind = index.kneighbors(q, n_neighbors=k)
        for i in range(0, len(q), 3):
            qk = sum(w for w, b in zip(weights, q[i], strict=True) if b)
            ref = sorted(range(len(db)), key=lambda j: (int(keys[j]) ^ qk, j))[:k]
            assert ind[i].tolist() == ref


def test_hamming_threshold_retry_when_sample_misleads():
    # the column sample (every 2nd item) over-represents exact matches, so
    # the first threshold holds fewer than k items and must be raised
    n, n_bits = 4200, 16
    q = np.zeros((1, n_bits), dtype=np.uint8)
    db = np.zeros((n, n_bits), dtype=np.uint8)
    db[:, :8] = 1  # distance 8 ...
    near = np.arange(0, 2000, 2)
    db[near] = 0  # ... except 1000 exact matches at sampled columns
    odd = np.arange(1, n, 2)
    db[odd, :8] = 0
    db[odd, 8:11] = 1  # distance 3 at unsampled columns
    full = (db != q).sum(1)
    for k in (1000, 1040, 1049):
        d, ind = HammingIndex(ranking="hamming").fit(db).kneighbors(q, n_neighbors=k)
        ref = np.argsort(full, kind="stable")[:k]
        np.testing.assert_array_equal(ind[0], ref)
        np.testing.assert_array_equal(d[0], full[ref])


def test_code_ranking_mixed_block_depths_in_one_batch():
    # one query needs the whole database (p = 0), others deep blocks
    rng = np.random.default_rng(12)
    n_bits = 64
    db = rng.integers(0, 2, (3000, n_bits), dtype=np.uint8)
    db[:1500, 0] = 0
    db[1500:, 0] = 1
    db[:40, :60] = db[0, :60]  # 40 codes sharing 60 leading bits
    q = np.vstack([db[:8], 1 - db[:2]]).astype(np.uint8)
    weights = [1 << (n_bits - 1 - j) for j in range(n_bits)]
    keys = [sum(w for w, b in zip(weights, row, strict=True) if b) for row in db]
    index = HammingIndex(ranking="code", batch_size=64).fit(db)
    for k in (3, 30, 1600):
        _, ind = index.kneighbors(q, n_neighbors=k)
        for i in range(len(q)):
            qk = sum(w for w, b in zip(weights, q[i], strict=True) if b)
            ref = sorted(range(len(db)), key=lambda j: (keys[j] ^ qk, j))[:k]
            assert ind[i].tolist() == ref


@pytest.mark.parametrize("n_bits,n_distinct", [(16, 200), (64, None)])
def test_hamming_small_and_large_k_paths(n_bits, n_distinct):
    # k << n (whole threshold level kept) and k ~ n / 8 (level trimmed)
    rng = np.random.default_rng(13)
    db = random_codes(rng, 5000, n_bits, n_distinct)
    q = random_codes(rng, 30, n_bits, None)
    full = (q[:, None, :] != db[None, :, :]).sum(-1)
    index = HammingIndex(ranking="hamming", batch_size=16).fit(db)
    for k in (3, 50, 700):
        d, ind = index.kneighbors(q, n_neighbors=k)
        ref = np.argsort(full, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(ind, ref)
        np.testing.assert_array_equal(d, np.take_along_axis(full, ref, 1))


def test_hamming_threshold_steps_down_and_up_in_one_batch():
    # the column sample (every 4th item) sits at distance 12 from the zero
    # query while the others are at 1..3: its estimate is far too high and
    # must step down several levels; the all-ones query sees the reverse
    n, n_bits = 5000, 16
    db = np.zeros((n, n_bits), dtype=np.uint8)
    cols = np.arange(n)
    sampled = cols % (n // 1024) == 0
    db[sampled, :12] = 1
    for j in np.flatnonzero(~sampled):
        db[j, : 1 + j % 3] = 1
    rng = np.random.default_rng(14)
    q = np.vstack([np.zeros(n_bits), np.ones(n_bits), random_codes(rng, 4, n_bits)])
    q = q.astype(np.uint8)
    full = (q[:, None, :] != db[None, :, :]).sum(-1)
    index = HammingIndex(ranking="hamming", batch_size=len(q)).fit(db)
    for k in (1, 900, 1100):
        d, ind = index.kneighbors(q, n_neighbors=k)
        ref = np.argsort(full, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(ind, ref)
        np.testing.assert_array_equal(d, np.take_along_axis(full, ref, 1))


@pytest.mark.parametrize("widths", [
    [1] * 1000,                        # narrow blocks: chunks of the row cap
    [70000] * 20,                      # wider than the element budget: 8 rows
    list(range(1, 5000, 7)),           # growing widths: chunks shrink
])
def test_width_chunks_cover_every_row_once_within_bounds(widths):
    from sklproxy.neighbors import _code_rank as H

    width = np.asarray(widths, dtype=np.intp)
    order = np.argsort(width, kind="stable")
    chunks = H._width_chunks(order, width[order])
    np.testing.assert_array_equal(np.concatenate(chunks), order)
    for rows in chunks:
        assert 1 <= len(rows) <= H._RANK_MAX_ROWS
        assert len(rows) <= 8 or len(rows) * width[rows].max() <= H._RANK_ELEMENTS


@pytest.mark.parametrize("n_bits", [7, 64, 130])
@pytest.mark.parametrize("k", [1, 5, 64, 300])
def test_compiled_and_numpy_topk_agree(n_bits, k):
    """The numba kernel (the ``fast`` extra) and the NumPy path give the same top-k."""
    from sklproxy.neighbors._codes import codes_to_words
    from sklproxy.neighbors._hamming_rank import HammingRanker
    from sklproxy.neighbors._kernels import HAVE_NUMBA, hamming_topk

    if not HAVE_NUMBA:
        pytest.skip("numba is not installed (pip install sklproxy[fast])")
    rng = np.random.default_rng(n_bits + k)
    pool = rng.integers(0, 2, (40, n_bits), dtype=np.uint8)  # many ties
    db = codes_to_words(pool[rng.integers(0, 40, 703)])  # not a multiple of 4
    q = codes_to_words(rng.integers(0, 2, (9, n_bits), dtype=np.uint8))
    ranker = HammingRanker(db, n_bits)
    d_np, i_np = ranker.topk_numpy(q, k)
    d_nb, i_nb = hamming_topk(q, db, k, ranker.dist_dtype)
    np.testing.assert_array_equal(i_nb, i_np)
    np.testing.assert_array_equal(d_nb, d_np)
