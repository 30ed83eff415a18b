"""Coarse-to-fine transfer: do codes trained on coarse labels recover fine ones?

The thesis's transfer test for DDTL: fit a hasher on super-classes, then ask
whether the codes of the training items, read with their *fine* labels,
classify the fine class of new items. Two readings, both on the training
codes as the database:

* **majority per leaf**, at each prefix length ``t``: a query's leaf is the
  set of training items whose first ``t`` bits equal the query's; the
  prediction is the most frequent fine label in it. A leaf no training item
  reaches backs off to the longest shorter prefix that some item shares
  (the query's nearest populated ancestor). ``t = 0`` predicts the most
  frequent fine label overall.
* **k nearest codes in code order**: the ``k`` training codes ranked first
  by ``query XOR item`` read as an unsigned integer (column 0 most
  significant, ties by ascending training index, exactly as
  :class:`sklproxy.neighbors.HammingIndex` with ``ranking="code"``); the
  prediction is their most frequent fine label.

Ties between equally frequent labels go, in both readings, to the label
ranked first: for k-NN the label of the nearest of the tied neighbours, for
a leaf the smallest label (in sorted order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..neighbors._codes import check_codes, check_same_bits, codes_to_words
from ._cluster import _check_finite_labels

__all__ = ["CoarseToFine", "coarse_to_fine_accuracy"]


@dataclass(frozen=True)
class CoarseToFine:
    """Fine-label accuracy of codes; see :func:`coarse_to_fine_accuracy`.

    Attributes
    ----------
    knn_accuracy : float
        Accuracy of the majority fine label of the ``n_neighbors`` nearest
        training codes in code order.
    n_neighbors : int
    prefix_lengths : ndarray of shape (n_prefixes,)
        Prefix lengths in bits (over the whole code, class bits included).
    leaf_accuracy : ndarray of shape (n_prefixes,)
        Accuracy of the majority fine label of the query's leaf at each
        prefix length (with back-off to the nearest populated ancestor).
    leaf_coverage : ndarray of shape (n_prefixes,)
        Share of queries whose own leaf holds at least one training item
        (no back-off needed).
    """

    knn_accuracy: float
    n_neighbors: int
    prefix_lengths: NDArray[np.intp]
    leaf_accuracy: NDArray[np.float64]
    leaf_coverage: NDArray[np.float64]

    def as_dict(self) -> dict:
        return {"knn_accuracy": self.knn_accuracy, "n_neighbors": self.n_neighbors,
                "prefix_lengths": self.prefix_lengths.tolist(),
                "leaf_accuracy": self.leaf_accuracy.tolist(),
                "leaf_coverage": self.leaf_coverage.tolist()}


def _encode(train_labels: ArrayLike, test_labels: ArrayLike, n_train: int, n_test: int
            ) -> tuple[NDArray[np.intp], NDArray[np.intp], int]:
    a, b = np.asarray(train_labels), np.asarray(test_labels)
    for name, lab, n in (("train_labels", a, n_train), ("test_labels", b, n_test)):
        if lab.ndim != 1 or lab.shape[0] != n:
            raise ValueError(f"{name} must be 1-D with one fine label per code ({n}); "
                             f"got shape {lab.shape}.")
    _check_finite_labels(("train_labels", a), ("test_labels", b))
    classes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    inverse = inverse.ravel()
    return inverse[:n_train], inverse[n_train:], len(classes)


def _prefix_ids(words: NDArray[np.uint64], t: int) -> NDArray[np.intp]:
    """Integer id of the first ``t`` bits of every code (equal prefixes, equal ids).

    ``words`` are left-aligned (:func:`~sklproxy.neighbors._codes.codes_to_words`):
    bit 0 is the most significant bit of word 0.
    """
    if t == 0:
        return np.zeros(len(words), dtype=np.intp)
    n_words, rest = -(-t // 64), t % 64
    cut = words[:, :n_words].copy()
    if rest:
        cut[:, -1] &= np.uint64(((1 << rest) - 1) << (64 - rest))
    if n_words == 1:
        return np.unique(cut[:, 0], return_inverse=True)[1].ravel()
    return np.unique(cut, axis=0, return_inverse=True)[1].ravel()


def _leaf_majority(db_words: NDArray[np.uint64], q_words: NDArray[np.uint64],
                   train_y: NDArray[np.intp], n_labels: int, lengths: set[int]
                   ) -> tuple[dict[int, NDArray[np.intp]], dict[int, NDArray[np.bool_]]]:
    """Leaf-majority predictions and coverage (own leaf populated) for each length."""
    n_db, n_q = len(db_words), len(q_words)
    both = np.concatenate([db_words, q_words])
    pred = np.zeros(n_q, dtype=np.intp)
    out_pred, out_cov = {}, {}
    for t in range(0, max(lengths) + 1):
        ids = _prefix_ids(both, t)
        n_ids = ids.max() + 1
        counts = np.zeros((n_ids, n_labels), dtype=np.int64)
        np.add.at(counts, (ids[:n_db], train_y), 1)
        populated = counts.sum(axis=1) > 0
        q_ids = ids[n_db:]
        has = populated[q_ids]
        pred = np.where(has, counts.argmax(axis=1)[q_ids], pred)  # back off: keep the ancestor's
        if t in lengths:
            out_pred[t], out_cov[t] = pred.copy(), has
    return out_pred, out_cov


def coarse_to_fine_accuracy(
    train_codes: ArrayLike,
    train_labels: ArrayLike,
    test_codes: ArrayLike,
    test_labels: ArrayLike,
    *,
    n_neighbors: int = 10,
    prefix_lengths: ArrayLike | None = None,
) -> CoarseToFine:
    """How well codes fitted on coarse labels classify fine labels.

    Both readings of the module docstring: the majority fine label of the
    query's leaf at each prefix length, and the majority fine label of its
    ``n_neighbors`` nearest training codes in code order (XOR order, ties
    by training index). Use it on codes of a hasher fitted on super-classes,
    with the fine labels of the same training items: e.g. DDTL fitted on
    Fashion-MNIST's 5 super-classes, read with the 10 classes.

    Parameters
    ----------
    train_codes : array-like of shape (n_train, n_bits)
        The database: codes of the items the hasher was fitted on.
    train_labels : array-like of shape (n_train,)
        Their fine labels (any sortable values).
    test_codes : array-like of shape (n_test, n_bits)
    test_labels : array-like of shape (n_test,)
        Fine labels of the queries.
    n_neighbors : int, default=10
        ``k`` of the k-NN reading, at most ``n_train``.
    prefix_lengths : array-like of int or None, default=None
        Prefix lengths, in bits over the whole code, of the leaf reading;
        None means ``0, 1, ..., n_bits``. For DDTL codes with ``c`` class
        bits, ``t = c + l`` is "class bits and the first ``l`` path bits".

    Returns
    -------
    CoarseToFine
        ``knn_accuracy``, ``leaf_accuracy`` (one per prefix length) and
        ``leaf_coverage``.

    Examples
    --------
    >>> train = [[0, 0], [0, 1], [1, 0], [1, 1]]
    >>> fine = [0, 1, 2, 3]
    >>> out = coarse_to_fine_accuracy(train, fine, [[0, 1], [1, 1]], [1, 2], n_neighbors=1)
    >>> out.knn_accuracy, out.leaf_accuracy.tolist()
    (0.5, [0.0, 0.5, 0.5])
    """
    db = check_codes(train_codes, name="train_codes")
    q = check_codes(test_codes, name="test_codes")
    check_same_bits(q, db, ("test_codes", "train_codes"))
    n_bits = db.shape[1]
    train_y, test_y, n_labels = _encode(train_labels, test_labels, len(db), len(q))
    if (not isinstance(n_neighbors, (int, np.integer)) or isinstance(n_neighbors, bool)
            or not 1 <= n_neighbors <= len(db)):
        raise ValueError(f"n_neighbors={n_neighbors!r} is invalid; use an int between 1 and "
                         f"{len(db)} (the number of training codes).")
    if prefix_lengths is None:
        lengths = np.arange(n_bits + 1)
    else:
        lengths = np.asarray(prefix_lengths)
        if lengths.ndim != 1 or lengths.size == 0 or lengths.dtype.kind not in "iu":
            raise ValueError(f"prefix_lengths must be a non-empty 1-D sequence of ints; "
                             f"got {prefix_lengths!r}.")
        if lengths.min() < 0 or lengths.max() > n_bits:
            raise ValueError(f"prefix_lengths must lie in [0, n_bits={n_bits}]; got values "
                             f"from {lengths.min()} to {lengths.max()}.")
    db_words, q_words = codes_to_words(db), codes_to_words(q)
    preds, cover = _leaf_majority(db_words, q_words, train_y, n_labels,
                                  set(lengths.tolist()))
    leaf_acc = np.array([(preds[t] == test_y).mean() for t in lengths.tolist()])
    leaf_cov = np.array([cover[t].mean() for t in lengths.tolist()], dtype=np.float64)
    knn = _knn_predict(db, q, train_y, n_labels, int(n_neighbors))
    return CoarseToFine(float((knn == test_y).mean()), int(n_neighbors), lengths.astype(np.intp),
                        leaf_acc.astype(np.float64), leaf_cov)


def _knn_predict(db: NDArray[np.uint8], q: NDArray[np.uint8], train_y: NDArray[np.intp],
                 n_labels: int, k: int) -> NDArray[np.intp]:
    """Majority label of the ``k`` nearest codes in code order; ties to the nearest label."""
    from ..neighbors import HammingIndex

    nearest = HammingIndex(ranking="code").fit(db).kneighbors(q, k, return_distance=False)
    labels = train_y[nearest]                                             # (n_q, k) in rank order
    votes = np.zeros((len(q), n_labels), dtype=np.int64)
    np.add.at(votes, (np.repeat(np.arange(len(q)), k), labels.ravel()), 1)
    best = votes.max(axis=1)
    # the first ranked neighbour whose label has the most votes
    winner = votes[np.arange(len(q))[:, None], labels] == best[:, None]   # (n_q, k)
    return labels[np.arange(len(q)), winner.argmax(axis=1)]
