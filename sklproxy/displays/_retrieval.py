"""RetrievalDisplay: queries and their nearest neighbours as a picture grid."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._base import as_display_images, image_grid_axes, image_shape_of, show_image

__all__ = ["RetrievalDisplay"]

_HIT, _MISS = "tab:green", "tab:red"


class RetrievalDisplay:
    """Queries (first column) and their retrieved neighbours, in ranking order.

    With labels, each neighbour's frame is green when it shares the query's
    label and red when not, and the title gives the label. Create it with
    :meth:`from_estimator` (hash with a fitted hasher, then search with
    :class:`~sklproxy.neighbors.HammingIndex`) or :meth:`from_predictions`
    (neighbour indices you computed); both call :meth:`plot`.

    Parameters
    ----------
    query_images : ndarray of shape (n_queries, H, W) or (n_queries, H, W, 3)
        In [0, 1] (see :meth:`from_predictions` for raw input).
    neighbor_images : ndarray of shape (n_queries, n_neighbors, H, W[, 3])
    query_labels : ndarray of shape (n_queries,) or None
    neighbor_labels : ndarray of shape (n_queries, n_neighbors) or None

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
    ) -> None:
        self.query_images = query_images
        self.neighbor_images = neighbor_images
        self.query_labels = query_labels
        self.neighbor_labels = neighbor_labels

    def plot(self, *, ax: Any = None) -> RetrievalDisplay:
        """Draw the grid.

        Parameters
        ----------
        ax : array-like of matplotlib Axes or None, default=None
            ``n_queries * (1 + n_neighbors)`` Axes to draw into; None creates
            a figure.

        Returns
        -------
        self : RetrievalDisplay
        """
        n_q, k = self.neighbor_images.shape[:2]
        fig, axes = image_grid_axes(n_q, 1 + k, ax, "RetrievalDisplay.plot")
        images = np.empty((n_q, 1 + k), dtype=object)
        labelled = self.query_labels is not None and self.neighbor_labels is not None
        self.hits_ = (np.asarray(self.neighbor_labels) == np.asarray(self.query_labels)[:, None]
                      if labelled else None)
        for i in range(n_q):
            images[i, 0] = show_image(axes[i, 0], self.query_images[i])
            if self.query_labels is not None:
                axes[i, 0].set_title(f"query {self.query_labels[i]}", fontsize=7)
            for j in range(k):
                cell = axes[i, 1 + j]
                images[i, 1 + j] = show_image(cell, self.neighbor_images[i, j])
                if self.hits_ is not None:
                    colour = _HIT if self.hits_[i, j] else _MISS
                    for spine in cell.spines.values():
                        spine.set_color(colour)
                        spine.set_linewidth(2)
                    cell.set_title(str(self.neighbor_labels[i, j]), fontsize=7, color=colour)
        axes[0, 0].figure.suptitle("queries (left) and neighbours in ranking order", fontsize=8)
        self.axes_, self.images_, self.figure_ = axes, images, fig
        return self

    @classmethod
    def from_predictions(
        cls,
        X_query: ArrayLike,
        X_db: ArrayLike,
        neighbors: ArrayLike,
        *,
        y_query: ArrayLike | None = None,
        y_db: ArrayLike | None = None,
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
        image_shape : tuple or None, default=None
            ``(H, W)`` or ``(C, H, W)`` of flattened images.
        ax : array-like of Axes or None, default=None

        Returns
        -------
        display : RetrievalDisplay
        """
        neighbors = np.asarray(neighbors, dtype=np.intp)
        X_query = np.asarray(X_query.detach().cpu() if hasattr(X_query, "detach") else X_query)
        X_db = np.asarray(X_db.detach().cpu() if hasattr(X_db, "detach") else X_db)
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
        return cls(q, db, query_labels=yq, neighbor_labels=yn).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X_query: ArrayLike,
        X_db: ArrayLike,
        *,
        y_query: ArrayLike | None = None,
        y_db: ArrayLike | None = None,
        n_neighbors: int = 5,
        ranking: Literal["code", "hamming"] = "code",
        image_shape: tuple[int, ...] | None = None,
        ax: Any = None,
    ) -> RetrievalDisplay:
        """Hash queries and database with ``estimator.transform`` and plot the neighbours.

        Parameters
        ----------
        estimator : fitted hasher
            Anything whose ``transform`` returns 0/1 codes, e.g.
            :class:`~sklproxy.hashing.DDTLHasher` or
            :class:`~sklproxy.hashing.CrPCA`.
        X_query, X_db : array-like
            Query and database images in the layout the estimator takes.
        y_query, y_db : array-like or None, default=None
        n_neighbors : int, default=5
        ranking : {"code", "hamming"}, default="code"
            Search order (:class:`~sklproxy.neighbors.HammingIndex`); DDTL
            codes are meant to be searched in code order.
        image_shape : tuple or None, default=None
            Shape of flattened images; None takes the estimator's fitted
            image shape.
        ax : array-like of Axes or None, default=None

        Returns
        -------
        display : RetrievalDisplay
        """
        from ..neighbors import HammingIndex

        index = HammingIndex(ranking=ranking).fit(estimator.transform(X_db))
        neighbors = index.kneighbors(estimator.transform(X_query), n_neighbors=n_neighbors,
                                     return_distance=False)
        shape = image_shape if image_shape is not None else image_shape_of(estimator)
        return cls.from_predictions(X_query, X_db, neighbors, y_query=y_query, y_db=y_db,
                                    image_shape=shape, ax=ax)


