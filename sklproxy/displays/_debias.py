"""DebiasingDisplay: images before and after a debiasing transform, with its diagnostics."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._base import as_display_images, image_shape_of, require_matplotlib, show_image

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


class DebiasingDisplay:
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
                 labels: NDArray[Any] | None = None, gates: dict[str, float] | None = None) -> None:
        self.before = before
        self.after = after
        self.labels = labels
        self.gates = gates

    def plot(self, *, figure: Any = None) -> DebiasingDisplay:
        """Draw the grid and the gate panel.

        Parameters
        ----------
        figure : matplotlib Figure or None, default=None
            An empty figure to draw into (the layout needs a grid of its
            own); None creates one.

        Returns
        -------
        self : DebiasingDisplay
        """
        plt = require_matplotlib("DebiasingDisplay.plot")
        n = len(self.before)
        has_gates = bool(self.gates)
        if figure is None:
            figure = plt.figure(figsize=(1.0 * n + (5.5 if has_gates else 0.4), 2.8),
                                layout="constrained")
        ratios = [1.0] * n + ([4.0] if has_gates else [])
        grid = figure.add_gridspec(2, len(ratios), width_ratios=ratios)
        axes = np.empty((2, n), dtype=object)
        images = np.empty((2, n), dtype=object)
        for row, data in enumerate((self.before, self.after)):
            for c in range(n):
                axes[row, c] = figure.add_subplot(grid[row, c])
                images[row, c] = show_image(axes[row, c], data[c])
                if row == 0 and self.labels is not None:
                    axes[row, c].set_title(str(self.labels[c]), fontsize=7)
        axes[0, 0].set_ylabel("before", fontsize=8)
        axes[1, 0].set_ylabel("after", fontsize=8)
        self.gate_ax_ = self.gate_bars_ = None
        if has_gates:
            ax = figure.add_subplot(grid[:, n])
            names = list(self.gates)
            pos = np.arange(len(names))[::-1]
            values = [self.gates[k] for k in names]
            self.gate_bars_ = ax.barh(pos, values, color="tab:purple")
            ax.bar_label(self.gate_bars_, labels=[f"{v:.2f}" for v in values], fontsize=7,
                         padding=2)
            ax.set_yticks(pos, names, fontsize=7)
            ax.set_xlim(0, 1.15)
            ax.set_title("gate figures", fontsize=8)
            ax.tick_params(axis="x", labelsize=7)
            self.gate_ax_ = ax
        self.axes_, self.images_, self.figure_ = axes, images, figure
        return self

    @classmethod
    def from_predictions(
        cls,
        X_before: ArrayLike,
        X_after: ArrayLike,
        *,
        y: ArrayLike | None = None,
        gates: dict[str, float] | None = None,
        n_images: int = 8,
        image_shape: tuple[int, ...] | None = None,
        figure: Any = None,
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
        gates : dict of str to float or None, default=None
            Figures in [0, 1] for the side panel.
        n_images : int, default=8
        image_shape : tuple or None, default=None
        figure : matplotlib Figure or None, default=None

        Returns
        -------
        display : DebiasingDisplay
        """
        def arr(a: Any) -> NDArray[Any]:
            return np.asarray(a.detach().cpu() if hasattr(a, "detach") else a)[:n_images]

        before, after = arr(X_before), arr(X_after)
        if before.shape != after.shape:
            raise ValueError(
                f"X_before {before.shape} and X_after {after.shape} must have the same shape."
            )
        scale = (float(min(before.min(), after.min())), float(max(before.max(), after.max())))
        return cls(as_display_images(before, image_shape, value_range=scale),
                   as_display_images(after, image_shape, value_range=scale),
                   labels=None if y is None else np.asarray(y)[:n_images],
                   gates=gates).plot(figure=figure)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: ArrayLike,
        *,
        y: ArrayLike | None = None,
        n_images: int = 8,
        image_shape: tuple[int, ...] | None = None,
        figure: Any = None,
    ) -> DebiasingDisplay:
        """Transform the first ``n_images`` of ``X`` with a fitted debiaser and plot both.

        The gate panel shows :func:`lad_gate_figures` of the estimator (its
        diagnostics on the training data), when it has them.

        Returns
        -------
        display : DebiasingDisplay
        """
        X = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X)[:n_images]
        shape = image_shape if image_shape is not None else image_shape_of(estimator)
        return cls.from_predictions(X, estimator.transform(X), y=y,
                                    gates=lad_gate_figures(estimator) or None,
                                    n_images=n_images, image_shape=shape, figure=figure)
