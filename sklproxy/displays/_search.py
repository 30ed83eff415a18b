"""SearchResultsDisplay: the mean cross-validated score of a parameter search."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._base import Display

__all__ = ["SearchResultsDisplay"]


def _param_column(cv_results: dict[str, Any], name: str) -> NDArray[Any]:
    key = name if name.startswith("param_") else f"param_{name}"
    if key not in cv_results:
        params = sorted(k[len("param_"):] for k in cv_results if k.startswith("param_"))
        raise ValueError(f"{name!r} is not a searched parameter; choose one of {params}.")
    column = cv_results[key]
    values = np.array(np.ma.getdata(column), dtype=object)
    values[np.ma.getmaskarray(column)] = None  # a parameter absent from some candidates
    return values


class SearchResultsDisplay(Display):
    """Mean test score (+- one standard deviation over folds) against one searched parameter.

    One line per value of a second parameter (``hue``); the best candidate
    (``rank_test_score == 1``) is marked with a star.

    Parameters
    ----------
    x_values : ndarray of shape (n_x,)
    scores : ndarray of shape (n_hue, n_x)
        Mean test score of each combination (NaN where not searched).
    stds : ndarray of shape (n_hue, n_x)
    x_name : str
    hue_values : ndarray of shape (n_hue,) or None
    hue_name : str or None
    best : tuple of (x value, hue value, score) or None
    score_name : str

    Attributes
    ----------
    lines_ : list of matplotlib Line2D
        One per hue value.
    errorbars_ : list of matplotlib ErrorbarContainer
    best_marker_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklproxy.displays import SearchResultsDisplay
    >>> results = {"param_alpha": [0.5, 1.0, 0.5, 1.0], "param_beta": [0.0, 0.0, 0.1, 0.1],
    ...            "mean_test_score": [0.5, 0.6, 0.7, 0.65], "std_test_score": [0.01] * 4,
    ...            "rank_test_score": [4, 3, 1, 2]}
    >>> disp = SearchResultsDisplay.from_cv_results(results, x="alpha", hue="beta")
    >>> len(disp.lines_), disp.best
    (2, (0.5, 0.1, 0.7))
    """

    def __init__(self, x_values: NDArray[Any], scores: NDArray[np.float64],
                 stds: NDArray[np.float64], *, x_name: str,
                 hue_values: NDArray[Any] | None = None, hue_name: str | None = None,
                 best: tuple[Any, Any, float] | None = None, score_name: str = "score") -> None:
        self.x_values = x_values
        self.scores = scores
        self.stds = stds
        self.x_name = x_name
        self.hue_values = hue_values
        self.hue_name = hue_name
        self.best = best
        self.score_name = score_name

    _figsize = (5.5, 3.4)

    def _draw(self, ax: Any) -> None:
        numeric = all(isinstance(v, (int, float, np.number)) for v in self.x_values)
        xs = np.asarray(self.x_values, dtype=float) if numeric else np.arange(len(self.x_values))
        hues = self.hue_values if self.hue_values is not None else [None]
        self.lines_, self.errorbars_ = [], []
        for i, hue in enumerate(hues):
            label = None if hue is None else f"{self.hue_name}={hue}"
            container = ax.errorbar(xs, self.scores[i], yerr=self.stds[i], marker="o", ms=4,
                                    capsize=3, label=label)
            self.errorbars_.append(container)
            self.lines_.append(container.lines[0])
        self.best_marker_ = None
        if self.best is not None:
            bx = float(self.best[0]) if numeric else list(self.x_values).index(self.best[0])
            (self.best_marker_,) = ax.plot([bx], [self.best[2]], "*", ms=14, color="gold",
                                           markeredgecolor="black", label="best")
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in self.x_values])
        ax.set_xlabel(self.x_name)
        ax.set_ylabel(f"mean test {self.score_name}")
        ax.legend(fontsize=7)

    @classmethod
    def from_cv_results(cls, cv_results: dict[str, Any], *, x: str, hue: str | None = None,
                        score_name: str = "score", ax: Any = None) -> SearchResultsDisplay:
        """Plot a ``cv_results_`` dictionary.

        Parameters
        ----------
        cv_results : dict
            ``cv_results_`` of a fitted ``GridSearchCV`` (or any dict with
            ``param_<name>``, ``mean_test_score``, ``std_test_score`` and
            ``rank_test_score``).
        x : str
            Parameter on the horizontal axis (``"alpha"`` or ``"param_alpha"``).
        hue : str or None, default=None
            Parameter drawn as one line per value. Other searched
            parameters are not separated: with more than two, filter
            ``cv_results`` first.
        score_name : str, default="score"
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        display : SearchResultsDisplay
        """
        xcol = _param_column(cv_results, x)
        hcol = _param_column(cv_results, hue) if hue is not None else None
        mean = np.asarray(cv_results["mean_test_score"], dtype=float)
        std = np.asarray(cv_results["std_test_score"], dtype=float)
        x_values = np.asarray(sorted(set(xcol.tolist()), key=_sort_key), dtype=object)
        hue_values = (None if hcol is None
                      else np.asarray(sorted(set(hcol.tolist()), key=_sort_key), dtype=object))
        n_hue = 1 if hue_values is None else len(hue_values)
        scores = np.full((n_hue, len(x_values)), np.nan)
        stds = np.full((n_hue, len(x_values)), np.nan)
        for i in range(len(mean)):
            h = 0 if hcol is None else list(hue_values).index(hcol[i])
            j = list(x_values).index(xcol[i])
            scores[h, j], stds[h, j] = mean[i], std[i]
        best_i = int(np.argmin(np.asarray(cv_results["rank_test_score"])))
        best = (xcol[best_i], None if hcol is None else hcol[best_i], float(mean[best_i]))
        return cls(x_values, scores, stds, x_name=x.removeprefix("param_"), hue_values=hue_values,
                   hue_name=None if hue is None else hue.removeprefix("param_"), best=best,
                   score_name=score_name).plot(ax=ax)

    @classmethod
    def from_estimator(cls, search: Any, *, x: str, hue: str | None = None,
                       ax: Any = None) -> SearchResultsDisplay:
        """Plot the ``cv_results_`` of a fitted ``GridSearchCV`` / ``RandomizedSearchCV``.

        Parameters
        ----------
        search : fitted search estimator
        x, hue, ax
            As in :meth:`from_cv_results`.

        Returns
        -------
        display : SearchResultsDisplay
        """
        scoring = getattr(search, "scoring", None)
        name = scoring if isinstance(scoring, str) else "score"
        return cls.from_cv_results(search.cv_results_, x=x, hue=hue, score_name=name, ax=ax)


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float, np.number)) else (1, str(value))
