"""RetrievalDisplay: queries and their nearest neighbours as a picture grid."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._base import GridDisplay, as_display_images, as_numpy, image_shape_of, label_names, show_image

__all__ = ["RetrievalDisplay"]

_HIT, _MISS = "tab:green", "tab:red"


class RetrievalDisplay(GridDisplay):
    """Queries (first column) and their retrieved neighbours, in ranking order.

    With labels, each neighbour's frame is green when it shares the query's
    label and red when not, and the title gives the label (its name, with
    ``display_labels``). Create it with :meth:`from_estimator` (hash with a
    fitted hasher, then search with :class:`~sklproxy.neighbors.HammingIndex`,
    or with an index you fitted) or :meth:`from_predictions` (neighbour
    indices you computed); both call :meth:`plot`.

    Parameters
    ----------
    query_images : ndarray of shape (n_queries, H, W) or (n_queries, H, W, 3)
        In [0, 1] (see :meth:`from_predictions` for raw input).
    neighbor_images : ndarray of shape (n_queries, n_neighbors, H, W[, 3])
    query_labels : ndarray of shape (n_queries,) or None
    neighbor_labels : ndarray of shape (n_queries, n_neighbors) or None
    display_labels : sequence or dict or None
        Names of the labels (see :meth:`from_predictions`).

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes, shape (n_queries, 1 + n_neighbors)
    images_ : ndarray of matplotlib AxesImage, same shape
    figure_ : matplotlib Figure
    hits_ : ndarray of bool, shape (n_queries, n_neighbors) or None
        Whether each neighbour shares the query's label.

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.displays import RetrievalDisplay
    >>> X = np.random.RandomState(0).rand(6, 8, 8)
    >>> disp = RetrievalDisplay.from_predictions(
    ...     X[:2], X, [[1, 2], [3, 4]], y_query=[0, 1], y_db=[0, 0, 1, 1, 0, 1])
    >>> disp.axes_.shape, disp.hits_.tolist()
    ((2, 3), [[True, False], [True, False]])
    """

    def __init__(
        self,
        query_images: NDArray[Any],
        neighbor_images: NDArray[Any],
        *,
        query_labels: NDArray[Any] | None = None,
        neighbor_labels: NDArray[Any] | None = None,
        display_labels: Any = None,
    ) -> None:
        self.query_images = query_images
        self.neighbor_images = neighbor_images
        self.query_labels = query_labels
        self.neighbor_labels = neighbor_labels
        self.display_labels = display_labels

    def _grid_shape(self) -> tuple[int, int]:
        return self.neighbor_images.shape[0], 1 + self.neighbor_images.shape[1]

    def _draw(self, axes: Any) -> None:
        n_q, k = self.neighbor_images.shape[:2]
        images = np.empty((n_q, 1 + k), dtype=object)
        labelled = self.query_labels is not None and self.neighbor_labels is not None
        self.hits_ = (np.asarray(self.neighbor_labels) == np.asarray(self.query_labels)[:, None]
                      if labelled else None)
        query_names = label_names(self.query_labels, self.display_labels)
        for i in range(n_q):
            images[i, 0] = show_image(axes[i, 0], self.query_images[i])
            if query_names is not None:
                axes[i, 0].set_title(f"query {query_names[i]}", fontsize=7)
            names = (None if self.neighbor_labels is None
                     else label_names(self.neighbor_labels[i], self.display_labels))
            for j in range(k):
                cell = axes[i, 1 + j]
                images[i, 1 + j] = show_image(cell, self.neighbor_images[i, j])
                if self.hits_ is not None:
                    colour = _HIT if self.hits_[i, j] else _MISS
                    for spine in cell.spines.values():
                        spine.set_color(colour)
                        spine.set_linewidth(2)
                    cell.set_title(names[j], fontsize=7, color=colour)
        axes[0, 0].figure.suptitle("queries (left) and neighbours in ranking order", fontsize=8)
        self.images_ = images

    @classmethod
    def from_predictions(
        cls,
        X_query: ArrayLike,
        X_db: ArrayLike,
        neighbors: ArrayLike,
        *,
        y_query: ArrayLike | None = None,
        y_db: ArrayLike | None = None,
        display_labels: Any = None,
        image_shape: tuple[int, ...] | None = None,
        ax: Any = None,
    ) -> RetrievalDisplay:
        """Plot given neighbour indices.

        Parameters
        ----------
        X_query : array-like of shape (n_queries, ...)
            Query images: ``(n, H, W)``, ``(n, C, H, W)``, or flattened with
            ``image_shape``.
        X_db : array-like of shape (n_db, ...)
            Database images, same layout.
        neighbors : array-like of int, shape (n_queries, n_neighbors)
            Indices into ``X_db``, best first (e.g. from
            :meth:`sklproxy.neighbors.HammingIndex.kneighbors`).
        y_query, y_db : array-like or None, default=None
            Labels, to mark neighbours of the query's class.
        display_labels : sequence or dict or None, default=None
            Names of the labels: ``display_labels[k]`` for integer label
            ``k`` (e.g. :data:`sklproxy.datasets.FASHION_MNIST_CLASSES`), or
            a mapping from label to name; None shows the labels.
        image_shape : tuple or None, default=None
            ``(H, W)`` or ``(C, H, W)`` of flattened images.
        ax : Axes, array-like of Axes or None, default=None

        Returns
        -------
        display : RetrievalDisplay
        """
        neighbors = np.asarray(neighbors, dtype=np.intp)
        X_query, X_db = as_numpy(X_query), as_numpy(X_db)
        if neighbors.ndim != 2 or len(neighbors) != len(X_query):
            raise ValueError(
                f"neighbors must have shape (n_queries, n_neighbors) = ({len(X_query)}, k); "
                f"got {neighbors.shape}."
            )
        low = float(min(X_query.min(), X_db.min()))
        high = float(max(X_query.max(), X_db.max()))
        q = as_display_images(X_query, image_shape, value_range=(low, high))
        db = as_display_images(X_db[neighbors.ravel()], image_shape, value_range=(low, high))
        db = db.reshape(*neighbors.shape, *db.shape[1:])
        yq = None if y_query is None else np.asarray(y_query)
        yn = None if y_db is None else np.asarray(y_db)[neighbors]
        return cls(q, db, query_labels=yq, neighbor_labels=yn,
                   display_labels=display_labels).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X_query: ArrayLike,
        X_db: ArrayLike,
        *,
        n_neighbors: int = 5,
        ranking: Literal["code", "hamming"] = "code",
        index: Any = None,
        **kwargs: Any,
    ) -> RetrievalDisplay:
        """Hash queries (and database) with ``estimator.transform`` and plot the neighbours.

        Parameters
        ----------
        estimator : fitted hasher
            Anything whose ``transform`` returns 0/1 codes, e.g.
            :class:`~sklproxy.hashing.DDTLHasher` or
            :class:`~sklproxy.hashing.CrPCA`.
        X_query, X_db : array-like
            Query and database images in the layout the estimator takes
            (``X_db`` supplies the images shown; with ``index`` it is not
            hashed again).
        n_neighbors : int, default=5
        ranking : {"code", "hamming"}, default="code"
            Search order of the index built over ``estimator.transform(X_db)``
            (:class:`~sklproxy.neighbors.HammingIndex`); DDTL codes are meant
            to be searched in code order. Ignored with ``index``.
        index : fitted HammingIndex or None, default=None
            An index you fitted on ``estimator.transform(X_db)`` (in the
            order of ``X_db``), searched with its own ranking.
        **kwargs
            ``y_query``, ``y_db``, ``display_labels``, ``image_shape``
            (default: the estimator's fitted image shape), ``ax``: as in
            :meth:`from_predictions`.

        Returns
        -------
        display : RetrievalDisplay
        """
        from ..neighbors import HammingIndex

        if index is None:
            index = HammingIndex(ranking=ranking).fit(estimator.transform(X_db))
        elif not isinstance(index, HammingIndex):
            raise TypeError(f"index must be a fitted HammingIndex; got {type(index).__name__}.")
        n_db = len(as_numpy(X_db))
        if index.n_samples_fit_ != n_db:
            raise ValueError(
                f"index holds {index.n_samples_fit_} codes but X_db has {n_db} images; fit the "
                "index on estimator.transform(X_db), in the same order.")
        neighbors = index.kneighbors(estimator.transform(X_query), n_neighbors=n_neighbors,
                                     return_distance=False)
        kwargs.setdefault("image_shape", image_shape_of(estimator))
        return cls.from_predictions(X_query, X_db, neighbors, **kwargs)
