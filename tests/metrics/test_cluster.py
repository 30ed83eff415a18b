"""Cluster accuracy against brute force over all cluster-to-class matchings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sklproxy.metrics import cluster_accuracy, cluster_label_mapping


def ref_accuracy(y_true, y_pred):
    """Best accuracy over every one-to-one matching (unmatched = wrong)."""
    classes, clusters = sorted(set(y_true)), sorted(set(y_pred))
    best = 0
    if len(clusters) <= len(classes):
        for perm in itertools.permutations(classes, len(clusters)):
            m = dict(zip(clusters, perm, strict=True))
            best = max(best, sum(m[p] == t for t, p in zip(y_true, y_pred, strict=True)))
    else:
        for perm in itertools.permutations(clusters, len(classes)):
            m = dict(zip(perm, classes, strict=True))
            best = max(best, sum(m.get(p) == t for t, p in zip(y_true, y_pred, strict=True)))
    return best / len(y_true)


@pytest.mark.parametrize("n_classes,n_clusters", [(3, 3), (3, 5), (5, 3), (1, 4)])
def test_cluster_accuracy_matches_reference(n_classes, n_clusters):
    rng = np.random.default_rng(n_classes * 10 + n_clusters)
    for _ in range(5):
        t = rng.integers(0, n_classes, 40).tolist()
        p = rng.integers(0, n_clusters, 40).tolist()
        assert cluster_accuracy(t, p) == pytest.approx(ref_accuracy(t, p))


def test_cluster_accuracy_properties():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 4, 100)
    relabel = np.array([3, 0, 2, 1])
    v = cluster_accuracy(t, relabel[t])
    assert v == 1.0 and isinstance(v, float)
    assert cluster_accuracy(["a", "b", "b"], [7, 8, 8]) == 1.0
    p = rng.integers(0, 6, 100)
    perm = rng.permutation(100)
    assert cluster_accuracy(t, p) == cluster_accuracy(t[perm], p[perm])
    assert 0 <= cluster_accuracy(t, p) <= 1
    # one cluster for everything: accuracy of the majority class
    assert cluster_accuracy(t, np.zeros(100)) == np.bincount(t).max() / 100


def test_cluster_label_mapping_applies_to_new_data():
    m = cluster_label_mapping([0, 0, 1, 1, 1], [2, 2, 0, 0, 5])
    assert m == {2: 0, 0: 1}  # cluster 5 left unmatched


def test_cluster_accuracy_bad_inputs():
    with pytest.raises(ValueError, match="y_pred has 2"):
        cluster_accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="1-D"):
        cluster_accuracy([[0, 1]], [[0, 1]])
    with pytest.raises(ValueError, match="empty"):
        cluster_accuracy([], [])
