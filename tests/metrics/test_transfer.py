"""coarse_to_fine_accuracy against a slow reference written from its definition."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from sklproxy.metrics import coarse_to_fine_accuracy

# ---------------------------------------------------------------------------
# Reference: plain loops over queries
# ---------------------------------------------------------------------------


def ref_majority(labels, order_key):
    """Most frequent label; ties to the smallest ``order_key``."""
    counts = Counter(labels)
    best = max(counts.values())
    return min((lab for lab, c in counts.items() if c == best), key=order_key)


def ref_leaf(db, dl, q, t):
    """Majority fine label of the training items sharing the query's first t bits,
    backing off to shorter prefixes until some item shares one."""
    for s in range(t, -1, -1):
        inside = [lab for code, lab in zip(db, dl, strict=True)
                  if list(code[:s]) == list(q[:s])]
        if inside:
            return ref_majority(inside, order_key=lambda lab: lab), s == t
    raise AssertionError("t = 0 always has items")


def ref_knn(db, dl, q, k):
    xor = [int("".join(str(int(a) ^ int(b)) for a, b in zip(q, x, strict=True)), 2)
           for x in db]
    order = sorted(range(len(db)), key=lambda i: (xor[i], i))[:k]
    ranked = [dl[i] for i in order]
    return ref_majority(ranked, order_key=ranked.index)


def ref_all(db, dl, q, ql, k, lengths):
    knn = np.mean([ref_knn(db, dl, code, k) == lab for code, lab in zip(q, ql, strict=True)])
    acc, cov = [], []
    for t in lengths:
        out = [ref_leaf(db, dl, code, t) for code in q]
        acc.append(np.mean([p == lab for (p, _), lab in zip(out, ql, strict=True)]))
        cov.append(np.mean([hit for _, hit in out]))
    return knn, np.array(acc), np.array(cov)


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_bits", [3, 7, 70])
@pytest.mark.parametrize("k", [1, 4, 10])
def test_matches_reference(n_bits, k):
    rng = np.random.default_rng(n_bits * 10 + k)
    # few distinct codes, so that leaves hold several items and ties happen
    pool = rng.integers(0, 2, size=(9, n_bits))
    db = pool[rng.integers(0, 9, size=60)]
    q = np.concatenate([pool[rng.integers(0, 9, size=15)],
                        rng.integers(0, 2, size=(10, n_bits))])  # some unseen codes
    dl = rng.integers(0, 4, size=60)
    ql = rng.integers(0, 4, size=25)
    lengths = sorted({0, 1, n_bits // 2, n_bits - 1, n_bits})
    out = coarse_to_fine_accuracy(db, dl, q, ql, n_neighbors=k, prefix_lengths=lengths)
    knn, acc, cov = ref_all(db, dl, q, ql, k, lengths)
    assert out.knn_accuracy == pytest.approx(knn)
    np.testing.assert_allclose(out.leaf_accuracy, acc)
    np.testing.assert_allclose(out.leaf_coverage, cov)
    assert out.prefix_lengths.tolist() == lengths


def test_default_lengths_and_string_labels():
    db = np.array([[0, 0, 1], [0, 1, 0], [1, 1, 1], [1, 1, 0]])
    dl = np.array(["shirt", "coat", "boot", "boot"])
    q = np.array([[0, 1, 1], [1, 0, 0]])
    ql = np.array(["coat", "boot"])
    out = coarse_to_fine_accuracy(db, dl, q, ql, n_neighbors=1)
    assert out.prefix_lengths.tolist() == [0, 1, 2, 3]
    # t=0: "boot" (2 of 4); t=1: [0..] tie coat/shirt -> "coat" (sorted first), [1..] boot
    # t=2: [01] -> coat, [10] unseen -> backs off to [1] -> boot; t=3 the same (coverage drops)
    assert out.leaf_accuracy.tolist() == [0.5, 1.0, 1.0, 1.0]
    assert out.leaf_coverage.tolist() == [1.0, 1.0, 0.5, 0.0]
    # nearest in code order: [0,1,1] -> [0,1,0] (coat), [1,0,0] -> [1,1,0] / [1,1,1]: boot
    assert out.knn_accuracy == 1.0
    assert isinstance(out.as_dict()["knn_accuracy"], float)


def test_perfect_and_permutation_invariant():
    rng = np.random.default_rng(0)
    db = rng.integers(0, 2, size=(40, 8))
    dl = rng.integers(0, 3, size=40)
    out = coarse_to_fine_accuracy(db, dl, db, dl, n_neighbors=1)
    assert out.knn_accuracy == pytest.approx(np.mean([ref_knn(db, dl, c, 1) == lab
                                                      for c, lab in zip(db, dl, strict=True)]))
    assert out.leaf_coverage[-1] == 1.0
    perm = rng.permutation(40)[:20]
    a = coarse_to_fine_accuracy(db, dl, db[perm], dl[perm], n_neighbors=5)
    b = coarse_to_fine_accuracy(db, dl, db[perm[::-1]], dl[perm[::-1]], n_neighbors=5)
    assert a.knn_accuracy == b.knn_accuracy
    np.testing.assert_allclose(a.leaf_accuracy, b.leaf_accuracy)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_neighbors": 0}, "n_neighbors=0"),
    ({"n_neighbors": 5}, "n_neighbors=5"),
    ({"prefix_lengths": [4], "n_neighbors": 1}, "prefix_lengths"),
    ({"prefix_lengths": [0.5], "n_neighbors": 1}, "prefix_lengths"),
])
def test_errors(kwargs, match):
    db = np.zeros((4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=match):
        coarse_to_fine_accuracy(db, [0, 1, 0, 1], db[:2], [0, 1], **kwargs)


def test_shape_errors():
    db = np.zeros((4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="bits"):
        coarse_to_fine_accuracy(db, [0, 1, 0, 1], np.zeros((2, 4)), [0, 1])
    with pytest.raises(ValueError, match="train_labels"):
        coarse_to_fine_accuracy(db, [0, 1, 0], db[:2], [0, 1])
