"""Clustering accuracy under the best one-to-one cluster-to-class matching."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment

__all__ = ["cluster_accuracy", "cluster_label_mapping"]


def _check_finite_labels(*named: tuple[str, NDArray[Any]]) -> None:
    """A ValueError naming the array when float labels hold NaN or infinity."""
    for name, arr in named:
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity; pass a label for every sample.")


def _contingency(
    y_true: ArrayLike, y_pred: ArrayLike
) -> tuple[NDArray[Any], NDArray[Any], NDArray[np.int64]]:
    """Classes, clusters and the ``(n_clusters, n_classes)`` count table."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    for name, arr in (("y_true", t), ("y_pred", p)):
        if arr.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D (one label per sample); got shape "
                f"{arr.shape}."
            )
    if t.shape[0] != p.shape[0]:
        raise ValueError(
            f"y_true has {t.shape[0]} samples but y_pred has {p.shape[0]}; "
            f"pass one prediction per sample."
        )
    if t.shape[0] == 0:
        raise ValueError("y_true is empty; pass at least one sample.")
    _check_finite_labels(("y_true", t), ("y_pred", p))
    classes, ti = np.unique(t, return_inverse=True)
    clusters, pi = np.unique(p, return_inverse=True)
    table = np.zeros((clusters.size, classes.size), dtype=np.int64)
    np.add.at(table, (pi.ravel(), ti.ravel()), 1)
    return classes, clusters, table


def cluster_label_mapping(y_true: ArrayLike, y_pred: ArrayLike) -> dict[Any, Any]:
    """One-to-one cluster -> class mapping maximising the matched samples.

    Hungarian matching (``scipy.optimize.linear_sum_assignment``) on the
    cluster/class contingency table. With more clusters than classes the
    extra clusters stay unmapped (absent from the dict); with fewer, some
    classes get no cluster. Fit it on training data and apply it to test
    predictions to score those.

    Examples
    --------
    >>> m = cluster_label_mapping([0, 0, 1, 1], [5, 5, 7, 7])
    >>> sorted((int(a), int(b)) for a, b in m.items())
    [(5, 0), (7, 1)]
    """
    classes, clusters, table = _contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return {clusters[r]: classes[c] for r, c in zip(rows, cols, strict=True)}


def cluster_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Accuracy of cluster assignments under the best one-to-one matching.

    Each cluster is matched to at most one class and each class to at most
    one cluster (Hungarian algorithm, ``linear_sum_assignment``) so that the
    number of correctly labelled samples is maximal; that number over
    ``n_samples`` is returned. The numbers of clusters and classes may
    differ: samples in unmatched clusters count as wrong. For NMI and ARI use
    ``sklearn.metrics.normalized_mutual_info_score`` and
    ``adjusted_rand_score``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)
        Cluster ids (any hashable values).

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> cluster_accuracy([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 2])
    1.0
    >>> cluster_accuracy([0, 0, 1, 1], [0, 1, 2, 3])
    0.5
    """
    _, _, table = _contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())
