"""Shared pieces of the displays: matplotlib on demand, image conversion, axes grids."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Display", "GridDisplay", "as_display_images", "as_numpy", "image_grid_axes",
           "label_names", "require_matplotlib"]


class Display:
    """What every display shares: ``plot(ax=...)`` draws and keeps the artists.

    A display is built from arrays (``from_predictions``) or from a fitted
    estimator (``from_estimator``), which both call :meth:`plot`. Subclasses
    implement ``_draw(ax)``; :meth:`plot` makes the Axes, calls it and sets
    ``ax_`` (or ``axes_``) and ``figure_``.
    """

    #: Size of a new figure, in inches.
    _figsize: tuple[float, float] = (6.0, 4.0)

    def plot(self, *, ax: Any = None) -> Any:
        """Draw the display.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None creates a figure. Displays made of a grid of
            images also take an array-like of Axes of the grid's size, or one
            Axes whose area they divide into the grid (as scikit-learn's
            ``PartialDependenceDisplay`` does).

        Returns
        -------
        self
            The display, with its artists set.
        """
        fig, ax = get_ax(ax, f"{type(self).__name__}.plot", figsize=self._size())
        self._draw(ax)
        self.ax_, self.figure_ = ax, fig
        return self

    def _size(self) -> tuple[float, float]:
        return self._figsize

    def _draw(self, ax: Any) -> None:  # pragma: no cover - every display overrides it
        raise NotImplementedError


class GridDisplay(Display):
    """A display drawn into a ``(n_rows, n_cols)`` grid of image cells (``axes_``)."""

    #: Side of one cell of a new figure, in inches.
    _cell: float = 1.1

    def plot(self, *, ax: Any = None) -> Any:
        n_rows, n_cols = self._grid_shape()
        fig, axes = image_grid_axes(n_rows, n_cols, ax, f"{type(self).__name__}.plot",
                                    cell=self._cell)
        self._draw(axes)
        self.axes_, self.figure_ = axes, fig
        return self

    plot.__doc__ = Display.plot.__doc__

    def _grid_shape(self) -> tuple[int, int]:  # pragma: no cover - every grid overrides it
        raise NotImplementedError


def as_numpy(X: Any) -> NDArray[Any]:
    """``X`` as a NumPy array (torch tensors are moved to the CPU first)."""
    if hasattr(X, "detach"):  # torch.Tensor
        X = X.detach().cpu().numpy()
    return np.asarray(X)


def label_names(labels: Any, display_labels: Any = None) -> list[str] | None:
    """The text shown for each label: ``display_labels[label]`` (a sequence indexed by
    integer labels, or a mapping), else the label itself; None for None."""
    if labels is None:
        return None
    labels = np.asarray(labels).ravel()
    if display_labels is None:
        return [str(v) for v in labels]
    if isinstance(display_labels, dict):
        return [str(display_labels.get(v, v)) for v in labels.tolist()]
    names = list(display_labels)
    out = []
    for v in labels.tolist():
        if not isinstance(v, (int, np.integer)) or not 0 <= int(v) < len(names):
            raise ValueError(
                f"display_labels has {len(names)} names but a label is {v!r}; pass one name "
                "per integer label 0..K-1, or a dict from label to name.")
        out.append(str(names[int(v)]))
    return out


def require_matplotlib(caller: str) -> Any:
    """Import ``matplotlib.pyplot`` or raise an ImportError naming the ``plot`` extra."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib; install it with "
            "`pip install sklproxy[plot]` (or `pip install matplotlib`)."
        ) from exc
    import matplotlib.pyplot as plt

    return plt


def image_shape_of(estimator: Any) -> tuple[int, ...] | None:
    """``(C, H, W)`` of a fitted sklproxy estimator's images, or None for vectors."""
    shape = getattr(estimator, "input_shape_", None)
    return tuple(shape) if shape is not None and len(shape) == 3 else None


def as_display_images(
    X: ArrayLike,
    image_shape: tuple[int, ...] | None = None,
    *,
    value_range: tuple[float, float] | None = None,
) -> NDArray[np.float64]:
    """Images ready for ``imshow``: ``(n, H, W)`` grey or ``(n, H, W, 3)`` RGB in [0, 1].

    ``X``: ``(n, H, W)``, ``(n, C, H, W)`` (C = 1 or 3), or flattened
    ``(n, n_features)`` with ``image_shape`` (``(H, W)`` or ``(C, H, W)``);
    flattened square grey images need no ``image_shape``. Values are mapped
    linearly from ``value_range`` (default: the min and max of ``X``) to
    [0, 1], so images shown side by side share one scale.
    """
    X = as_numpy(X).astype(np.float64, copy=False)
    if X.ndim == 2:
        if image_shape is None:
            side = math.isqrt(X.shape[1])
            if side * side != X.shape[1]:
                raise ValueError(
                    f"X has {X.shape[1]} features per row, which is not a square grey "
                    "image; pass image_shape=(H, W) or (C, H, W)."
                )
            image_shape = (side, side)
        X = X.reshape(len(X), *image_shape)
    if X.ndim == 4:
        if X.shape[1] == 1:
            X = X[:, 0]
        elif X.shape[1] == 3:
            X = np.moveaxis(X, 1, -1)
        else:
            raise ValueError(
                f"Images with {X.shape[1]} channels cannot be shown; pass grey "
                "(C=1) or RGB (C=3) images."
            )
    elif X.ndim != 3:
        raise ValueError(
            f"X of shape {X.shape} is not a batch of images; pass (n, H, W), "
            "(n, C, H, W) or flattened rows with image_shape."
        )
    low, high = value_range if value_range is not None else (
        (float(X.min()), float(X.max())) if X.size else (0.0, 1.0))
    scale = high - low if high > low else 1.0
    return np.clip((X - low) / scale, 0.0, 1.0)


def image_grid_axes(
    n_rows: int, n_cols: int, ax: Any, caller: str, *, cell: float = 1.1
) -> tuple[Any, NDArray[Any]]:
    """A ``(n_rows, n_cols)`` array of axes: new ones, ``ax`` itself, or a grid inside ``ax``.

    Returns ``(figure, axes)``. ``ax`` may be None (a new figure), one Axes
    (its area is divided into the grid and the Axes itself hidden), or an
    array-like of ``n_rows * n_cols`` Axes from one figure.
    """
    plt = require_matplotlib(caller)
    if ax is None:
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols + 0.6, cell * n_rows + 0.6),
                                 squeeze=False, layout="constrained")
        return fig, axes
    if hasattr(ax, "get_subplotspec") and ax.get_subplotspec() is not None:
        fig = ax.figure
        grid = ax.get_subplotspec().subgridspec(n_rows, n_cols)
        ax.set_axis_off()
        axes = np.empty((n_rows, n_cols), dtype=object)
        for r in range(n_rows):
            for c in range(n_cols):
                axes[r, c] = fig.add_subplot(grid[r, c])
        return fig, axes
    axes = np.asarray(ax, dtype=object)
    if axes.size != n_rows * n_cols:
        raise ValueError(
            f"ax holds {axes.size} Axes but this grid needs {n_rows} x {n_cols}; "
            "pass ax=None to create them, or an array of that many Axes."
        )
    axes = axes.reshape(n_rows, n_cols)
    return axes.flat[0].figure, axes


def show_image(ax: Any, image: NDArray[np.float64]) -> Any:
    """``imshow`` of one [0, 1] image without ticks; returns the AxesImage."""
    ax.set_xticks([])
    ax.set_yticks([])
    kwargs = {} if image.ndim == 3 else {"cmap": "gray", "vmin": 0.0, "vmax": 1.0}
    return ax.imshow(image, interpolation="nearest", **kwargs)


def blank(ax: Any) -> None:
    """Hide an unused cell of a grid."""
    ax.set_axis_off()


def get_ax(ax: Any, caller: str, figsize: tuple[float, float] = (6.0, 4.0)) -> tuple[Any, Any]:
    """``(figure, ax)``: a new single Axes when ``ax`` is None."""
    plt = require_matplotlib(caller)
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def majority_label(labels: NDArray[Any], display_labels: Any = None) -> tuple[str, float] | None:
    """``(name, share)`` of the most common of ``labels`` (ties: the smallest), None if empty."""
    if len(labels) == 0:
        return None
    values, freq = np.unique(labels, return_counts=True)
    best = int(freq.argmax())
    (name,) = label_names(values[best:best + 1], display_labels)
    return name, float(freq[best] / len(labels))
