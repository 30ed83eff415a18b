"""LADClassifier: a classifier trained on debiased images drawn anew for every batch."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..classification import ImageClassifier
from ..nn.augment import default_augment
from ..utils import validate_input
from ._lad import LADDebiaser

__all__ = ["LADClassifier"]


class _DebiasThenAugment(nn.Module):
    """``augment(debias(x, generator), generator)``: one training batch's images."""

    def __init__(self, debias: nn.Module, augment: nn.Module | None) -> None:
        super().__init__()
        self.debias = debias
        self.augment = augment

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        out = self.debias(x, generator)
        return out if self.augment is None else self.augment(out, generator)


class LADClassifier(ClassifierMixin, BaseEstimator):
    """Train a classifier on LAD-debiased images, drawn anew for every batch.

    ``fit(X, y)`` fits ``debiaser`` on ``(X, y)``, then trains ``classifier``
    on ``X`` with the debiasing step run on the device before its usual
    augmentation in every training batch (``LADDebiaser.debias_module``): with
    ``method="substitute"`` each image gets a new random group of spurious
    codes every time it is drawn, so the classifier never sees the spurious
    signal agree with the label. ``predict(X)`` classifies
    ``debiaser_.transform(X)``, the images the pipeline form would see;
    when ``method="swap"``'s spectral swap is on, the raw ``X`` instead: the
    swap is a draw for training whose donors are raw training images, so the
    classifier has learned to ignore their style, and a raw test image is
    what it reads best (B3: 5-10 points above a swapped copy on the
    corruption settings, 6 above a substituted one on Type0).

    Compared with ``make_pipeline(LADDebiaser(), ImageClassifier())``, which
    trains on one debiased copy of the training set, regeneration shows the
    classifier every group for every image (the methods page, *LAD*, gives
    the measured comparison).

    Parameters
    ----------
    debiaser : LADDebiaser or None, default=None
        Cloned and fitted in ``fit``; None means ``LADDebiaser()``.
    classifier : estimator with an ``augment`` parameter, or None, default=None
        A sklproxy image classifier (``ImageClassifier``) whose ``augment``
        takes a torch module ``(x, generator) -> x``; cloned and fitted in
        ``fit``. None means ``ImageClassifier()``. For any other classifier use
        ``make_pipeline(LADDebiaser(), classifier)``.

    Attributes
    ----------
    debiaser_ : LADDebiaser
    classifier_ : estimator
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    See Also
    --------
    LADDebiaser : The debiasing step on its own, for pipelines.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklproxy.datasets import make_colour_biased
    >>> from sklproxy.classification import ImageClassifier
    >>> from sklproxy.debias import LADClassifier, LADDebiaser, VQVAEOptions
    >>> X, y = load_digits(return_X_y=True)
    >>> Xc, _ = make_colour_biased(X[:300].reshape(-1, 8, 8), y[:300], max_value=16,
    ...                            random_state=0)
    >>> clf = LADClassifier(LADDebiaser(vqvae=VQVAEOptions(n_codes=32), max_epochs=3, random_state=0),
    ...                     ImageClassifier(backbone="lenet", max_epochs=2, random_state=0))
    >>> clf.fit(Xc, y[:300]).predict(Xc[:4]).shape
    (4,)
    """

    _parameter_constraints: dict = {
        "debiaser": [LADDebiaser, None],
        "classifier": [HasMethods(["fit", "predict"]), None],
    }

    def __init__(self, debiaser=None, classifier=None):
        self.debiaser = debiaser
        self.classifier = classifier

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: ArrayLike, y: ArrayLike) -> LADClassifier:
        """Fit the debiaser, then the classifier on debiased batches.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n, n_features), (n, H, W) or (n, C, H, W)
        y : array-like of shape (n,)

        Returns
        -------
        self : LADClassifier
        """
        classifier = clone(ImageClassifier() if self.classifier is None else self.classifier)
        if "augment" not in classifier.get_params(deep=False):
            raise ValueError(
                f"classifier={type(classifier).__name__} has no 'augment' parameter, so the "
                "debiased images cannot be drawn anew for each batch; use an sklproxy "
                "ImageClassifier, or make_pipeline(LADDebiaser(), classifier) for a fixed "
                "debiased copy of the training set."
            )
        self.debiaser_ = clone(LADDebiaser() if self.debiaser is None else self.debiaser).fit(X, y)
        base = classifier.get_params(deep=False)["augment"]
        if isinstance(base, str):  # "auto": the classifier's default for this data
            Xv = validate_input(self.debiaser_, X, reset=False)
            base = default_augment(torch.from_numpy(Xv))
        classifier.set_params(augment=_DebiasThenAugment(self.debiaser_.debias_module(), base))
        self.classifier_ = classifier.fit(X, y)
        self.classes_ = self.classifier_.classes_
        self.n_features_in_ = self.debiaser_.n_features_in_
        return self

    def _debiased(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self)
        return self.debiaser_._prediction_images(X)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted class labels of the debiased images."""
        X = self._debiased(X)
        return self.classifier_.predict(X)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities of the debiased images."""
        X = self._debiased(X)
        return self.classifier_.predict_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
