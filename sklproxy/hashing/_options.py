"""How DDTLHasher places its splits: the ``splits`` parameter."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..utils import Options

__all__ = ["SplitBalance", "SPLITS"]

#: The named choices of ``DDTLHasher(splits=...)``.
SPLITS = ("invariant", "median", "learned")


class SplitBalance(Options):
    """Experimental: a per-class split-balance term in the tree's loss, and a refit of the tree.

    An addition to the published method (``DDTLHasher(splits=SplitBalance(...))``),
    kept for experiments; the methods page reports what it measured. Each
    node should send half of the items of each class that its codes bring
    there to either side (:func:`sklproxy.nn.tree.split_balance_loss`).

    Parameters
    ----------
    gamma : float, default=3.0
        Weight of the balance term beside ``alpha * CE + beta * NT-Xent``.
    reach : {"greedy", "soft"}, default="greedy"
        How a node's items are counted: along the items' greedy paths (the
        gradient flows through their node probabilities), or by their soft
        reach probabilities.
    refit_epochs : int, default=0
        Epochs of a second stage that fits the tree head alone (contrastive
        and balance terms, no class loss) on frozen backbone features of
        ``refit_views`` views of every training item, cached once (view 0 is
        the item itself); the class bits cannot change. 0 skips it.
    refit_views : int, default=8
        Views per item cached for the refit (memory: items x views x backbone
        features x 4 bytes, checked before fitting).
    median : bool, default=True
        Then move each class's splits to its training items' medians, as
        ``splits="median"`` does.

    Examples
    --------
    >>> from sklproxy.hashing import DDTLHasher, SplitBalance
    >>> DDTLHasher(splits=SplitBalance(gamma=1.0)).get_params()["splits__gamma"]
    1.0
    """

    _parameter_constraints: dict = {
        "gamma": [Interval(Real, 0, None, closed="left")],
        "reach": [StrOptions({"greedy", "soft"})],
        "refit_epochs": [Interval(Integral, 0, None, closed="left")],
        "refit_views": [Interval(Integral, 2, None, closed="left")],
        "median": ["boolean"],
    }

    def __init__(self, gamma=3.0, reach="greedy", refit_epochs=0, refit_views=8, median=True):
        self.gamma = gamma
        self.reach = reach
        self.refit_epochs = refit_epochs
        self.refit_views = refit_views
        self.median = median


def resolve_splits(splits: str | SplitBalance) -> SplitBalance:
    """``splits`` as the balance settings it stands for (``gamma=0``: no balance term)."""
    if isinstance(splits, SplitBalance):
        splits._validate_params()
        return splits
    return SplitBalance(gamma=0.0, median=splits == "median")  # "invariant": set after training
