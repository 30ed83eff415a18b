"""ImageClassifier: a skorch-trained image classifier (ResNet-20 by default)."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval
from torch import Tensor, nn

from .._training import (
    BACKBONE_CONSTRAINTS,
    TRAINING_CONSTRAINTS,
    DeviceNet,
    NetEstimatorMixin,
    TensorPairDataset,
    to_storage,
)
from ..nn.backbones import Standardize, build_backbone, resolve_backbone_name
from ..parallel import batched_inference
from ..utils import (
    encode_class_labels,
    fit_context,
    resolve_device,
    seed_from_random_state,
    validate_input,
)

__all__ = ["ClassifierModule", "ImageClassifier"]


class ClassifierModule(nn.Module):
    """``Standardize`` -> backbone -> linear head: logits ``(B, K)``."""

    def __init__(self, standardize: nn.Module, backbone: nn.Module, n_classes: int) -> None:
        super().__init__()
        self.standardize = standardize
        self.backbone = backbone
        self.head = nn.Linear(backbone.out_features, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(self.standardize(x)))


class ImageClassifier(ClassifierMixin, NetEstimatorMixin, BaseEstimator):
    """Image classifier trained with skorch on the data's device (ResNet-20 on a GPU).

    Standardisation (per channel, fitted on ``X``), a backbone and a linear
    head, trained with cross-entropy, AdamW and a cosine learning-rate
    schedule; batches are index slices of device-resident data and are
    augmented on the device. Meant as the final classifier after
    :class:`~sklproxy.debias.LADDebiaser` (``make_pipeline(LADDebiaser(), ImageClassifier())``)
    but usable alone.

    Parameters
    ----------
    backbone : {"auto", "mlp", "convnet", "lenet", "resnet18", "resnet20", "resnet34"} or torch.nn.Module, default="auto"
        Feature extractor (:func:`sklproxy.nn.build_backbone`). ``"auto"``:
        ``"resnet20"`` for images on a GPU, ``"lenet"`` for images on the CPU
        (``"convnet"`` below its 4 px minimum), sized for minutes-long CPU
        fits. Vectors (2-D ``X`` without ``image_shape``) always use
        ``"mlp"`` unless a module is given, because the convolutional
        backbones need images; the backbone used is ``backbone_``.
    width : int or None, default=None
        Width of the named backbone; None keeps its default.
    augment : "auto", None or torch.nn.Module, default="auto"
        Training augmentation ``augment(x, generator)`` run on the device.
        ``"auto"``: :func:`sklproxy.nn.default_augment` (random affine and
        brightness/contrast for images, noise and masking for vectors).
    image_shape : tuple or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of flattened images given as 2-D ``X``.
    max_epochs : int, default=30
    batch_size : int, default=128
    lr : float, default=1e-3
        AdamW learning rate, cosine-annealed to 0.
    weight_decay : float, default=1e-4
    use_amp : bool, default=True
        bf16 autocast on CUDA; ignored on CPU.
    device : str or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
        An int gives the same bits on CPU for every fit.
    verbose : int, default=0
        ``>= 1`` prints a line per epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    backbone_ : str or torch.nn.Module
    device_ : torch.device
    net_ : DeviceNet
        The fitted skorch net.
    n_features_in_ : int
    input_shape_ : tuple

    See Also
    --------
    sklproxy.debias.LADDebiaser : Removes a spurious signal before this classifier.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklproxy.classification import ImageClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X.reshape(-1, 1, 8, 8)
    >>> clf = ImageClassifier(backbone="convnet", width=8, max_epochs=1, random_state=0)
    >>> clf.fit(X[:200], y[:200]).predict(X[:3]).shape
    (3,)
    >>> clf.predict_proba(X[:3]).shape, clf.predict_proba(X[:3]).dtype
    ((3, 10), dtype('float32'))
    """

    _parameter_constraints: dict = {
        **TRAINING_CONSTRAINTS,
        **BACKBONE_CONSTRAINTS,
        "weight_decay": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        backbone="auto",
        width=None,
        augment="auto",
        image_shape=None,
        max_epochs=30,
        batch_size=128,
        lr=1e-3,
        weight_decay=1e-4,
        use_amp=True,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.backbone = backbone
        self.width = width
        self.augment = augment
        self.image_shape = image_shape
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.use_amp = use_amp
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: ArrayLike) -> ImageClassifier:
        """Train the classifier.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n, n_features), (n, H, W) or (n, C, H, W)
        y : array-like of shape (n,)
            Class labels (any hashable values, at least 2 classes).

        Returns
        -------
        self : ImageClassifier
        """
        X = validate_input(self, X, reset=True, image_shape=self.image_shape, min_samples=2)
        y_enc = encode_class_labels(self, X, y)
        self.device_ = resolve_device(self.device)
        vectors = len(self.input_shape_) == 1
        if vectors and isinstance(self.backbone, str):
            self.backbone_ = "mlp"
        else:
            small = "lenet" if not vectors and min(self.input_shape_[1:]) >= 4 else "convnet"
            self.backbone_ = resolve_backbone_name(self.backbone, self.input_shape_, self.device_,
                                                   large="resnet20", small=small)
        seed = seed_from_random_state(self.random_state)
        X_t = torch.from_numpy(X)
        with fit_context(seed, self.device_):
            module = ClassifierModule(
                Standardize.fit(X_t, per_channel=True),
                build_backbone(self.backbone_, self.input_shape_, self.width),
                len(self.classes_),
            )
            self.net_ = self._build_net(
                DeviceNet, module, seed=seed, max_epochs=self.max_epochs, stage="ImageClassifier",
                criterion=nn.CrossEntropyLoss, optimizer=torch.optim.AdamW,
                optimizer__weight_decay=self.weight_decay, augment=self._augment_factory(X_t),
            )
            dataset = TensorPairDataset(to_storage(X_t, self.device_),
                                        to_storage(torch.from_numpy(y_enc), self.device_))
            self.net_.fit(dataset, None)
        return self

    def _logits(self, X) -> torch.Tensor:
        X = self._validate_fitted_input(X)
        dataset = TensorPairDataset(torch.from_numpy(X))
        parts = [out.float().cpu() for out in self.net_.forward_iter(dataset, device=self.net_.device)]
        return torch.cat(parts)

    @batched_inference
    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, float32."""
        return torch.softmax(self._logits(X), dim=1).numpy()

    @batched_inference
    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Log class probabilities, shape ``(n_samples, n_classes)``."""
        return torch.log_softmax(self._logits(X), dim=1).numpy()

    @batched_inference
    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted class labels."""
        index = self._logits(X).argmax(dim=1).numpy()
        return self.classes_[index]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
