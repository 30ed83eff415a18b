"""Scorers for ``GridSearchCV(scoring=...)`` and ``cross_val_score``.

A scorer is a callable ``scorer(estimator, X, y) -> float``, greater is
better, as scikit-learn expects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numpy.typing import ArrayLike

from ._cluster import cluster_accuracy
from ._hashing import hash_entropy
from ._retrieval import self_retrieval_map

__all__ = ["cluster_accuracy_scorer", "hash_entropy_scorer", "map_scorer"]

Scorer = Callable[[Any, ArrayLike, Any], float]


def map_scorer(
    *,
    k: int | None = None,
    ranking: str = "code",
    batch_size: int | None = None,
    n_jobs: int | None = None,
) -> Scorer:
    """Make a scorer: self-retrieval mAP@k of ``estimator.transform(X)``.

    The returned ``scorer(estimator, X, y)`` hashes ``X`` and lets every
    sample query all the other samples of ``X`` (leave-one-out, see
    :func:`self_retrieval_map`), relevance from ``y``.

    Parameters
    ----------
    k : int or None, default=None
        Results per query; ``None`` means all.
    ranking : {"code", "hamming"}, default="code"
    batch_size, n_jobs : passed to :func:`self_retrieval_map`.

    Returns
    -------
    callable ``scorer(estimator, X, y) -> float``

    Examples
    --------
    >>> import numpy as np
    >>> class Sign:  # a stand-in hasher
    ...     def transform(self, X):
    ...         return (np.asarray(X) > 0).astype(np.uint8)
    >>> X = np.array([[1, -1], [2, -3], [-1, 1], [-2, 2]])
    >>> map_scorer(k=1)(Sign(), X, [0, 0, 1, 1])
    1.0
    """

    def scorer(estimator: Any, X: ArrayLike, y: Any = None) -> float:
        if y is None:
            raise ValueError(
                "map_scorer needs labels y to judge relevance; pass y to fit "
                "(e.g. GridSearchCV(...).fit(X, y))."
            )
        codes = estimator.transform(X)
        return self_retrieval_map(
            codes, y, k=k, ranking=ranking, batch_size=batch_size, n_jobs=n_jobs
        )

    scorer.__name__ = f"map_scorer(k={k!r}, ranking={ranking!r})"
    return scorer


def hash_entropy_scorer(estimator: Any, X: ArrayLike, y: Any = None) -> float:
    """Scorer: :func:`hash_entropy` (bits) of ``estimator.transform(X)``.

    Examples
    --------
    >>> import numpy as np
    >>> class Sign:
    ...     def transform(self, X):
    ...         return (np.asarray(X) > 0).astype(np.uint8)
    >>> hash_entropy_scorer(Sign(), [[1, 1], [1, -1], [-1, 1], [-1, -1]])
    2.0
    """
    return hash_entropy(estimator.transform(X))


def cluster_accuracy_scorer(estimator: Any, X: ArrayLike, y: Any) -> float:
    """Scorer: :func:`cluster_accuracy` of ``estimator.predict(X)`` against ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> class Sign:
    ...     def predict(self, X):
    ...         return (np.asarray(X)[:, 0] > 0).astype(int)
    >>> cluster_accuracy_scorer(Sign(), [[1], [2], [-1], [-2]], [7, 7, 3, 3])
    1.0
    """
    if y is None:
        raise ValueError(
            "cluster_accuracy_scorer needs the true labels y; pass y to fit."
        )
    return cluster_accuracy(y, estimator.predict(X))
