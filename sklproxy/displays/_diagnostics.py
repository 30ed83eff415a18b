"""GradientRatioDisplay: the gradient ratio over training iterations."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._base import Display

__all__ = ["GradientRatioDisplay"]


class GradientRatioDisplay(Display):
    """The gradient ratio (causal over spurious input gradient) along training.

    ``GR = mean_i ||dL/dx_causal_i|| / ||dL/dx_spurious_i||``
    (:func:`sklproxy.inspection.gradient_ratio`), on a log axis with the line
    ``GR = 1``: a network that switches to the spurious signal (the one
    pixel of :func:`sklproxy.datasets.make_one_pixel`) falls below it.
    Optionally a second axis shows an accuracy curve (e.g. on a test set
    whose spurious pixel is random).

    Parameters
    ----------
    iterations : ndarray of shape (n_points,)
    ratios : ndarray of shape (n_points,)
    accuracy : ndarray of shape (n_points,) or None
    accuracy_label : str

    Attributes
    ----------
    line_ : matplotlib Line2D
        The GR curve.
    threshold_line_ : matplotlib Line2D
        ``GR = 1``.
    accuracy_line_ : matplotlib Line2D or None
    crossing_ : int or None
        First iteration with ``GR < 1``.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklproxy.displays import GradientRatioDisplay
    >>> disp = GradientRatioDisplay([1, 10, 20], [3.0, 1.2, 0.4]).plot()
    >>> disp.crossing_
    20
    """

    def __init__(self, iterations: ArrayLike, ratios: ArrayLike, *,
                 accuracy: ArrayLike | None = None, accuracy_label: str = "accuracy") -> None:
        self.iterations = np.asarray(iterations)
        self.ratios = np.asarray(ratios, dtype=np.float64)
        self.accuracy = None if accuracy is None else np.asarray(accuracy, dtype=np.float64)
        self.accuracy_label = accuracy_label

    _figsize = (6.0, 3.4)

    def _draw(self, ax: Any) -> None:
        (self.line_,) = ax.plot(self.iterations, self.ratios, "o-", ms=3, color="tab:blue",
                                label="gradient ratio")
        self.threshold_line_ = ax.axhline(1.0, color="0.4", ls="--", lw=1, label="GR = 1")
        ax.set_yscale("log")
        ax.set_xlabel("training iteration")
        ax.set_ylabel("GR (causal / spurious)")
        below = np.flatnonzero(self.ratios < 1)
        self.crossing_ = int(self.iterations[below[0]]) if len(below) else None
        if self.crossing_ is not None:
            ax.axvline(self.crossing_, color="tab:red", lw=1, alpha=0.6)
            ax.set_title(f"GR falls below 1 at iteration {self.crossing_}", fontsize=9)
        elif len(self.iterations):
            ax.set_title(f"GR stays above 1 for {int(self.iterations[-1])} iterations",
                         fontsize=9)
        self.accuracy_line_ = None
        if self.accuracy is not None:
            twin = ax.twinx()
            (self.accuracy_line_,) = twin.plot(self.iterations, self.accuracy, "s-", ms=3,
                                               color="tab:green", label=self.accuracy_label)
            twin.set_ylim(0, 1)
            twin.set_ylabel(self.accuracy_label)
        handles = [self.line_, self.threshold_line_] + (
            [self.accuracy_line_] if self.accuracy_line_ is not None else [])
        ax.legend(handles=handles, fontsize=7, loc="upper right")

    @classmethod
    def from_training(
        cls,
        model: Any,
        X: ArrayLike,
        y: ArrayLike,
        causal_mask: ArrayLike,
        spurious_mask: ArrayLike,
        *,
        n_iterations: int = 300,
        every: int = 10,
        batch_size: int = 64,
        lr: float = 1e-3,
        X_test: ArrayLike | None = None,
        y_test: ArrayLike | None = None,
        random_state: int = 0,
        ax: Any = None,
    ) -> GradientRatioDisplay:
        """Train ``model`` with Adam on ``(X, y)`` and record GR every ``every`` iterations.

        A plain PyTorch loop on the CPU (or the model's device): minibatches
        drawn with replacement from a generator seeded by ``random_state``,
        cross-entropy, GR measured on (up to) the first 256 training images.
        ``model`` is trained in place.

        Parameters
        ----------
        model : torch.nn.Module
            Maps a batch shaped like ``X`` to logits.
        X : array-like of shape (n_samples, ...)
            Float images (e.g. from :func:`sklproxy.datasets.make_one_pixel`).
        y : array-like of shape (n_samples,)
            Integer labels.
        causal_mask, spurious_mask : array-like of bool
            Broadcastable to ``X.shape``, as in
            :func:`sklproxy.inspection.gradient_ratio`.
        n_iterations : int, default=300
        every : int, default=10
        batch_size : int, default=64
        lr : float, default=1e-3
        X_test, y_test : array-like or None, default=None
            If given, the accuracy on them is recorded at the same iterations.
        random_state : int, default=0
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        display : GradientRatioDisplay
        """
        import torch
        import torch.nn.functional as F

        from ..inspection import gradient_ratio

        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        Xt = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
        yt = torch.as_tensor(np.asarray(y), dtype=torch.int64, device=device)
        Xv = None if X_test is None else torch.as_tensor(np.asarray(X_test, dtype=np.float32),
                                                           device=device)
        yv = None if y_test is None else np.asarray(y_test)
        gen = torch.Generator().manual_seed(random_state)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        probe = slice(0, 256)
        its: list[int] = []
        grs: list[float] = []
        accs: list[float] = []
        for it in range(1, n_iterations + 1):
            idx = torch.randint(0, len(Xt), (batch_size,), generator=gen).to(device)
            model.train()
            loss = F.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if it == 1 or it % every == 0:
                its.append(it)
                grs.append(gradient_ratio(model, Xt[probe], yt[probe], causal_mask, spurious_mask))
                if Xv is not None:
                    model.eval()
                    with torch.no_grad():
                        pred = model(Xv).argmax(1).cpu().numpy()
                    accs.append(float((pred == yv).mean()))
        model.eval()
        return cls(its, grs, accuracy=accs or None,
                   accuracy_label="test accuracy").plot(ax=ax)


