"""CrPCA: classifier bits plus repeated-PCA path bits (the DDTL baseline)."""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import (
    check_is_fitted,
)

from ..utils import encode_class_labels, validate_input
from ._codes import CodeOutputMixin

__all__ = ["CrPCA"]


def _first_component(A: np.ndarray) -> np.ndarray:
    """Unit first principal axis of the rows of ``A``, sign fixed (largest entry > 0).

    The same axis as ``PCA(n_components=1)``, without its per-call overhead,
    which dominates for the thousands of small nodes of a deep tree.
    """
    A = A.astype(np.float64) - A.mean(axis=0)
    if A.shape[0] <= A.shape[1]:
        w = np.linalg.svd(A, full_matrices=False)[2][0]
    else:
        w = np.linalg.eigh(A.T @ A)[1][:, -1]
    return (w * np.sign(w[np.argmax(np.abs(w))])).astype(np.float32)


class CrPCA(CodeOutputMixin, TransformerMixin, BaseEstimator):
    """Classifier + repeated PCA: the hashing baseline DDTL is compared with.

    The class bits are the classifier's predicted class index in binary
    (most significant bit first), as in :class:`DDTLHasher`. The path bits
    come from a tree of median splits: the training items of each class are
    split at the median of their first principal component (``> median``
    goes right, bit 1), and each half is split again the same way, down to
    ``n_path_bits`` levels. A new item follows the tree of its *predicted*
    class. Nodes with fewer than two training items send everything left.
    Without ``y`` a single tree is built over all items and there are no
    class bits.

    Parameters
    ----------
    n_path_bits : int, default=12
        Depth of the median-split tree.
    classifier : estimator or None, default=None
        Any scikit-learn classifier, cloned and fitted on ``(X, y)``; None
        uses ``StandardScaler`` + ``LogisticRegression``.
    random_state : int, RandomState instance or None, default=None
        Passed to the default classifier; the splits are deterministic.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_class_bits_ : int
    n_bits_ : int
    classifier_ : estimator or None
    components_ : ndarray of shape (n_trees, 2**n_path_bits - 1, n_features_in_)
        Split direction of every node (heap order: children of node ``i`` are
        ``2i + 1`` and ``2i + 2``).
    thresholds_ : ndarray of shape (n_trees, 2**n_path_bits - 1)
        Median projection of every node.
    n_features_in_ : int
    input_shape_ : tuple

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklproxy.hashing import CrPCA
    >>> X, y = load_digits(return_X_y=True)
    >>> codes = CrPCA(n_path_bits=6).fit(X, y).transform(X[:3])
    >>> codes.shape, codes.dtype
    ((3, 10), dtype('uint8'))
    """

    _parameter_constraints: dict = {
        "n_path_bits": [Interval(Integral, 1, 24, closed="both")],
        "classifier": [HasMethods(["fit", "predict"]), None],
        "random_state": ["random_state"],
    }

    def __init__(self, *, n_path_bits=12, classifier=None, random_state=None):
        self.n_path_bits = n_path_bits
        self.classifier = classifier
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> CrPCA:
        """Fit the classifier (when ``y`` is given) and the median-split trees."""
        X = validate_input(self, X, reset=True, min_samples=2)
        X = X.reshape(X.shape[0], -1)
        if y is None:
            self.classes_ = np.empty(0, dtype=np.int64)
            self.n_class_bits_ = 0
            self.classifier_ = None
            groups = [np.arange(len(X))]
        else:
            codes = encode_class_labels(
                self, X, y, hint=" Pass y=None for a single unsupervised tree.")
            self.n_class_bits_ = math.ceil(math.log2(len(self.classes_)))
            base = self.classifier if self.classifier is not None else make_pipeline(
                StandardScaler(), LogisticRegression(max_iter=1000, random_state=self.random_state))
            self.classifier_ = clone(base).fit(X, y)
            groups = [np.flatnonzero(codes == c) for c in range(len(self.classes_))]
        self.n_bits_ = self.n_class_bits_ + self.n_path_bits
        trees = [self._fit_tree(X[idx]) for idx in groups]
        self.components_ = np.stack([t[0] for t in trees])
        self.thresholds_ = np.stack([t[1] for t in trees])
        return self

    def _fit_tree(self, X):
        """Median splits on the first principal component, level by level."""
        n_nodes = 2**self.n_path_bits - 1
        components = np.zeros((n_nodes, X.shape[1]), dtype=np.float32)
        thresholds = np.zeros(n_nodes, dtype=np.float32)
        members = {0: np.arange(len(X))}
        for node in range(n_nodes):
            idx = members.pop(node, np.empty(0, dtype=np.int64))
            if len(idx) >= 2 and np.ptp(X[idx], axis=0).any():
                w = _first_component(X[idx])
                proj = X[idx] @ w
                components[node], thresholds[node] = w, np.median(proj)
                right = proj > thresholds[node]
            else:
                right = np.zeros(len(idx), dtype=bool)
            members[2 * node + 1] = idx[~right]  # leaves (>= n_nodes) are never popped
            members[2 * node + 2] = idx[right]
        return components, thresholds

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Codes of shape ``(n_samples, n_bits_)``, uint8 0/1, class bits first."""
        check_is_fitted(self)
        X = validate_input(self, X, reset=False)
        X = X.reshape(X.shape[0], -1)
        if self.classifier_ is None:
            tree = np.zeros(len(X), dtype=np.int64)
            class_bits = np.zeros((len(X), 0), dtype=np.uint8)
        else:
            tree = np.searchsorted(self.classes_, self.classifier_.predict(X))
            shifts = np.arange(self.n_class_bits_ - 1, -1, -1)
            class_bits = ((tree[:, None] >> shifts) & 1).astype(np.uint8)
        node = np.zeros(len(X), dtype=np.int64)
        path = np.zeros((len(X), self.n_path_bits), dtype=np.uint8)
        for level in range(self.n_path_bits):
            w = self.components_[tree, node]                      # (n, F)
            bit = (np.einsum("nf,nf->n", X, w) > self.thresholds_[tree, node])
            path[:, level] = bit
            node = 2 * node + 1 + bit
        return np.hstack([class_bits, path])

