"""Displays of a hashing tree: the images reaching each node, errors per leaf."""

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
    image_shape_of,
    majority_label,
)
from ._cluster import draw_rows

__all__ = ["LeafErrorDisplay", "TreeNodeDisplay"]


def _path_bits(estimator: Any, X: ArrayLike) -> NDArray[np.uint8]:
    """The path bits of ``estimator.transform(X)`` (the columns after the class bits)."""
    codes = np.asarray(estimator.transform(X))
    return codes[:, int(getattr(estimator, "n_class_bits_", 0)):]


def _check_bits(path_bits: ArrayLike, n: int | None = None) -> NDArray[np.uint8]:
    bits = np.asarray(path_bits)
    if bits.ndim != 2 or not np.isin(bits, (0, 1)).all():
        raise ValueError(
            "path_bits must be a 2-D array of 0/1 decisions, root first, shape "
            f"(n_samples, depth); got shape {bits.shape}."
        )
    if n is not None and len(bits) != n:
        raise ValueError(f"path_bits has {len(bits)} rows but X has {n} samples.")
    return bits.astype(np.uint8)


def _node_names(depth: int) -> list[str]:
    """Nodes in breadth-first order: "" (root), "0", "1", "00", ..."""
    names = [""]
    for level in range(1, depth + 1):
        names += [format(i, f"0{level}b") for i in range(2**level)]
    return names


class TreeNodeDisplay(GridDisplay):
    """Sample images reaching each node of a binary hashing tree, root first.

    Row ``r`` shows the node whose path (left = 0, right = 1, root first) is
    ``nodes[r]``, with how many items reach it and, with labels, its most
    common label (named by ``display_labels``); then up to ``n_images`` of
    those items. Use it to read
    what each split of a :class:`~sklproxy.hashing.DDTLHasher` tree
    separates. Create it with :meth:`from_estimator` or
    :meth:`from_predictions`.

    Parameters
    ----------
    nodes : list of str
        Node paths, e.g. ``["", "0", "1"]`` (``""`` is the root).
    node_images : list of ndarray
        Per node, ``(m, H, W)`` or ``(m, H, W, 3)`` images in [0, 1], ``m <= n_images``.
    counts : ndarray of shape (n_nodes,)
        Items reaching each node.
    majority : list or None
        Per node, ``(label name, share)`` of its most common label, or None.

    Attributes
    ----------
    axes_ : ndarray of Axes, shape (n_nodes, 1 + n_images)
        Column 0 holds the node's caption.
    images_ : list of list of AxesImage
        The images drawn for each node.
    texts_ : list of matplotlib Text
        The caption of each node.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.displays import TreeNodeDisplay
    >>> rng = np.random.RandomState(0)
    >>> X, bits = rng.rand(20, 8, 8), rng.randint(0, 2, (20, 3))
    >>> disp = TreeNodeDisplay.from_predictions(bits, X, depth=2, n_images=3)
    >>> disp.nodes, int(disp.counts[0])
    (['', '0', '1', '00', '01', '10', '11'], 20)
    """

    def __init__(
        self,
        nodes: list[str],
        node_images: list[NDArray[Any]],
        counts: NDArray[np.int64],
        *,
        majority: list[tuple[Any, float] | None] | None = None,
    ) -> None:
        self.nodes = nodes
        self.node_images = node_images
        self.counts = counts
        self.majority = majority

    _cell = 0.9

    def _grid_shape(self) -> tuple[int, int]:
        return len(self.nodes), 1 + max((len(im) for im in self.node_images), default=0)

    def _draw(self, axes: Any) -> None:
        heads = ["root" if node == "" else f"node {node}" for node in self.nodes]
        self.texts_, self.images_ = draw_rows(axes, heads, self.counts, self.majority,
                                              self.node_images)

    @classmethod
    def from_predictions(
        cls,
        path_bits: ArrayLike,
        X: ArrayLike,
        *,
        y: ArrayLike | None = None,
        display_labels: Any = None,
        depth: int = 2,
        n_images: int = 8,
        image_shape: tuple[int, ...] | None = None,
        random_state: int | np.random.RandomState | None = 0,
        ax: Any = None,
    ) -> TreeNodeDisplay:
        """Plot the nodes of the tree given each item's path bits.

        Parameters
        ----------
        path_bits : array-like of shape (n_samples, n_path_bits)
            0/1 decisions, root first (e.g. the path part of DDTL codes).
        X : array-like of shape (n_samples, ...)
            The items' images.
        y : array-like of shape (n_samples,) or None, default=None
            Labels, to caption each node with its most common label.
        display_labels : sequence or dict or None, default=None
            Names of the labels: ``display_labels[k]`` for integer label
            ``k``, or a mapping from label to name; None shows the labels.
        depth : int, default=2
            Show the nodes of the first ``depth`` levels below the root.
        n_images : int, default=8
            Images per node, drawn at random among those reaching it.
        image_shape : tuple or None, default=None
        random_state : int, RandomState or None, default=0
            Which images are drawn.
        ax : Axes, array-like of Axes or None, default=None

        Returns
        -------
        display : TreeNodeDisplay
        """
        X = as_numpy(X)
        bits = _check_bits(path_bits, len(X))
        if not 0 <= depth <= bits.shape[1]:
            raise ValueError(f"depth={depth} must be between 0 and the {bits.shape[1]} path bits.")
        rng = check_random_state(random_state)
        shown = as_display_images(X, image_shape)
        labels = None if y is None else np.asarray(y)
        nodes = _node_names(depth)
        node_images, counts, majority = [], [], []
        for node in nodes:
            prefix = np.array([int(b) for b in node], dtype=np.uint8)
            members = np.flatnonzero((bits[:, :len(node)] == prefix).all(axis=1))
            counts.append(len(members))
            pick = rng.permutation(members)[:n_images]
            node_images.append(shown[np.sort(pick)])
            majority.append(None if labels is None else majority_label(labels[members],
                                                                       display_labels))
        return cls(nodes, node_images, np.asarray(counts, dtype=np.int64),
                   majority=None if labels is None else majority).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator: Any, X: ArrayLike, **kwargs: Any) -> TreeNodeDisplay:
        """Hash ``X`` with a fitted hasher and plot the nodes its path bits reach.

        The path bits are the columns of ``estimator.transform(X)`` after the
        ``n_class_bits_`` class bits. Pass the items of one class (or one
        predicted class) to see how the tree splits that class.

        Parameters
        ----------
        estimator : fitted DDTLHasher or CrPCA
        X : array-like
        **kwargs
            ``y``, ``display_labels``, ``depth``, ``n_images``,
            ``image_shape`` (default: the estimator's fitted image shape),
            ``random_state``, ``ax``: as in :meth:`from_predictions`.

        Returns
        -------
        display : TreeNodeDisplay
        """
        kwargs.setdefault("image_shape", image_shape_of(estimator))
        return cls.from_predictions(_path_bits(estimator, X), X, **kwargs)


class LeafErrorDisplay(Display):
    """Error analysis per leaf: how many items of each leaf are misclassified.

    One horizontal bar per leaf (the most populated ``max_leaves``), split
    into correctly and wrongly predicted items and labelled with the leaf's
    path and error rate. Leaves whose error rate stands out are where the
    tree gathers hard or mislabelled items. Create it with
    :meth:`from_estimator` or :meth:`from_predictions`.

    Parameters
    ----------
    leaves : list of str
        Leaf paths (``"0110"``), in plotting order.
    n_samples : ndarray of shape (n_leaves,)
    n_errors : ndarray of shape (n_leaves,)

    Attributes
    ----------
    error_rate_ : ndarray of shape (n_leaves,)
    bars_ : dict of str to matplotlib BarContainer
        ``"correct"`` and ``"wrong"``.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklproxy.displays import LeafErrorDisplay
    >>> disp = LeafErrorDisplay.from_predictions(
    ...     [0, 0, 1, 1], [0, 1, 1, 1], [[0, 1], [0, 1], [1, 0], [1, 0]])
    >>> disp.leaves, disp.error_rate_.tolist()
    (['01', '10'], [0.5, 0.0])
    """

    def __init__(self, leaves: list[str], n_samples: NDArray[np.int64],
                 n_errors: NDArray[np.int64]) -> None:
        self.leaves = leaves
        self.n_samples = n_samples
        self.n_errors = n_errors

    def _size(self) -> tuple[float, float]:
        return (6.0, 0.25 * len(self.leaves) + 1.2)

    def _draw(self, ax: Any) -> None:
        n, wrong = np.asarray(self.n_samples), np.asarray(self.n_errors)
        self.error_rate_ = np.divide(wrong, n, out=np.zeros(len(n)), where=n > 0)
        pos = np.arange(len(self.leaves))[::-1]
        self.bars_ = {
            "correct": ax.barh(pos, n - wrong, color="0.7", label="correct"),
            "wrong": ax.barh(pos, wrong, left=n - wrong, color="tab:red", label="wrong"),
        }
        ax.set_yticks(pos, [f"{leaf}  ({100 * r:.0f}%)" for leaf, r in
                            zip(self.leaves, self.error_rate_)], fontsize=7)
        ax.set_xlabel("items in the leaf")
        ax.set_ylabel("leaf path (error rate)")
        ax.legend(loc="lower right", fontsize=7)

    @classmethod
    def from_predictions(
        cls,
        y_true: ArrayLike,
        y_pred: ArrayLike,
        path_bits: ArrayLike,
        *,
        max_leaves: int = 20,
        ax: Any = None,
    ) -> LeafErrorDisplay:
        """Per-leaf errors from labels, predictions and the items' path bits.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_samples,)
        path_bits : array-like of shape (n_samples, depth)
            0/1 decisions, root first; each distinct row is a leaf.
        max_leaves : int, default=20
            Show the most populated leaves only.
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        display : LeafErrorDisplay
        """
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        bits = _check_bits(path_bits, len(y_true))
        if len(y_pred) != len(y_true):
            raise ValueError(f"y_pred has {len(y_pred)} items but y_true has {len(y_true)}.")
        rows, inverse = np.unique(bits, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        n = np.bincount(inverse, minlength=len(rows))
        wrong = np.bincount(inverse, weights=(y_true != y_pred), minlength=len(rows)).astype(np.int64)
        order = np.lexsort((np.arange(len(rows)), -n))[:max_leaves]
        leaves = ["".join(map(str, rows[i])) for i in order]
        return cls(leaves, n[order], wrong[order]).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: ArrayLike,
        y: ArrayLike,
        *,
        depth: int | None = None,
        max_leaves: int = 20,
        ax: Any = None,
    ) -> LeafErrorDisplay:
        """Per-leaf errors of a fitted supervised hasher on ``(X, y)``.

        Uses ``estimator.predict(X)`` and the path bits of
        ``estimator.transform(X)``, cut to the first ``depth`` levels (None:
        every path bit).

        Returns
        -------
        display : LeafErrorDisplay
        """
        bits = _path_bits(estimator, X)
        if depth is not None:
            bits = bits[:, :depth]
        return cls.from_predictions(y, estimator.predict(X), bits, max_leaves=max_leaves, ax=ax)
