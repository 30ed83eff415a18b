"""Hashing metrics against slow references written from the formulas."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

from sklproxy.metrics import (
    hash_entropy,
    hash_retention,
    hash_spread,
    mean_average_precision,
    mean_collisions,
    self_retrieval_map,
    unique_code_ratio,
)

# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


def ref_distance(q, x, ranking):
    if ranking == "hamming":
        return sum(int(a) != int(b) for a, b in zip(q, x, strict=True))
    return int("".join(str(int(a) ^ int(b)) for a, b in zip(q, x, strict=True)), 2)


def ref_relevant(lq, ld):
    if np.ndim(lq) == 0:
        return lq == ld
    return any(int(a) and int(b) for a, b in zip(lq, ld, strict=True))


def ref_map(qc, dc, ql, dl, k, ranking, leave_one_out=False):
    aps = []
    for i in range(len(qc)):
        items = [
            (ref_distance(qc[i], dc[j], ranking), j)
            for j in range(len(dc))
            if not (leave_one_out and j == i)
        ]
        items.sort()
        top = items if k is None else items[:k]
        hits, total = 0, 0.0
        for rank, (_, j) in enumerate(top, start=1):
            if ref_relevant(ql[i], dl[j]):
                hits += 1
                total += hits / rank
        aps.append(total / hits if hits else 0.0)
    return sum(aps) / len(aps)


def codes_with_ties(rng, n, n_bits, n_distinct):
    pool = rng.integers(0, 2, (n_distinct, n_bits), dtype=np.uint8)
    return pool[rng.integers(0, n_distinct, n)]


# ---------------------------------------------------------------------------
# mAP
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ranking", ["code", "hamming"])
@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("n_bits", [4, 12, 70])
def test_map_matches_reference(ranking, multilabel, n_bits):
    rng = np.random.default_rng(n_bits + 100 * multilabel)
    dc = codes_with_ties(rng, 40, n_bits, 9)
    qc = np.vstack([codes_with_ties(rng, 5, n_bits, 9), rng.integers(0, 2, (3, n_bits))])
    if multilabel:
        dl = rng.integers(0, 2, (40, 4))
        ql = rng.integers(0, 2, (8, 4))
    else:
        dl = rng.choice(["cat", "dog", "eel"], 40)
        ql = rng.choice(["cat", "dog", "eel"], 8)
    for k in (1, 5, 17, 40, 100, None):
        got = mean_average_precision(qc, dc, ql, dl, k=k, ranking=ranking, batch_size=3)
        want = ref_map(qc, dc, ql, dl, k, ranking)
        assert got == pytest.approx(want, abs=1e-12), k


@pytest.mark.parametrize("ranking", ["code", "hamming"])
@pytest.mark.parametrize("multilabel", [False, True])
def test_self_retrieval_map_matches_reference(ranking, multilabel):
    rng = np.random.default_rng(7 + multilabel)
    c = codes_with_ties(rng, 35, 10, 6)  # duplicates: self not always first
    y = rng.integers(0, 2, (35, 3)) if multilabel else rng.integers(0, 3, 35)
    for k in (1, 4, 34, 50, None):
        got = self_retrieval_map(c, y, k=k, ranking=ranking, batch_size=4, n_jobs=2)
        want = ref_map(c, c, y, y, None if k is None else min(k, 34), ranking, True)
        assert got == pytest.approx(want, abs=1e-12), k


def test_code_and_hamming_rankings_differ():
    # class bits first: Hamming puts a 1-bit-different class ahead of a
    # same-class item on another tree path; the code order does not
    db = np.array([[0, 0, 1, 1, 1], [1, 0, 0, 0, 0]])
    q = np.array([[0, 0, 0, 0, 0]])
    args = (q, db, [0], [0, 1])
    assert mean_average_precision(*args, k=1, ranking="code") == 1.0
    assert mean_average_precision(*args, k=1, ranking="hamming") == 0.0


def test_map_properties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 60)
    perfect = np.eye(4, dtype=np.uint8)[y]  # one code per class
    value = mean_average_precision(perfect, perfect, y, y, k=10)
    assert value == 1.0 and isinstance(value, float)
    assert self_retrieval_map(perfect, y, k=5) == 1.0
    noisy = rng.integers(0, 2, (60, 8))
    for ranking in ("code", "hamming"):
        v = mean_average_precision(noisy[:20], noisy, y[:20], y, k=15, ranking=ranking)
        assert 0.0 <= v <= 1.0
    # no relevant item anywhere: 0
    assert mean_average_precision(noisy[:3], noisy, [9, 9, 9], y) == 0.0
    # bool and int codes agree
    a = mean_average_precision(noisy.astype(bool), noisy, y, y, k=7)
    b = mean_average_precision(noisy.astype(np.int64), noisy, y, y, k=7)
    assert a == b


def test_map_bad_inputs():
    c = np.zeros((4, 3), dtype=np.uint8)
    y = np.zeros(4)
    with pytest.raises(ValueError, match="query_codes has 3 bits"):
        mean_average_precision(c, np.zeros((4, 5), dtype=int), y, y)
    with pytest.raises(ValueError, match="db_codes must contain only 0 and 1"):
        mean_average_precision(c, c + 2, y, y)
    with pytest.raises(ValueError, match="query_labels has 3 entries"):
        mean_average_precision(c, c, y[:3], y)
    with pytest.raises(ValueError, match="1-D but db_labels is 2-D"):
        mean_average_precision(c, c, y, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="label columns"):
        mean_average_precision(c, c, np.zeros((4, 3), int), np.zeros((4, 2), int))
    with pytest.raises(ValueError, match="k=0"):
        mean_average_precision(c, c, y, y, k=0)
    with pytest.raises(ValueError, match="ranking="):
        mean_average_precision(c, c, y, y, ranking="lsh")
    with pytest.raises(ValueError, match="at least 2"):
        self_retrieval_map(c[:1], y[:1])


# ---------------------------------------------------------------------------
# Hash quality
# ---------------------------------------------------------------------------


def ref_counts(codes):
    return Counter(tuple(int(b) for b in row) for row in codes)


@pytest.mark.parametrize("n_bits", [3, 16, 64, 80])
def test_quality_metrics_match_reference(n_bits):
    rng = np.random.default_rng(n_bits)
    codes = codes_with_ties(rng, 200, n_bits, 37)
    counts = ref_counts(codes)
    n = len(codes)
    h = -sum(c / n * math.log2(c / n) for c in counts.values())
    assert hash_entropy(codes) == pytest.approx(h, abs=1e-12)
    assert unique_code_ratio(codes) == pytest.approx(len(counts) / n)
    # mean over items of the number of other items with the same code
    coll = sum(counts[tuple(int(b) for b in row)] - 1 for row in codes) / n
    assert mean_collisions(codes) == pytest.approx(coll)


def test_quality_metric_properties():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 2, (300, 10))
    perm = rng.permutation(300)
    for f in (hash_entropy, unique_code_ratio, mean_collisions):
        v = f(codes)
        assert isinstance(v, float)
        assert f(codes[perm]) == pytest.approx(v, abs=1e-12)
    assert 0 <= hash_entropy(codes) <= min(10, math.log2(300))
    assert 0 < unique_code_ratio(codes) <= 1
    distinct = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)
    assert hash_entropy(distinct) == 8.0
    assert unique_code_ratio(distinct) == 1.0
    assert mean_collisions(distinct) == 0.0
    same = np.ones((50, 4), dtype=np.uint8)
    assert hash_entropy(same) == 0.0
    assert unique_code_ratio(same) == 1 / 50
    assert mean_collisions(same) == 49.0


def test_hash_retention_matches_reference():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, (100, 12))
    b = a.copy()
    flip = rng.random(a.shape) < 0.05
    b[flip] ^= 1
    got = hash_retention(a, b)
    want = [np.mean([list(a[i, :t]) == list(b[i, :t]) for i in range(100)]) for t in range(1, 13)]
    np.testing.assert_allclose(got, want)
    assert np.all(np.diff(got) <= 0)
    np.testing.assert_allclose(hash_retention(a, b, prefix_lengths=[12, 3]), [want[11], want[2]])
    np.testing.assert_array_equal(hash_retention(a, a), np.ones(12))


def test_hash_retention_bad_inputs():
    a = np.zeros((5, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="shape"):
        hash_retention(a, a[:3])
    with pytest.raises(ValueError, match=r"\[1, n_bits=4\]"):
        hash_retention(a, a, prefix_lengths=[0, 2])
    with pytest.raises(ValueError, match="ints"):
        hash_retention(a, a, prefix_lengths=[1.5])


# ---------------------------------------------------------------------------
# Spread report
# ---------------------------------------------------------------------------


def ref_entropy(items):
    counts = Counter(items)
    n = sum(counts.values())
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def ref_spread(codes, groups, n_class_bits):
    """Per-group path entropies and bits per level, by counting prefixes item by item."""
    rows = [tuple(int(b) for b in row) for row in codes]
    names = sorted(set(groups))
    n, depth = len(rows), len(rows[0]) - n_class_bits
    group_bits, prefix = [], np.zeros(depth + 1)
    for g in names:
        members = [r for r, gi in zip(rows, groups, strict=True) if gi == g]
        group_bits.append(ref_entropy(r[n_class_bits:] for r in members))
        for length in range(depth + 1):
            prefix[length] += len(members) / n * ref_entropy(
                r[n_class_bits:n_class_bits + length] for r in members)
    return np.array(group_bits), np.diff(prefix)


def simulated_reference(sizes, depth, shared, n_draws, rng):
    """The random reference by drawing it: each group's items in uniformly random leaves."""
    out = []
    for _ in range(n_draws):
        leaves = [rng.integers(0, 2**depth, s) for s in sizes]
        keys = [(0 if shared else g, int(leaf)) for g, ls in enumerate(leaves) for leaf in ls]
        counts = Counter(keys)
        n = len(keys)
        levels = np.zeros(depth)
        for g, ls in enumerate(leaves):
            for length in range(1, depth + 1):
                shift = depth - length
                levels[length - 1] += len(ls) / n * (ref_entropy(ls >> shift)
                                                     - ref_entropy(ls >> (shift + 1)))
        out.append([ref_entropy(keys), len(counts) / n,
                    sum(c * (c - 1) for c in counts.values()) / n, *levels])
    return np.mean(out, axis=0)


@pytest.mark.parametrize("n_class_bits, n_path_bits", [(0, 6), (2, 6), (2, 70)])
def test_hash_spread_matches_reference(n_class_bits, n_path_bits):
    rng = np.random.default_rng(3 + n_class_bits)
    codes = codes_with_ties(rng, 150, n_class_bits + n_path_bits, 40)
    labels = rng.choice(["a", "b", "c"], 150)
    report = hash_spread(codes, labels, n_class_bits=n_class_bits)
    group_bits, level_bits = ref_spread(codes, list(labels), n_class_bits)
    np.testing.assert_allclose(report.codes.group_bits, group_bits, atol=1e-12)
    np.testing.assert_allclose(report.codes.level_bits, level_bits, atol=1e-12)
    assert report.codes.entropy == pytest.approx(hash_entropy(codes), abs=1e-12)
    assert report.codes.unique_ratio == unique_code_ratio(codes)
    assert report.codes.mean_collisions == mean_collisions(codes)
    assert list(report.groups) == ["a", "b", "c"] and report.group_sizes.sum() == 150
    # without labels the groups are the class bits
    by_bits = hash_spread(codes, n_class_bits=n_class_bits)
    bits = [int("".join(map(str, r[:n_class_bits])) or "0", 2) for r in codes]
    group_bits, level_bits = ref_spread(codes, bits, n_class_bits)
    np.testing.assert_allclose(by_bits.codes.group_bits, group_bits, atol=1e-12)
    np.testing.assert_allclose(by_bits.codes.level_bits, level_bits, atol=1e-12)
    assert list(by_bits.groups) == sorted(set(bits))


@pytest.mark.parametrize("shared", [False, True])
def test_random_reference_matches_simulation(shared):
    """The exact expectations agree with the mean of 400 drawn references."""
    sizes, depth = np.array([30, 9, 60]), 5
    labels = np.repeat([0, 1, 2], sizes)
    class_bits = np.zeros((len(labels), 0 if shared else 2), dtype=np.uint8)
    if not shared:
        class_bits = np.stack([labels >> 1, labels & 1], axis=1).astype(np.uint8)
    codes = np.hstack([class_bits, np.zeros((len(labels), depth), dtype=np.uint8)])
    ref = hash_spread(codes, labels, n_class_bits=class_bits.shape[1]).reference
    drawn = simulated_reference(sizes, depth, shared, 400, np.random.default_rng(0))
    got = [ref.entropy, ref.unique_ratio, ref.mean_collisions, *ref.level_bits]
    np.testing.assert_allclose(got, drawn, atol=0.02)
    assert ref.path_bits == pytest.approx(ref.level_bits.sum())


def test_random_reference_fashion_mnist_figures():
    """BENCHMARKS.md's reference for Fashion-MNIST 60k at 4 + 12 bits: 14.75 bits, 52.5 %, 1.47."""
    labels = np.repeat(np.arange(10), 6000)
    class_bits = ((labels[:, None] >> np.arange(3, -1, -1)) & 1).astype(np.uint8)
    codes = np.hstack([class_bits, np.zeros((60000, 12), dtype=np.uint8)])
    report = hash_spread(codes, labels, n_class_bits=4)
    ref = report.reference
    assert ref.entropy == pytest.approx(14.75, abs=0.005)
    assert 100 * ref.unique_ratio == pytest.approx(52.5, abs=0.05)
    assert ref.mean_collisions == pytest.approx(5999 / 4096)
    # these codes put every class in one leaf: class-only codes
    assert report.codes.entropy == pytest.approx(math.log2(10))
    assert report.codes.path_bits == 0.0 and report.entropy_gap == pytest.approx(14.75 - math.log2(10), abs=0.005)


def test_hash_spread_report_reads_and_serialises():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 4, 300)
    codes = np.hstack([np.stack([y >> 1, y & 1], axis=1), rng.integers(0, 2, (300, 6))])
    report = hash_spread(codes, y, n_class_bits=2)
    text = str(report)
    assert "random ref" in text and "bits per tree level" in text and "4 groups" in text
    d = report.as_dict()
    json.dumps(d)
    assert d["reference_entropy_bits"] == report.reference.entropy
    assert len(d["level_bits"]) == 6 and len(d["group_bits"]) == 4
    # random codes sit near their reference
    assert abs(report.entropy_gap) < 0.15
    # multi-label indicator rows group by label set
    Y = np.stack([y == 0, y < 2], axis=1).astype(int)
    assert len(hash_spread(codes, Y, n_class_bits=2).groups) == 3


def test_hash_spread_bad_inputs():
    codes = np.zeros((6, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="n_class_bits=5"):
        hash_spread(codes, n_class_bits=5)
    with pytest.raises(ValueError, match="n_class_bits=1.5"):
        hash_spread(codes, n_class_bits=1.5)
    with pytest.raises(ValueError, match="one entry"):
        hash_spread(codes, [0, 1, 0])
    with pytest.raises(ValueError, match="must contain only 0 and 1"):
        hash_spread(codes + 2)
