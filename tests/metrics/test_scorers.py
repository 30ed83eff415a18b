"""Scorers plug into scikit-learn model selection."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GridSearchCV

from sklproxy.metrics import (
    cluster_accuracy,
    cluster_accuracy_scorer,
    hash_entropy,
    hash_entropy_scorer,
    map_scorer,
    self_retrieval_map,
)


class ThresholdHasher(TransformerMixin, BaseEstimator):
    """Toy hasher: bit j = X[:, j] > threshold; predict = first bit."""

    def __init__(self, threshold=0.0):
        self.threshold = threshold

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return (np.asarray(X) > self.threshold).astype(np.uint8)

    def predict(self, X):
        return self.transform(X)[:, 0]


def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    X = rng.normal(size=(80, 6)) + 3 * y[:, None]  # separable at ~1.5
    return X, y


def test_scorers_equal_the_metrics():
    X, y = data()
    est = ThresholdHasher(1.5)
    codes = est.transform(X)
    assert map_scorer(k=10)(est, X, y) == self_retrieval_map(codes, y, k=10)
    assert map_scorer(ranking="hamming")(est, X, y) == self_retrieval_map(
        codes, y, ranking="hamming"
    )
    assert hash_entropy_scorer(est, X) == hash_entropy(codes)
    assert cluster_accuracy_scorer(est, X, y) == cluster_accuracy(y, codes[:, 0])


def test_grid_search_picks_the_separating_threshold():
    X, y = data()
    scoring = {
        "map": map_scorer(k=10),
        "entropy": hash_entropy_scorer,
        "acc": cluster_accuracy_scorer,
    }
    gs = GridSearchCV(
        ThresholdHasher(), {"threshold": [-10.0, 1.5, 10.0]}, scoring=scoring, refit="map", cv=2
    ).fit(X, y)
    assert gs.best_params_ == {"threshold": 1.5}
    assert gs.cv_results_["mean_test_acc"][1] > 0.9


def test_scorers_need_labels():
    X, _ = data()
    with pytest.raises(ValueError, match="needs labels y"):
        map_scorer()(ThresholdHasher(), X, None)
    with pytest.raises(ValueError, match="true labels"):
        cluster_accuracy_scorer(ThresholdHasher(), X, None)
