"""DHOGClusterer: deep hierarchical object grouping (IIC heads pushed apart)."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.metrics import normalized_mutual_info_score
from sklearn.utils._param_validation import Interval, StrOptions

from .._training import (
    BACKBONE_CONSTRAINTS,
    TRAINING_CONSTRAINTS,
    NetEstimatorMixin,
    TensorPairDataset,
    to_storage,
)
from ..nn.augment import Sobel, dhog_augment
from ..nn.backbones import BACKBONES, Standardize, build_backbone, resolve_backbone_name
from ..nn.heads import DHOGHeads, _is_staged
from ..nn.mutual_info import PUSH_KINDS
from ..parallel import batched_inference
from ..utils import (
    cpu_threads,
    fit_context,
    resolve_device,
    resolve_options,
    seed_from_random_state,
    validate_input,
)
from ._net import DHOGModule, DHOGNet
from ._options import HeadOptions

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


#: Optimisation steps that ``max_epochs="auto"`` aims for (digits: about 140 epochs).
AUTO_STEPS = 2000
#: ... and the fewest epochs it gives on large data.
AUTO_MIN_EPOCHS = 20


def _staged_backbones(input_shape: tuple[int, ...]) -> list[str]:
    """Names of the backbones that carry DHOG's hierarchy on inputs of this shape."""
    names = []
    for name in sorted(BACKBONES):
        try:
            if _is_staged(build_backbone(name, input_shape)):
                names.append(name)
        except ValueError:                          # e.g. an image backbone on vectors
            continue
    return names


class DHOGClusterer(ClusterMixin, NetEstimatorMixin, BaseEstimator):
    """Deep hierarchical object grouping: IIC clustering heads pushed apart.

    A backbone carries ``n_heads`` clustering heads ordered shallow to deep
    (:class:`sklproxy.nn.heads.DHOGHeads`): the first heads branch off the
    backbone's early stages and the later heads each own a copy of its last
    stage (ResNet-18, 8 heads: heads 0-2 after residual stages 1-3, heads
    3-7 on their own stage 4; the 3-block ConvNet: heads 0-1 after blocks
    1-2; the MLP: head 0 after the first layer). A user module without
    stages carries all heads on its final features. Each head is an MLP with
    one hidden layer of 200 units and a softmax over ``n_clusters``.

    Training maximises, per minibatch of ``n_repeats`` views of the same
    images, ``(1/H) sum_i (pull_i - alpha * push_i)``: ``pull_i`` is IIC's
    mutual information between head ``i``'s assignments of two views,
    averaged over all pairs of views; ``push_i`` is, on the same view, head
    ``i``'s mean MI with its earlier heads, whose assignments are detached
    (gradient stopping: earlier heads are never pushed by later ones), so
    later heads must find other solutions than the easy ones. ``alpha`` is
    thus a per-head weight, independent of ``n_heads``
    (:func:`sklproxy.nn.mutual_info.dhog_objective`; the thesis sums the push
    over heads, so its ``alpha`` is ours divided by ``n_heads``). ``alpha=0``
    is IIC with the same network.

    The views matter more than anything else: they decide what the heads can
    agree on. The default (``augment="auto"``,
    :func:`sklproxy.nn.augment.dhog_augment`) draws AutoAugment-style
    operations, random square crops resized back and, for colour images,
    scrambles colour (random channel order, grey with probability 0.5), so
    that colour is not a feature every pair of views shares.

    Head selection is unsupervised: ``head_scores_`` is the NMI between each
    head's clusters for two views of the training data times the
    normalised entropy of its cluster histogram (``H / log(n_clusters)``),
    and 0 for a head that uses fewer than half of ``n_clusters`` clusters,
    so a collapsed head (whose NMI with itself would be 1) is never chosen.
    When every head collapsed, ``fit`` warns and ``score`` returns NaN.

    Cluster ids are renumbered after fitting so that the clusters a head
    uses on the training data are ``0..m-1`` (in the head's order) and
    unused ones follow; ``labels_`` are therefore consecutive from 0.

    Parameters
    ----------
    n_clusters : int, default=10
        Clusters of each head: at least 2 and at most the number of training
        samples.
    n_heads : int, default=4
    alpha : float, default=0.2
        Per-head weight of the push term (0: the IIC ablation).
    n_repeats : int, default=4
        Views of each image per step (at least 2).
    push : {"mi", "conditional"}, default="mi"
        What a later head is pushed away from. ``"mi"``: its MI with each
        earlier head (the thesis). ``"conditional"``: the part of its
        agreement between views that an earlier head already explains, so
        its objective is ``(1 - alpha) pull_i + alpha I(view a; view b |
        earlier head)``; a collapsed or random head then never pays,
        whatever ``alpha`` in ``[0, 1]`` (``alpha`` above 1 is refused)
        (:func:`sklproxy.nn.mutual_info.conditional_pull_mutual_information`).
    heads : HeadOptions or None, default=None
        The heads' hidden units, their overclustering siblings and IIC's
        optional Sobel input (:class:`~sklproxy.cluster.HeadOptions`; None:
        its defaults). Tunable as ``heads__n_overcluster`` and so on.
    backbone : {"auto", "mlp", "convnet", "resnet18", "resnet20", "resnet34"} or torch.nn.Module, default="auto"
        ``"auto"``: ``"mlp"`` for vectors; for images ``"convnet"`` on the
        CPU and, on a GPU, ``"convnet"`` below 16 px and ``"resnet18"`` from
        16 px (:func:`sklproxy.nn.resolve_backbone_name`). A named backbone without stages
        (``"lenet"``) is refused. A module is copied, never modified; one
        without ``stem``/``stages``/``stage_channels`` carries every head on
        its final features (with a warning).
    width : int or None, default=None
        Width of the named backbone; None: 16 for the ConvNet (DHOG's
        choice on small images), the architecture's default otherwise.
    augment : "auto", None or torch.nn.Module, default="auto"
        Views, made on the training device as ``augment(x, generator)``.
        ``"auto"``: :func:`sklproxy.nn.augment.dhog_augment` (colour or grey
        :class:`~sklproxy.nn.augment.ViewPolicy` for images, noise + feature
        masking for vectors). Pass your own ``ViewPolicy(...)`` to change
        the operations, crop sizes or colour scrambling.
    image_shape : tuple or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of flattened images given as 2-D ``X``.
    max_epochs : int or "auto", default="auto"
        ``"auto"``: enough epochs for about 2000 optimisation steps, and at
        least 20 (8x8 digits: 143 epochs; the count of steps matters, not
        of epochs). What the defaults cost on a 2-core CPU (one torch
        thread): about 4.5 minutes for 5000 Fashion-MNIST images at 28x28
        (B4 on the benchmarks page).
    batch_size : int, default=128
        Images per step; each is augmented ``n_repeats`` times. The last,
        smaller batch of an epoch is dropped (the order changes each epoch).
    lr : float, default=2e-3
        Adam learning rate, annealed to 0 per step with a cosine schedule.
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
        The raw NMI between two views of the training data, per head (the
        thesis's "train NMI between augmentations").
    n_epochs_ : int
        Epochs trained (``max_epochs`` resolved).
    backbone_ : str or torch.nn.Module
    device_ : torch.device
    net_ : DHOGNet
        The fitted skorch net (``net_.history`` holds the training loss).
    n_features_in_ : int
    input_shape_ : tuple

    See Also
    --------
    sklproxy.metrics.cluster_accuracy : accuracy under Hungarian matching.
    sklproxy.nn.augment.ViewPolicy : the views.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklproxy.cluster import DHOGClusterer
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X.reshape(-1, 8, 8)[:200]
    >>> dhog = DHOGClusterer(n_clusters=10, n_heads=3, n_repeats=2, max_epochs=10,
    ...                      batch_size=50, width=8, random_state=0).fit(X)
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
        "push": [StrOptions(set(PUSH_KINDS))],
        "heads": [HeadOptions, None],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
    }

    _default_augment = staticmethod(dhog_augment)

    def __init__(
        self,
        *,
        n_clusters=10,
        n_heads=4,
        alpha=0.2,
        n_repeats=4,
        push="mi",
        heads=None,
        backbone="auto",
        width=None,
        augment="auto",
        image_shape=None,
        max_epochs="auto",
        batch_size=128,
        lr=2e-3,
        use_amp=True,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.n_heads = n_heads
        self.alpha = alpha
        self.n_repeats = n_repeats
        self.push = push
        self.heads = heads
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
        heads = resolve_options(self.heads, HeadOptions, param="heads")
        X = validate_input(self, X, reset=True, image_shape=self.image_shape, min_samples=2)
        self._check_sizes(X, heads)
        self.device_ = resolve_device(self.device)
        self.backbone_ = resolve_backbone_name(self.backbone, self.input_shape_, self.device_)
        self.n_epochs_ = self._resolve_epochs(len(X))
        seed = seed_from_random_state(self.random_state)
        X_t = torch.from_numpy(X)
        with fit_context(seed, self.device_):
            module = self._make_module(X_t, heads)
            steps_per_epoch = max(1, len(X) // min(self.batch_size, len(X)))
            self.net_ = self._build_net(
                DHOGNet, module, seed=seed, max_epochs=self.n_epochs_, stage="DHOGClusterer",
                schedule="step", steps_per_epoch=steps_per_epoch, drop_last=True,
                augment=self._augment_factory(X_t), alpha=self.alpha, n_repeats=self.n_repeats,
                push=self.push,
            )
            dataset = TensorPairDataset(to_storage(X_t, self.device_))
            self.net_.fit(dataset, None)
        self._selection_seed = seed + 1
        with cpu_threads(self.device_):
            self._select_head(dataset)
        self._warn_if_collapsed()
        return self

    def _check_sizes(self, X: np.ndarray, heads: HeadOptions) -> None:
        if self.push == "conditional" and self.alpha > 1:
            raise ValueError(
                f"alpha={self.alpha} with push='conditional' weighs a head's own pull by "
                "1 - alpha < 0, rewarding heads whose views disagree; use 0 <= alpha <= 1 "
                "(1: only what earlier heads do not explain counts), or push='mi'."
            )
        if self.n_clusters == 1:
            raise ValueError(
                "n_clusters=1 puts every sample in one cluster: there is nothing to learn (the "
                "mutual information of a single cluster is 0); use n_clusters >= 2."
            )
        if self.n_clusters > len(X):
            raise ValueError(
                f"n_clusters={self.n_clusters} is larger than the number of samples "
                f"({len(X)}); use at most {len(X)} clusters, or fit on more data."
            )
        if heads.sobel and len(self.input_shape_) != 3:
            raise ValueError(
                "heads.sobel=True needs images but X holds vectors; pass 3-D/4-D X or "
                "image_shape=(C, H, W), or use HeadOptions(sobel=False)."
            )

    def _resolve_epochs(self, n_samples: int) -> int:
        """``max_epochs``, or for "auto" about :data:`AUTO_STEPS` steps (at least 20 epochs)."""
        if self.max_epochs != "auto":
            return int(self.max_epochs)
        steps_per_epoch = max(1, n_samples // min(self.batch_size, n_samples))
        return max(AUTO_MIN_EPOCHS, math.ceil(AUTO_STEPS / steps_per_epoch))

    def _resolved_width(self) -> int | None:
        if self.width is None and self.backbone_ == "convnet":
            return 16
        return self.width

    def _make_module(self, X: torch.Tensor, heads: HeadOptions) -> DHOGModule:
        """Sobel (optional), standardisation fitted on the training data, the heads."""
        sobel = Sobel() if heads.sobel else None
        features = X if sobel is None else torch.cat(
            [sobel(chunk) for chunk in X.split(4096)])
        input_shape = tuple(features.shape[1:])
        n_over = 5 * self.n_clusters if heads.n_overcluster == "auto" else heads.n_overcluster
        network = DHOGHeads(build_backbone(self.backbone_, input_shape, self._resolved_width()),
                            self.n_clusters, self.n_heads, hidden=heads.hidden, n_overcluster=n_over)
        if self.n_heads > 1 and not network.staged:
            staged = _staged_backbones(input_shape)
            if isinstance(self.backbone_, str):
                raise ValueError(
                    f"backbone={self.backbone_!r} has no stages (attributes stem, stages, "
                    "stage_channels), so DHOGClusterer cannot branch its heads from shallow to "
                    f"deep on it; use one of {staged} (or 'auto'), or pass a torch.nn.Module "
                    "(one without stages carries every head on its final features).")
            warnings.warn(
                f"backbone {type(self.backbone_).__name__!r} has no stages (attributes stem, "
                "stages, stage_channels), so all heads share its final features and there is "
                f"no shallow-to-deep hierarchy; use one of the staged backbones {staged}, or "
                "give your module those attributes.", UserWarning, stacklevel=4)
        return DHOGModule(Standardize.fit(features, per_channel=True), network, sobel)

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

    def _warn_if_collapsed(self) -> None:
        """A UserWarning, naming the fixes, when the clustering is degenerate or partly so.

        Degenerate: every head collapsed, or the chosen head uses fewer than
        half of ``n_clusters`` clusters on the training data. Partly: the
        chosen head leaves clusters empty, or some cluster holds fewer than a
        tenth of an even share of the training images.
        """
        counts = np.bincount(self.labels_, minlength=self.n_clusters)
        used = int((counts > 0).sum())
        tiny = int(((counts > 0) & (counts < 0.1 * len(self.labels_) / self.n_clusters)).sum())
        problems = []
        if not np.any(self.head_scores_ > 0):
            problems.append("every head collapsed (each uses fewer than half of its clusters on "
                            "two views of the training data)")
        if used < self.n_clusters:
            problems.append(f"the chosen head {self.best_head_} leaves {self.n_clusters - used} of "
                            f"n_clusters={self.n_clusters} clusters empty on the training data")
        if tiny:
            problems.append(f"{tiny} of its clusters hold fewer than a tenth of an even share of "
                            f"the {len(self.labels_)} training images (smallest: "
                            f"{int(counts[counts > 0].min())})")
        if not problems:
            return
        warnings.warn(
            f"DHOGClusterer: {'; '.join(problems)}. Try more optimisation steps (max_epochs, or "
            "a smaller batch_size), a lower lr, views that keep the images recognisable "
            "(augment=ViewPolicy(...) with milder operations), a smaller alpha, or fewer "
            "n_clusters.",
            UserWarning, stacklevel=4,
        )

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

        NMI between the selected head's clusters of two views of ``X`` times
        the normalised entropy of its cluster histogram; ``y`` is ignored, so
        ``GridSearchCV`` can tune without labels. When the head uses fewer
        than half of ``n_clusters`` clusters on ``X`` (a collapsed model)
        the score is NaN, with a warning, rather than 0: scikit-learn's
        search then warns about non-finite scores and ranks such candidates
        last, instead of silently picking the first of several collapsed
        ones. With labels, use ``scoring=sklproxy.metrics.cluster_accuracy_scorer``
        or scikit-learn's NMI/ARI scorers instead.
        """
        X = self._validate_fitted_input(X)
        with cpu_threads(self.device_):
            scores, _ = self._criterion(TensorPairDataset(torch.from_numpy(X)))
        score = float(scores[self.best_head_])
        if score == 0.0 and self.n_clusters > 1:
            warnings.warn(
                f"DHOGClusterer.score: head {self.best_head_} uses fewer than half of "
                f"n_clusters={self.n_clusters} clusters on X (collapsed); returning NaN. "
                "Train longer, lower lr, use milder views, or fewer n_clusters.",
                UserWarning, stacklevel=2,
            )
            return float("nan")
        return score

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
