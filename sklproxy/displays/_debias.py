"""DebiasingDisplay: images before and after a debiasing transform, with its diagnostics."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._base import (
    GridDisplay,
    as_display_images,
    as_numpy,
    image_grid_axes,
    image_shape_of,
    label_names,
    require_matplotlib,
    show_image,
)

__all__ = ["DebiasingDisplay"]

# Diagnostics of a fitted LADDebiaser drawn by from_estimator, when present:
# key of ``diagnostics_`` -> label.
_LAD_GATES = {
    "colour_before": "colour tells class, before",
    "colour_after": "colour tells class, after",
    "latent_accuracy_after": "f accuracy after",
    "code_change": "codes changed",
}


def lad_gate_figures(estimator: Any) -> dict[str, float]:
    """The gate figures of a fitted :class:`~sklproxy.debias.LADDebiaser`, by label.

    From its ``diagnostics_`` on the training data: how well the colour
    predicts the class before and after (:func:`sklproxy.metrics.colour_decodability`),
    ``f``'s accuracy before and after and its entropy over the maximum, the
    share of codes changed. Every figure lies in [0, 1]; what the estimator
    does not report is left out.
    """
    gates: dict[str, float] = {}
    diag = getattr(estimator, "diagnostics_", None)
    if not isinstance(diag, dict):
        return gates
    if isinstance(getattr(estimator, "latent_accuracy_", None), float):
        gates["f accuracy before"] = float(estimator.latent_accuracy_)
    for key, label in _LAD_GATES.items():
        if isinstance(diag.get(key), (int, float, np.floating)):
            gates[label] = float(diag[key])
    if diag.get("entropy_max"):
        gates["f entropy / max, after"] = float(diag["entropy_after"]) / float(diag["entropy_max"])
    return gates


class DebiasingDisplay(GridDisplay):
    """The same images before (top row) and after (bottom row) debiasing, and the gate figures.

    The right-hand panel draws the figures that tell whether debiasing did
    its job (for :class:`~sklproxy.debias.LADDebiaser`: how well the colour
    alone predicts the class before and after, falling to chance; the latent
    classifier ``f``'s accuracy falling and its entropy rising; the share of
    codes changed); pass any other dictionary of figures to
    :meth:`from_predictions`.

    Parameters
    ----------
    before, after : ndarray of shape (n_images, H, W) or (n_images, H, W, 3)
        In [0, 1], on one shared scale.
    labels : ndarray of shape (n_images,) or None
    gates : dict of str to float or None
    display_labels : sequence or dict or None
        Names of the labels (see :meth:`from_predictions`).

    Attributes
    ----------
    axes_ : ndarray of Axes, shape (2, n_images)
        The image grid.
    images_ : ndarray of AxesImage, shape (2, n_images)
    gate_ax_ : matplotlib Axes or None
    gate_bars_ : matplotlib BarContainer or None
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sklproxy.displays import DebiasingDisplay
    >>> X = np.random.RandomState(0).rand(4, 3, 8, 8)
    >>> disp = DebiasingDisplay.from_predictions(X, 1 - X, gates={"walk": 0.5})
    >>> disp.images_.shape, len(disp.gate_bars_)
    ((2, 4), 1)
    """

    def __init__(self, before: NDArray[Any], after: NDArray[Any], *,
                 labels: NDArray[Any] | None = None, gates: dict[str, float] | None = None,
                 display_labels: Any = None) -> None:
        self.before = before
        self.after = after
        self.labels = labels
        self.gates = gates
        self.display_labels = display_labels

    def _grid_shape(self) -> tuple[int, int]:
        return 2, len(self.before) + bool(self.gates)

    def plot(self, *, ax: Any = None) -> DebiasingDisplay:
        n = len(self.before)
        if ax is None:  # a new figure: the gate panel spans both rows
            plt = require_matplotlib("DebiasingDisplay.plot")
            fig = plt.figure(figsize=(1.0 * n + (5.5 if self.gates else 0.4), 2.8),
                             layout="constrained")
            grid = fig.add_gridspec(2, n + bool(self.gates),
                                    width_ratios=[1.0] * n + ([4.0] if self.gates else []))
            axes = np.empty((2, n), dtype=object)
            for r in range(2):
                for c in range(n):
                    axes[r, c] = fig.add_subplot(grid[r, c])
            gate_ax = fig.add_subplot(grid[:, n]) if self.gates else None
        else:
            fig, cells = image_grid_axes(*self._grid_shape(), ax, "DebiasingDisplay.plot")
            axes, gate_ax = cells[:, :n], (cells[0, n] if self.gates else None)
            if gate_ax is not None:
                cells[1, n].set_axis_off()
        self._draw(axes, gate_ax)
        self.axes_, self.figure_ = axes, fig
        return self

    plot.__doc__ = GridDisplay.plot.__doc__

    def _draw(self, axes: Any, gate_ax: Any = None) -> None:
        names = label_names(self.labels, self.display_labels)
        images = np.empty((2, len(self.before)), dtype=object)
        for row, data in enumerate((self.before, self.after)):
            for c in range(len(self.before)):
                images[row, c] = show_image(axes[row, c], data[c])
                if row == 0 and names is not None:
                    axes[row, c].set_title(names[c], fontsize=7)
        axes[0, 0].set_ylabel("before", fontsize=8)
        axes[1, 0].set_ylabel("after", fontsize=8)
        self.images_ = images
        self.gate_ax_ = self.gate_bars_ = None
        if gate_ax is not None:
            keys = list(self.gates)
            pos = np.arange(len(keys))[::-1]
            values = [self.gates[k] for k in keys]
            self.gate_bars_ = gate_ax.barh(pos, values, color="tab:purple")
            gate_ax.bar_label(self.gate_bars_, labels=[f"{v:.2f}" for v in values], fontsize=7,
                              padding=2)
            gate_ax.set_yticks(pos, keys, fontsize=7)
            gate_ax.set_xlim(0, 1.15)
            gate_ax.set_title("gate figures", fontsize=8)
            gate_ax.tick_params(axis="x", labelsize=7)
            self.gate_ax_ = gate_ax

    @classmethod
    def from_predictions(
        cls,
        X_before: ArrayLike,
        X_after: ArrayLike,
        *,
        y: ArrayLike | None = None,
        display_labels: Any = None,
        gates: dict[str, float] | None = None,
        n_images: int = 8,
        image_shape: tuple[int, ...] | None = None,
        ax: Any = None,
    ) -> DebiasingDisplay:
        """Plot given images before and after.

        Parameters
        ----------
        X_before, X_after : array-like of the same shape
            Images: ``(n, H, W)``, ``(n, C, H, W)`` or flattened with
            ``image_shape``. The first ``n_images`` are shown, both rows on
            one value scale.
        y : array-like or None, default=None
            Labels shown above the images.
        display_labels : sequence or dict or None, default=None
            Names of the labels: ``display_labels[k]`` for integer label
            ``k``, or a mapping from label to name; None shows the labels.
        gates : dict of str to float or None, default=None
            Figures in [0, 1] for the side panel.
        n_images : int, default=8
        image_shape : tuple or None, default=None
        ax : Axes, array-like of Axes or None, default=None
            None: a new figure whose gate panel spans both rows. An array of
            ``2 x (n_images + 1)`` Axes (``2 x n_images`` without gates), or
            one Axes to divide: the last column's top cell holds the gates.

        Returns
        -------
        display : DebiasingDisplay
        """
        before, after = as_numpy(X_before)[:n_images], as_numpy(X_after)[:n_images]
        if before.shape != after.shape:
            raise ValueError(
                f"X_before {before.shape} and X_after {after.shape} must have the same shape."
            )
        scale = (float(min(before.min(), after.min())), float(max(before.max(), after.max())))
        return cls(as_display_images(before, image_shape, value_range=scale),
                   as_display_images(after, image_shape, value_range=scale),
                   labels=None if y is None else np.asarray(y)[:n_images],
                   gates=gates, display_labels=display_labels).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator: Any, X: ArrayLike, *, n_images: int = 8,
                       **kwargs: Any) -> DebiasingDisplay:
        """Transform the first ``n_images`` of ``X`` with a fitted debiaser and plot both.

        The gate panel shows :func:`lad_gate_figures` of the estimator (its
        diagnostics on the training data), when it has them.

        Parameters
        ----------
        estimator : fitted debiaser (e.g. LADDebiaser)
        X : array-like
        n_images : int, default=8
        **kwargs
            ``y``, ``display_labels``, ``image_shape`` (default: the
            estimator's fitted image shape), ``ax``: as in
            :meth:`from_predictions`.

        Returns
        -------
        display : DebiasingDisplay
        """
        X = as_numpy(X)[:n_images]
        kwargs.setdefault("image_shape", image_shape_of(estimator))
        return cls.from_predictions(X, estimator.transform(X), n_images=n_images,
                                    gates=lad_gate_figures(estimator) or None, **kwargs)
