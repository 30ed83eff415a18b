"""DHOGClusterer: deep hierarchical object grouping (IIC heads pushed apart)."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.metrics import normalized_mutual_info_score
from sklearn.utils._param_validation import Interval
from torch import nn

from ..nn.backbones import Standardize, build_backbone, resolve_backbone_name
from ..nn.heads import DHOGHeads
from ..parallel import batched_inference
from ..utils import (
    BACKBONE_CONSTRAINTS,
    TRAINING_CONSTRAINTS,
    NetEstimatorMixin,
    TensorPairDataset,
    resolve_device,
    seed_from_random_state,
    to_storage,
    torch_seeded,
    validate_input,
)
from ._net import DHOGModule, DHOGNet

__all__ = ["DHOGClusterer"]


def selection_scores(labels_a: np.ndarray, labels_b: np.ndarray,
                     n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Unsupervised head-selection criterion from two augmentations' clusters.

    ``labels_a``, ``labels_b``: ``(n, n_heads)`` cluster ids of the same
    samples under two augmentations. Returns ``(scores, nmi)`` per head:
    ``nmi`` is scikit-learn's NMI between the two labellings; ``scores`` is
    ``nmi`` times the entropy of the head's cluster histogram over
    ``log(n_clusters)``, and 0 for a head that uses fewer than
    ``ceil(n_clusters / 2)`` clusters (a collapsed head has NMI 1 with
    itself and must never win).
    """
    n_heads = labels_a.shape[1]
    scores, nmi = np.zeros(n_heads), np.zeros(n_heads)
    for h in range(n_heads):
        a, b = labels_a[:, h], labels_b[:, h]
        nmi[h] = normalized_mutual_info_score(a, b)
        counts = np.bincount(np.concatenate([a, b]), minlength=n_clusters)
        p = counts[counts > 0] / counts.sum()
        entropy = (float(-(p * np.log(p)).sum()) / math.log(n_clusters)
                   if n_clusters > 1 else 1.0)
        used = int((counts > 0).sum())
        scores[h] = 0.0 if used < math.ceil(n_clusters / 2) else nmi[h] * entropy
    return scores, nmi


class DHOGClusterer(ClusterMixin, NetEstimatorMixin, BaseEstimator):
    """Deep hierarchical object grouping: IIC clustering heads pushed apart.

    A backbone carries ``n_heads`` clustering heads ordered shallow to deep
    (:class:`sklproxy.nn.heads.DHOGHeads`). On a ResNet the first heads
    branch off early residual stages and the later heads own a copy of the
    last stage; on vectors (2-D ``X`` without ``image_shape``: MLP backbone)
    and on other backbones all heads branch off the final features and
    differ only by their MLP and by the push term. Each head is an MLP with
    one hidden layer of 200 units and a softmax over ``n_clusters``.

    Training maximises, per minibatch of ``n_repeats`` augmentations of the
    same images, ``MI_pull - alpha * MI_push``: ``MI_pull`` is IIC's mutual
    information between a head's assignments of two augmentations, averaged
    over heads and over all pairs of repeats; ``MI_push`` is, on the same
    view, each head's mean MI with its earlier heads, whose assignments are
    detached (gradient stopping: earlier heads are never pushed by later
    ones), so later heads must find other solutions than the easy ones.
    ``alpha=0`` is IIC with the same network.

    Head selection is unsupervised: ``head_scores_`` is the NMI between each
    head's clusters for two augmentations of the training data times the
    normalised entropy of its cluster histogram (``H / log(n_clusters)``),
    and 0 for a head that uses fewer than half of ``n_clusters`` clusters,
    so a collapsed head (whose NMI with itself would be 1) is never chosen.

    Cluster ids are renumbered after fitting so that the clusters a head
    uses on the training data are ``0..m-1`` (in the head's order) and
    unused ones follow; ``labels_`` are therefore consecutive from 0.

    Parameters
    ----------
    n_clusters : int, default=10
        Clusters of each head (1 is accepted but has nothing to learn).
    n_heads : int, default=8
    alpha : float, default=0.05
        Weight of the push term (0: the IIC ablation).
    n_repeats : int, default=4
        Augmentations of each image per step (at least 2).
    n_overcluster : int, default=0
        If positive, every head gets a sibling overclustering head with this
        many clusters on the same features (IIC's auxiliary overclustering);
        its pull term is added to the objective, it takes no part in the
        push term and it is not used for predictions.
    backbone : {"auto", "mlp", "convnet", "resnet18", "resnet20", "resnet34"} or torch.nn.Module, default="auto"
        ``"auto"``: ``"mlp"`` for vectors, ``"convnet"`` for images smaller
        than 16 px, ``"resnet18"`` otherwise. A module is copied, never modified.
    width : int or None, default=None
        Width of the named backbone; None keeps the architecture's default.
    augment : "auto", None or torch.nn.Module, default="auto"
        Applied on the training device as ``augment(x, generator)``.
        ``"auto"``: :func:`sklproxy.nn.default_augment` (random affine +
        brightness/contrast for images, noise + feature masking for vectors).
        Clustering quality depends on it more than on anything else: pass an
        :class:`sklproxy.nn.ImageAugment` suited to the data, e.g.
        ``ImageAugment(hflip=0.5, grayscale=0.5)`` for colour photographs
        (the thesis's CIFAR recipe flips and greys half of the views, so
        that colour is not a feature every pair of views shares).
    image_shape : tuple or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of flattened images given as 2-D ``X``.
    max_epochs : int, default=30
    batch_size : int, default=256
        Images per step; each is augmented ``n_repeats`` times.
    lr : float, default=1e-3
        Adam learning rate, annealed to 0 with a cosine schedule.
    use_amp : bool, default=True
        bf16 autocast on CUDA (the MI stays float32). Ignored on CPU.
    device : str or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
        An int gives the same labels on CPU for every fit.
    verbose : int, default=0

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Clusters of the training data from the selected head.
    head_labels_ : ndarray of shape (n_samples, n_heads)
        Every head's clusters of the training data.
    best_head_ : int
        Index of the head chosen without labels.
    head_scores_ : ndarray of shape (n_heads,)
        The selection criterion per head (see above).
    head_nmi_ : ndarray of shape (n_heads,)
        The raw NMI between two augmentations per head.
    backbone_ : str or torch.nn.Module
    device_ : torch.device
    net_ : DHOGNet
        The fitted skorch net (``net_.history`` holds the training loss).
    n_features_in_ : int
    input_shape_ : tuple

    See Also
    --------
    sklproxy.metrics.cluster_accuracy : accuracy under Hungarian matching.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklproxy.cluster import DHOGClusterer
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X.reshape(-1, 8, 8)[:200]
    >>> dhog = DHOGClusterer(n_clusters=10, n_heads=3, n_repeats=2, max_epochs=1,
    ...                      width=8, random_state=0).fit(X)
    >>> dhog.labels_.shape, dhog.head_labels_.shape, dhog.predict_proba(X[:4]).shape
    ((200,), (200, 3), (4, 10))
    >>> dhog.predict_heads(X[:5]).shape, 0 <= dhog.best_head_ < 3
    ((5, 3), True)
    """

    _parameter_constraints: dict = {
        **TRAINING_CONSTRAINTS,
        **BACKBONE_CONSTRAINTS,
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "n_repeats": [Interval(Integral, 2, None, closed="left")],
        "n_overcluster": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_clusters=10,
        n_heads=8,
        alpha=0.05,
        n_repeats=4,
        n_overcluster=0,
        backbone="auto",
        width=None,
        augment="auto",
        image_shape=None,
        max_epochs=30,
        batch_size=256,
        lr=1e-3,
        use_amp=True,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.n_heads = n_heads
        self.alpha = alpha
        self.n_repeats = n_repeats
        self.n_overcluster = n_overcluster
        self.backbone = backbone
        self.width = width
        self.augment = augment
        self.image_shape = image_shape
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.use_amp = use_amp
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: None = None) -> DHOGClusterer:
        """Train the backbone and heads on ``X`` (``y`` is ignored), then pick a head.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n, n_features), (n, H, W) or (n, C, H, W)
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : DHOGClusterer
        """
        X = validate_input(self, X, reset=True, image_shape=self.image_shape, min_samples=2)
        self.device_ = resolve_device(self.device)
        self.backbone_ = resolve_backbone_name(self.backbone, self.input_shape_)
        seed = seed_from_random_state(self.random_state)
        X_t = torch.from_numpy(X)
        with torch_seeded(seed, self.device_):
            heads = DHOGHeads(build_backbone(self.backbone_, self.input_shape_, self.width),
                              self.n_clusters, self.n_heads, n_overcluster=self.n_overcluster)
            module = DHOGModule(Standardize.fit(X_t, per_channel=True), heads)
            self.net_ = self._make_net(module, X_t, seed)
            dataset = TensorPairDataset(to_storage(X_t, self.device_))
            self.net_.fit(dataset, None)
        self._selection_seed = seed + 1
        self._select_head(dataset)
        return self

    def _make_net(self, module: nn.Module, X: torch.Tensor, seed: int) -> DHOGNet:
        return DHOGNet(
            module,
            criterion=nn.Identity,  # the loss lives in DHOGNet.get_loss
            optimizer=torch.optim.Adam,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            device=self.device_,
            callbacks=self._training_callbacks(),
            alpha=self.alpha,
            n_repeats=self.n_repeats,
            augment=self._augment_factory(X),
            stage="DHOGClusterer",
            seed=seed,
            use_amp=self.use_amp,
            verbose=self.verbose,
        )

    def _select_head(self, dataset: TensorPairDataset) -> None:
        """Set the head scores, ``best_head_``, the renumbering and the labels."""
        raw = self._raw_logits(dataset).argmax(axis=2)                   # (n, H)
        # renumber: clusters used on the training data first, in the head's order
        self._label_maps = np.empty((self.n_heads, self.n_clusters), dtype=np.int64)
        for h in range(self.n_heads):
            used = np.isin(np.arange(self.n_clusters), raw[:, h])
            order = np.concatenate([np.flatnonzero(used), np.flatnonzero(~used)])
            self._label_maps[h, order] = np.arange(self.n_clusters)
        self.head_labels_ = np.take_along_axis(self._label_maps.T, raw, axis=0)
        self.head_scores_, self.head_nmi_ = self._criterion(dataset)
        self.best_head_ = int(np.argmax(self.head_scores_))
        self.labels_ = self.head_labels_[:, self.best_head_].copy()

    def _criterion(self, dataset: TensorPairDataset) -> tuple[np.ndarray, np.ndarray]:
        """Per head: NMI between two augmentations times normalised marginal entropy."""
        views = torch.cat([v.cpu() for v in self.net_.view_labels_iter(
            dataset, self._selection_seed, n_views=2)], dim=1).numpy()   # (2, n, H)
        return selection_scores(views[0], views[1], self.n_clusters)

    # ------------------------------------------------------------ inference
    def _raw_logits(self, dataset: TensorPairDataset) -> np.ndarray:
        """Main heads' logits ``(n, n_heads, n_clusters)`` in the raw cluster order."""
        parts = [logits.float().cpu()
                 for logits, _ in self.net_.forward_iter(dataset, device=self.net_.device)]
        return torch.cat(parts).numpy()

    def _proba_heads(self, X) -> np.ndarray:
        """Renumbered probabilities of every head, ``(n, n_heads, n_clusters)``."""
        logits = torch.from_numpy(self._raw_logits(TensorPairDataset(torch.from_numpy(X))))
        proba = torch.softmax(logits, dim=-1).numpy()
        out = np.empty_like(proba)
        for h in range(self.n_heads):
            out[:, h, self._label_maps[h]] = proba[:, h]
        return out

    @batched_inference
    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Soft cluster assignments of the selected head, ``(n_samples, n_clusters)``."""
        X = self._validate_fitted_input(X)
        return self._proba_heads(X)[:, self.best_head_]

    @batched_inference
    def predict(self, X: ArrayLike) -> np.ndarray:
        """Cluster of each sample from the selected head (``best_head_``)."""
        X = self._validate_fitted_input(X)
        return self._proba_heads(X)[:, self.best_head_].argmax(axis=1).astype(np.int64)

    @batched_inference
    def predict_heads(self, X: ArrayLike) -> np.ndarray:
        """Every head's cluster for each sample, ``(n_samples, n_heads)`` int64."""
        X = self._validate_fitted_input(X)
        return self._proba_heads(X).argmax(axis=2).astype(np.int64)

    def score(self, X: ArrayLike, y: None = None) -> float:
        """The unsupervised selection criterion of ``best_head_`` on ``X`` (higher is better).

        NMI between the selected head's clusters of two augmentations of
        ``X`` times the normalised entropy of its cluster histogram (0 when
        it uses fewer than half of ``n_clusters`` clusters); ``y`` is
        ignored, so ``GridSearchCV`` can tune without labels. With labels,
        use ``scoring=sklproxy.metrics.cluster_accuracy_scorer`` or
        scikit-learn's NMI/ARI scorers instead.
        """
        X = self._validate_fitted_input(X)
        scores, _ = self._criterion(TensorPairDataset(torch.from_numpy(X)))
        return float(scores[self.best_head_])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
