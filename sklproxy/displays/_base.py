"""Shared pieces of the displays: matplotlib on demand, image conversion, axes grids."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["as_display_images", "image_grid_axes", "require_matplotlib"]


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


def _as_numpy(X: Any) -> NDArray[Any]:
    if hasattr(X, "detach"):  # torch.Tensor
        X = X.detach().cpu().numpy()
    return np.asarray(X)


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
    X = _as_numpy(X).astype(np.float64, copy=False)
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
    """A ``(n_rows, n_cols)`` array of axes: new ones, or ``ax`` if it is such an array.

    Returns ``(figure, axes)``. ``ax`` may be None (a new figure), or an
    array-like of ``n_rows * n_cols`` Axes from one figure.
    """
    plt = require_matplotlib(caller)
    if ax is None:
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(cell * n_cols + 0.6, cell * n_rows + 0.6),
                                 squeeze=False, layout="constrained")
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
