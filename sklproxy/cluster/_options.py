"""The network DHOGClusterer builds around its backbone: the ``heads`` parameter."""

from __future__ import annotations

from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions

from ..utils import Options

__all__ = ["HeadOptions"]


class HeadOptions(Options):
    """Settings of DHOG's clustering heads and of the model's input.

    Parameters
    ----------
    hidden : int, default=200
        Hidden units of each head's MLP (one hidden layer, as in the thesis).
    n_overcluster : int or "auto", default="auto"
        If positive, every head gets a sibling overclustering head with this
        many clusters on the same features (IIC's auxiliary overclustering);
        its pull term is added to the objective, it takes no part in the
        push term and it is not used for predictions. ``"auto"``:
        ``5 * n_clusters``; 0: none.
    sobel : bool, default=False
        IIC's Sobel preprocessing (grey-level gradients, 2 channels) inside
        the model, applied to every view and at prediction time. It removes
        colour and brightness; DHOG's thesis does without it.

    Examples
    --------
    >>> from sklproxy.cluster import DHOGClusterer, HeadOptions
    >>> DHOGClusterer(heads=HeadOptions(n_overcluster=0)).get_params()["heads__n_overcluster"]
    0
    """

    _parameter_constraints: dict = {
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "n_overcluster": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "sobel": ["boolean"],
    }

    def __init__(self, hidden=200, n_overcluster="auto", sobel=False):
        self.hidden = hidden
        self.n_overcluster = n_overcluster
        self.sobel = sobel
