"""Displays of clusterings: sample images per cluster, accuracy of each DHOG head."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils import check_random_state

from ._base import (
    Display,
    GridDisplay,
    as_display_images,
    as_numpy,
    blank,
    image_shape_of,
    majority_label,
    show_image,
)

__all__ = ["ClusterGridDisplay", "HeadAccuracyDisplay"]


class ClusterGridDisplay(GridDisplay):
    """Sample images of each cluster, one row per cluster.

    Works for any clustering: the labels of a
    :class:`~sklproxy.cluster.DHOGClusterer` head, of k-means, etc. With
    labels ``y``, each row is captioned with its most common class (named by
    ``display_labels``). Create it with :meth:`from_estimator` or
    :meth:`from_predictions`.

    Parameters
    ----------
    clusters : ndarray of shape (n_shown_clusters,)
        Cluster ids, in row order.
    cluster_images : list of ndarray
        Per cluster, up to ``n_images`` images in [0, 1].
    counts : ndarray of shape (n_shown_clusters,)
        Items in each cluster.
    majority : list or None
        Per cluster, ``(class name, share)`` of its most common class, or None.
    title : str or None
        Figure title.

    Attributes
    ----------
    axes_ : ndarray of Axes, shape (n_shown_clusters, 1 + n_images)
    images_ : list of list of AxesImage
    texts_ : list of matplotlib Text
        The row captions.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.displays import ClusterGridDisplay
    >>> X = np.random.RandomState(0).rand(12, 8, 8)
    >>> disp = ClusterGridDisplay.from_predictions([0, 1, 2] * 4, X, n_images=3,
    ...                                            y=[0] * 12, display_labels=["shoe"])
    >>> disp.axes_.shape, disp.counts.tolist(), disp.majority[0]
    ((3, 4), [4, 4, 4], ('shoe', 1.0))
    """

    _cell = 0.8

    def __init__(self, clusters: NDArray[Any], cluster_images: list[NDArray[Any]],
                 counts: NDArray[np.int64], *, majority: list[tuple[str, float] | None] | None = None,
                 title: str | None = None) -> None:
        self.clusters = clusters
        self.cluster_images = cluster_images
        self.counts = counts
        self.majority = majority
        self.title = title

    def _grid_shape(self) -> tuple[int, int]:
        return len(self.clusters), 1 + max((len(im) for im in self.cluster_images), default=0)

    def _draw(self, axes: Any) -> None:
        heads = [f"cluster {cluster}" for cluster in self.clusters]
        self.texts_, self.images_ = draw_rows(axes, heads, self.counts, self.majority,
                                              self.cluster_images)
        if self.title:
            axes[0, 0].figure.suptitle(self.title, fontsize=9)

    @classmethod
    def from_predictions(
        cls,
        labels: ArrayLike,
        X: ArrayLike,
        *,
        y: ArrayLike | None = None,
        display_labels: Any = None,
        n_images: int = 10,
        max_clusters: int | None = None,
        image_shape: tuple[int, ...] | None = None,
        random_state: int | np.random.RandomState | None = 0,
        title: str | None = None,
        ax: Any = None,
    ) -> ClusterGridDisplay:
        """Plot clusters given each item's cluster label.

        Parameters
        ----------
        labels : array-like of shape (n_samples,)
        X : array-like of shape (n_samples, ...)
            Images: ``(n, H, W)``, ``(n, C, H, W)`` or flattened with ``image_shape``.
        y : array-like of shape (n_samples,) or None, default=None
            Class labels, to caption each cluster with its most common class.
        display_labels : sequence or dict or None, default=None
            Names of the classes: ``display_labels[k]`` for integer label
            ``k``, or a mapping from label to name; None shows the labels.
        n_images : int, default=10
            Images per cluster, drawn at random.
        max_clusters : int or None, default=None
            Show only the largest clusters.
        image_shape : tuple or None, default=None
        random_state : int, RandomState or None, default=0
        title : str or None, default=None
        ax : Axes, array-like of Axes or None, default=None

        Returns
        -------
        display : ClusterGridDisplay
        """
        X, labels = as_numpy(X), np.asarray(labels)
        if labels.shape != (len(X),):
            raise ValueError(f"labels must have shape ({len(X)},); got {labels.shape}.")
        rng = check_random_state(random_state)
        shown = as_display_images(X, image_shape)
        clusters, counts = np.unique(labels, return_counts=True)
        order = np.lexsort((clusters, -counts)) if max_clusters else np.arange(len(clusters))
        order = order[:max_clusters] if max_clusters else order
        members = [np.flatnonzero(labels == clusters[i]) for i in order]
        images = [shown[np.sort(rng.permutation(m)[:n_images])] for m in members]
        majority = None if y is None else [majority_label(np.asarray(y)[m], display_labels)
                                           for m in members]
        return cls(clusters[order], images, counts[order], majority=majority,
                   title=title).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator: Any, X: ArrayLike, *, head: int | None = None,
                       **kwargs: Any) -> ClusterGridDisplay:
        """Cluster ``X`` with a fitted clusterer and plot the clusters.

        Parameters
        ----------
        estimator : fitted clusterer
            Uses ``predict(X)``; with ``head``, ``predict_heads(X)[:, head]``
            (:class:`~sklproxy.cluster.DHOGClusterer`).
        X : array-like
        head : int or None, default=None
            Which DHOG head to show; None: the estimator's ``predict``
            (DHOG's selected head, ``best_head_``).
        **kwargs
            ``y``, ``display_labels``, ``n_images``, ``max_clusters``,
            ``image_shape`` (default: the estimator's fitted image shape),
            ``random_state``, ``ax``: as in :meth:`from_predictions`.

        Returns
        -------
        display : ClusterGridDisplay
        """
        if head is None:
            labels = estimator.predict(X)
            title = (f"selected head {estimator.best_head_}" if hasattr(estimator, "best_head_")
                     else None)
        else:
            labels = estimator.predict_heads(X)[:, head]
            title = f"head {head}"
        kwargs.setdefault("image_shape", image_shape_of(estimator))
        return cls.from_predictions(labels, X, title=title, **kwargs)


def draw_rows(axes: Any, heads: list[str], counts: Any, majority: list | None,
              images: list[NDArray[Any]]) -> tuple[list[Any], list[list[Any]]]:
    """One grid row per item group: a caption cell (name, count, majority label), then images.

    Returns ``(texts, images)``: the caption Text of each row and the
    AxesImages of each row; cells without an image are blanked.
    """
    texts, shown = [], []
    for r, head in enumerate(heads):
        caption = f"{head}\nn={int(counts[r])}"
        if majority is not None and majority[r] is not None:
            name, share = majority[r]
            caption += f"\n{name}: {100 * share:.0f}%"
        blank(axes[r, 0])
        texts.append(axes[r, 0].text(0.5, 0.5, caption, ha="center", va="center", fontsize=7,
                                     transform=axes[r, 0].transAxes))
        row = []
        for c, cell in enumerate(axes[r, 1:]):
            if c < len(images[r]):
                row.append(show_image(cell, images[r][c]))
            else:
                blank(cell)
        shown.append(row)
    return texts, shown


class HeadAccuracyDisplay(Display):
    """Accuracy of each clustering head, shallow to deep, and the head chosen without labels.

    Bars give each head's accuracy under the best one-to-one matching of
    clusters to classes (:func:`sklproxy.metrics.cluster_accuracy`); the
    unsupervised selection score of each head (DHOG's ``head_scores_``) is
    drawn as a line on the same 0-1 axis and the selected head's bar is
    outlined.

    Parameters
    ----------
    accuracies : ndarray of shape (n_heads,)
    head_scores : ndarray of shape (n_heads,) or None
    best_head : int or None

    Attributes
    ----------
    bars_ : matplotlib BarContainer
    score_line_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklproxy.displays import HeadAccuracyDisplay
    >>> disp = HeadAccuracyDisplay.from_predictions(
    ...     [0, 0, 1, 1], [[0, 0], [0, 1], [1, 0], [1, 1]], head_scores=[0.9, 0.1], best_head=0)
    >>> disp.accuracies.tolist(), len(disp.bars_)
    ([1.0, 0.5], 2)
    """

    _figsize = (5.5, 3.2)

    def __init__(self, accuracies: NDArray[np.float64], *, head_scores: ArrayLike | None = None,
                 best_head: int | None = None) -> None:
        self.accuracies = accuracies
        self.head_scores = head_scores
        self.best_head = best_head

    def _draw(self, ax: Any) -> None:
        heads = np.arange(len(self.accuracies))
        self.bars_ = ax.bar(heads, self.accuracies, color="tab:blue", alpha=0.8,
                            label="accuracy (Hungarian)")
        if self.best_head is not None:
            self.bars_[self.best_head].set_edgecolor("black")
            self.bars_[self.best_head].set_linewidth(2)
        self.score_line_ = None
        if self.head_scores is not None:
            (self.score_line_,) = ax.plot(heads, np.asarray(self.head_scores), "o-",
                                          color="tab:orange", label="selection score (no labels)")
        ax.set_xticks(heads)
        ax.set_xlabel("head (shallow to deep)")
        ax.set_ylim(0, 1)
        title = "accuracy per head"
        if self.best_head is not None:
            title += f"; selected head {self.best_head} outlined"
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="lower right")

    @classmethod
    def from_predictions(cls, y_true: ArrayLike, head_labels: ArrayLike, *,
                         head_scores: ArrayLike | None = None, best_head: int | None = None,
                         ax: Any = None) -> HeadAccuracyDisplay:
        """Accuracy of each column of ``head_labels`` against ``y_true``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
        head_labels : array-like of shape (n_samples, n_heads)
        head_scores : array-like of shape (n_heads,) or None, default=None
        best_head : int or None, default=None
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        display : HeadAccuracyDisplay
        """
        from ..metrics import cluster_accuracy

        labels, y_true = np.asarray(head_labels), np.asarray(y_true)
        if labels.ndim != 2 or len(labels) != len(y_true):
            raise ValueError(
                f"head_labels must have shape (n_samples, n_heads) with n_samples={len(y_true)}; "
                f"got {labels.shape}."
            )
        acc = np.array([cluster_accuracy(y_true, labels[:, h]) for h in range(labels.shape[1])])
        return cls(acc, head_scores=head_scores, best_head=best_head).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator: Any, X: ArrayLike, y: ArrayLike, *,
                       ax: Any = None) -> HeadAccuracyDisplay:
        """Accuracy of every head of a fitted DHOGClusterer on ``(X, y)``.

        Uses ``predict_heads(X)``, and ``head_scores_`` (computed on the
        training data) and ``best_head_`` for the selection.

        Returns
        -------
        display : HeadAccuracyDisplay
        """
        return cls.from_predictions(y, estimator.predict_heads(X),
                                    head_scores=getattr(estimator, "head_scores_", None),
                                    best_head=getattr(estimator, "best_head_", None), ax=ax)
