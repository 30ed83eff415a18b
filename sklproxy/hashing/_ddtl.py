"""DDTLHasher: deep semantic hashing with a differentiable decision tree."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_consistent_length

from .._training import (
    BACKBONE_CONSTRAINTS,
    TRAINING_CONSTRAINTS,
    NetEstimatorMixin,
    TensorPairDataset,
    to_storage,
)
from ..nn.backbones import Standardize, build_backbone, resolve_backbone_name
from ..nn.tree import greedy_path_bits, leaf_log_probs
from ..parallel import batched_inference
from ..utils import (
    encode_class_labels,
    fit_context,
    resolve_device,
    seed_from_random_state,
    validate_input,
)
from ._codes import CodeOutputMixin
from ._net import (
    INVARIANT_VIEWS,
    DDTLModule,
    DDTLNet,
    DDTLTreeNet,
    cache_view_features,
    set_invariant_splits,
    set_median_splits,
)
from ._options import SPLITS, SplitBalance, resolve_splits

__all__ = ["DDTLHasher"]

# Largest estimated training memory for the tree part (leaf tensors of one
# step, the tree head with its Adam state, and the cached features of the
# tree refit) before fit refuses to start.
_TREE_MEMORY_LIMIT = 4 * 2**30


def _tree_training_bytes(depth: int, batch: int, n_features: int = 512,
                         balance: bool = False) -> int:
    """Rough training memory of the tree part: leaf tensors of one step + the head.

    Per step: two views x batch x leaves x ~8 float32 temporaries (log-sigmoid
    levels, probabilities, normalised copies and their gradients), ~2 more
    with the split-balance term (its per-(class, node) sums); the head:
    ``(2**D - 1) x F`` weights with gradient and two Adam moments.
    """
    n_leaves = 2**depth
    temporaries = 10 if balance else 8
    return 2 * batch * n_leaves * 4 * temporaries + (n_leaves - 1) * n_features * 4 * 4


def _refit_cache_bytes(n_samples: int, n_views: int, n_features: int) -> int:
    """The float32 features of ``n_views`` views of every item, kept for the tree refit."""
    return n_samples * n_views * n_features * 4


# ``score`` reports mAP@k in code order with this k (mAP@1000 as in B1).
SCORE_K = 1000


class DDTLHasher(CodeOutputMixin, TransformerMixin, NetEstimatorMixin, BaseEstimator):
    """Deep semantic hashing with a differentiable decision-tree layer (DDTL).

    A backbone feeds two linear heads: a class head (the *class bits*: the
    predicted class index in binary, most significant bit first; one bit per
    label for multi-label ``y``) and a complete binary decision tree of depth
    ``n_path_bits`` whose leaf probabilities are trained with an NT-Xent
    contrastive loss computed *within each class* of the minibatch, so the
    tree splits each class by class-unrelated features (the *path bits*,
    root first). Codes therefore rank items within a class and spread over
    the hash space; compare them in code order
    (:func:`sklproxy.metrics.mean_average_precision` with ``ranking="code"``).

    Loss per minibatch of two augmented views:
    ``alpha * CE(class_logits, y) + beta * NT-Xent(leaf_probs, temperature)``.
    Leaf probabilities are computed in log space (exact for deep trees); the
    node logits of the tree head are batch-normalised so splits stay centred
    on the data.

    ``splits`` decides where each class cuts. ``"invariant"`` (the default,
    a departure from the published method) replaces, after training, the
    learned splits by one median-split tree per predicted class over the
    trained backbone's features: the features are whitened by the class's
    *view covariance* (how far the augmented views of an item move from
    it, from 8 views of every training item), and each node splits along
    the leading principal direction of the whitened features of the class's
    items that reach it, at their median
    (:func:`sklproxy.nn.tree.invariant_split_weights`). Every class halves
    at every level, so the training codes reach the random reference's
    spread (:func:`sklproxy.metrics.hash_spread`), and each split runs where
    items differ most relative to how far their views move, so codes
    survive augmentation and perturbations better than median splits along
    the learned directions and the path bits sort fine classes inside a
    coarse one. ``"median"`` keeps the learned directions and moves each
    class's split to its items' median, top-down
    (:func:`sklproxy.nn.tree.median_split_offsets`): the same spread, fewer
    codes kept under a view. ``"learned"`` keeps the splits the loss learned
    (the published method): the most stable codes at each prefix length,
    but few distinct codes. Classes come from the class head, which no
    choice moves. The methods page (*DDTL*) gives the measured figures.

    Parameters
    ----------
    n_path_bits : int, default=12
        Depth of the tree: number of path bits (``2**n_path_bits`` leaves).
    alpha : float, default=1.0
        Weight of the supervised loss. ``alpha=0`` (or ``y=None``) trains
        unsupervised: contrastive loss over the whole batch, no class bits.
    beta : float, default=0.1
        Weight of the contrastive tree loss. ``beta=0`` trains the class head
        alone: the tree head is never trained, and its batch-normalised node
        logits act as random hyperplanes through the data. The thesis's
        supervised-only ablation, whose codes collapse to one per class, is
        the class bits alone: ``codes[:, :n_class_bits_]``.
    temperature : float, default=0.1
        NT-Xent temperature. Lower values spread codes more on small data
        (the original work used 1.0 on CIFAR-10 with 500 epochs).
    splits : {"invariant", "median", "learned"} or SplitBalance, default="invariant"
        Where each class's splits cut (see above). Multi-label and
        unsupervised models use one group of all items. The per-class trees
        of ``"invariant"`` are ``net_.module_.tree.group_weight`` and
        ``group_bias``, shapes ``(n_groups, 2**n_path_bits - 1, F)`` and
        ``(n_groups, 2**n_path_bits - 1)`` (``F`` backbone features; their
        memory is checked before fitting); the offsets of ``"median"`` are
        ``net_.module_.tree.offsets``, shape ``(n_groups, 2**n_path_bits -
        1)``. :class:`~sklproxy.hashing.SplitBalance` (experimental) adds a
        per-class split-balance term to the loss and an optional refit of
        the tree head, tunable as ``splits__gamma`` and so on.
    backbone : {"auto", "mlp", "convnet", "lenet", "resnet18", "resnet20", "resnet34"} or torch.nn.Module, default="auto"
        ``"auto"``: ``"mlp"`` for vectors; for images ``"convnet"`` on the
        CPU and, on a GPU, ``"convnet"`` below 16 px and ``"resnet18"``
        from 16 px (:func:`sklproxy.nn.resolve_backbone_name`). A module must
        map ``(B, *input_shape)`` to ``(B, F)``; it is copied, never modified.
    width : int or None, default=None
        Width of the named backbone (channels of the first stage, or hidden
        units of the MLP's last layer); None keeps the architecture's default.
    augment : "auto", None or torch.nn.Module, default="auto"
        Augmentation applied on the training device to make the two views:
        a module called as ``augment(x, generator)`` on a batch. ``"auto"``:
        random affine + brightness/contrast jitter for images
        (:class:`sklproxy.nn.ImageAugment`), noise and feature masking for
        vectors (:class:`sklproxy.nn.VectorAugment`). None: no augmentation.
    image_shape : tuple or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of flattened images given as 2-D ``X``.
        None infers it from 3-D/4-D ``X`` and treats 2-D ``X`` as vectors.
    max_epochs : int, default=30
        Training epochs. What the defaults cost on a 2-core CPU (one torch
        thread): about 4 minutes for 5000 Fashion-MNIST images at 28x28
        (B4 on the benchmarks page).
    batch_size : int, default=256
        Clipped to the number of samples.
    lr : float, default=1e-3
        Adam learning rate, annealed to 0 with a cosine schedule.
    use_amp : bool, default=True
        bf16 autocast on CUDA (losses and tree log-probabilities stay float32).
        Ignored on CPU.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available; the device used is ``device_``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and augmentation. An int gives the
        same bits on CPU for every fit.
    verbose : int, default=0
        ``>= 1`` prints a line per epoch with the training loss.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (column indices for multi-label ``y``); empty when
        unsupervised.
    n_class_bits_ : int
        ``ceil(log2(n_classes))`` for single-label, ``n_classes`` for
        multi-label, 0 when unsupervised.
    n_bits_ : int
        ``n_class_bits_ + n_path_bits``.
    multilabel_ : bool
    backbone_ : str or torch.nn.Module
        The resolved backbone.
    device_ : torch.device
    net_ : DDTLNet
        The fitted skorch net (``net_.module_`` is the torch model,
        ``net_.history`` the training log).
    n_features_in_ : int
        Number of features (pixels times channels for images).
    input_shape_ : tuple
        ``(n_features,)`` for vectors, ``(C, H, W)`` for images.

    See Also
    --------
    CrPCA : classifier bits plus repeated-PCA path bits, the baseline.
    sklproxy.neighbors.HammingIndex : retrieval over the codes.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklproxy.hashing import DDTLHasher
    >>> X, y = load_digits(return_X_y=True)
    >>> hasher = DDTLHasher(n_path_bits=4, max_epochs=2, random_state=0)
    >>> codes = hasher.fit(X[:300], y[:300]).transform(X[:5])
    >>> codes.shape, codes.dtype, hasher.n_class_bits_
    ((5, 8), dtype('uint8'), 4)
    """

    _parameter_constraints: dict = {
        **TRAINING_CONSTRAINTS,
        **BACKBONE_CONSTRAINTS,
        "n_path_bits": [Interval(Integral, 1, 30, closed="both")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "splits": [StrOptions(set(SPLITS)), SplitBalance],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_path_bits=12,
        alpha=1.0,
        beta=0.1,
        temperature=0.1,
        splits="invariant",
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
        self.n_path_bits = n_path_bits
        self.alpha = alpha
        self.beta = beta
        self.temperature = temperature
        self.splits = splits
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
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> DDTLHasher:
        """Train the backbone, class head and tree.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n, n_features), (n, H, W) or (n, C, H, W)
        y : array-like of shape (n,) or (n, n_labels), default=None
            Class labels (any hashable values), a 0/1 multi-label indicator
            matrix, or None for unsupervised hashing. Multi-label rows with no
            label are allowed: they form their own group in the contrastive
            loss and their class bits are trained towards all zeros.

        Returns
        -------
        self : DDTLHasher
        """
        splits = resolve_splits(self.splits)
        X = validate_input(self, X, reset=True, image_shape=self.image_shape, min_samples=2)
        y_enc = self._encode_targets(X, y, splits)
        self.device_ = resolve_device(self.device)
        self.backbone_ = resolve_backbone_name(self.backbone, self.input_shape_, self.device_)
        seed = seed_from_random_state(self.random_state)
        X_t = torch.from_numpy(X)
        with fit_context(seed, self.device_):
            backbone = build_backbone(self.backbone_, self.input_shape_, self.width)
            self._check_tree_memory(len(X), backbone.out_features, splits)
            module = DDTLModule(
                Standardize.fit(X_t, per_channel=True), backbone,
                len(self.classes_), self.n_path_bits,
                group_by_class=not self.multilabel_,
            )
            refit = self._refits_tree(splits)
            self.net_ = self._build_net(
                DDTLNet, module, seed=seed, max_epochs=self.max_epochs,
                stage="DDTLHasher, stage 1/2: network" if refit else "DDTLHasher",
                augment=self._augment_factory(X_t), **self._loss_params(splits),
                alpha=self.alpha if len(self.classes_) else 0.0,
            )
            y_t = None if y_enc is None else torch.from_numpy(y_enc)
            dataset = TensorPairDataset(to_storage(X_t, self.device_),
                                        None if y_t is None else to_storage(y_t, self.device_))
            self.net_.fit(dataset, None)
            if refit:
                self._refit_tree(dataset, seed, splits)
            if splits.median:
                set_median_splits(self.net_, dataset.X)
            elif self.splits == "invariant":
                set_invariant_splits(self.net_, dataset.X, seed + 3)
        return self

    def _loss_params(self, splits: SplitBalance) -> dict:
        """The tree-loss settings both training stages share."""
        return dict(beta=self.beta, gamma=splits.gamma, temperature=self.temperature,
                    multilabel=self.multilabel_, balance_reach=splits.reach)

    def _refits_tree(self, splits: SplitBalance) -> bool:
        return bool(splits.refit_epochs) and self.beta + splits.gamma > 0

    def _refit_tree(self, dataset: TensorPairDataset, seed: int, splits: SplitBalance) -> None:
        """Second stage: fit the tree head alone on frozen features of several views."""
        features = cache_view_features(self.net_, dataset.X, splits.refit_views, seed + 1)
        tree = self.net_.module_.tree
        tree_net = self._build_net(
            DDTLTreeNet, tree, seed=seed + 2, max_epochs=splits.refit_epochs, use_amp=False,
            stage="DDTLHasher, stage 2/2: tree head on frozen features",
            **self._loss_params(splits),
        )
        tree_net.fit(TensorPairDataset(features, dataset.y), None)
        tree.eval()

    def _encode_targets(self, X, y, splits: SplitBalance):
        """Set ``classes_``, ``n_class_bits_``, ``multilabel_``; return encoded y or None."""
        self.multilabel_ = False
        supervised = y is not None and self.alpha > 0
        if self.beta == 0 and splits.gamma == 0 and not supervised:
            raise ValueError(
                "Nothing to train: beta=0 disables the tree loss and "
                f"{'y is None' if y is None else 'alpha=0'} disables the class loss; "
                "pass labels y with alpha > 0, or beta > 0."
            )
        if not supervised:
            if y is not None:
                check_consistent_length(X, y)
            self.classes_ = np.empty(0, dtype=np.int64)
            self.n_class_bits_ = 0
            self.n_bits_ = self.n_path_bits
            return None
        if hasattr(y, "toarray"):
            raise TypeError("A sparse y is not supported; pass a dense array or a 1-D label list.")
        y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y
        check_consistent_length(X, y)
        if type_of_target(y) == "multilabel-indicator":
            y = np.asarray(y)
            if not np.isin(y, (0, 1)).all():
                bad = np.setdiff1d(np.unique(y), [0, 1])[:3].tolist()
                raise ValueError(
                    f"y of shape {y.shape} is read as a multi-label indicator matrix but "
                    f"holds values other than 0/1 ({bad}); pass 0/1 indicators or 1-D "
                    "class labels.")
            self.multilabel_ = True
            self.classes_ = np.arange(y.shape[1])
            self.n_class_bits_ = y.shape[1]
            self.n_bits_ = self.n_class_bits_ + self.n_path_bits
            return y.astype(np.float32)
        y_enc = encode_class_labels(
            self, X, y, hint=" Pass y=None (or alpha=0) for unsupervised hashing.", multilabel=True)
        self.n_class_bits_ = math.ceil(math.log2(len(self.classes_)))
        self.n_bits_ = self.n_class_bits_ + self.n_path_bits
        return y_enc

    def _check_tree_memory(self, n_samples: int, n_features: int, splits: SplitBalance) -> None:
        batch = min(self.batch_size, n_samples)
        balance = splits.gamma > 0
        needed = _tree_training_bytes(self.n_path_bits, batch, n_features, balance)
        if needed > _TREE_MEMORY_LIMIT:
            feasible = max(
                (d for d in range(1, 31)
                 if _tree_training_bytes(d, batch, n_features, balance) <= _TREE_MEMORY_LIMIT),
                default=0)
            raise ValueError(
                f"n_path_bits={self.n_path_bits} is too large: its 2**{self.n_path_bits} leaves "
                f"need about {needed / 2**30:.1f} GiB per training step with batch size "
                f"{batch}; use n_path_bits <= {feasible} or a smaller batch_size."
            )
        if self.splits == "invariant":
            n_groups = 1 if self.multilabel_ or not len(self.classes_) else len(self.classes_)
            trees = n_groups * (2**self.n_path_bits - 1) * n_features * 4
            cache = _refit_cache_bytes(n_samples, INVARIANT_VIEWS, n_features)
            if trees + cache > _TREE_MEMORY_LIMIT:
                raise ValueError(
                    f'splits="invariant" needs about {(trees + cache) / 2**30:.1f} GiB for '
                    f"{n_groups} per-class trees of 2**{self.n_path_bits} leaves over "
                    f"{n_features} features and the features of {INVARIANT_VIEWS} views per "
                    'item; use splits="median", fewer n_path_bits, or a narrower backbone.')
        if splits.refit_epochs:
            cache = _refit_cache_bytes(n_samples, splits.refit_views, n_features)
            if cache + needed > _TREE_MEMORY_LIMIT:
                raise ValueError(
                    f"splits.refit_views={splits.refit_views} would cache "
                    f"{cache / 2**30:.1f} GiB of features ({n_samples} items x "
                    f"{splits.refit_views} views x {n_features} features, float32) for the "
                    f"tree refit; use fewer refit_views, or refit_epochs=0 to skip the refit."
                )

    # ------------------------------------------------------------ inference
    def _outputs(self, X):
        """Yield ``(class_logits, node_logits)`` per batch, on ``device_``, no grad."""
        dataset = TensorPairDataset(torch.from_numpy(X))
        for class_logits, node_logits in self.net_.forward_iter(dataset, device=self.net_.device):
            yield class_logits.float(), node_logits.float()

    def _class_bits(self, class_logits: torch.Tensor) -> torch.Tensor:
        if self.multilabel_:
            return (class_logits > 0).to(torch.uint8)
        index = class_logits.argmax(dim=1)
        shifts = torch.arange(self.n_class_bits_ - 1, -1, -1, device=index.device)
        return ((index[:, None] >> shifts) & 1).to(torch.uint8)  # MSB first

    @batched_inference
    def transform(self, X: ArrayLike) -> np.ndarray:
        """Hash ``X`` into bits.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_bits_), dtype uint8
            0/1 bits: the ``n_class_bits_`` class bits (most significant
            first), then the ``n_path_bits`` tree decisions, root first.
        """
        X = self._validate_fitted_input(X)
        parts = []
        for class_logits, node_logits in self._outputs(X):
            bits = greedy_path_bits(node_logits)
            if self.n_class_bits_:
                bits = torch.cat([self._class_bits(class_logits), bits], dim=1)
            parts.append(bits.cpu())
        return torch.cat(parts).numpy()

    def _require_classes(self, method: str) -> None:
        if not len(self.classes_):
            raise ValueError(
                f"{method} needs the class head, but this DDTLHasher was fitted "
                "without supervision (y=None or alpha=0)."
            )

    @batched_inference
    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (softmax; per-label sigmoid for multi-label y)."""
        X = self._validate_fitted_input(X)
        self._require_classes("predict_proba")
        act = torch.sigmoid if self.multilabel_ else (lambda t: torch.softmax(t, dim=1))
        return torch.cat([act(c).cpu() for c, _ in self._outputs(X)]).numpy()

    @batched_inference
    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted class labels (a 0/1 indicator matrix for multi-label y)."""
        proba = self.predict_proba(X)
        if self.multilabel_:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[proba.argmax(axis=1)]

    @batched_inference
    def predict_leaf_proba(self, X: ArrayLike) -> np.ndarray:
        """Leaf probabilities of the tree, shape ``(n_samples, 2**n_path_bits)``.

        Leaf ``k`` is the path whose decisions are the binary digits of ``k``
        (root first), so ``argmax`` over leaves is usually the path bits read
        as an integer (the greedy path and the most probable leaf can differ).
        """
        X = self._validate_fitted_input(X)
        return torch.cat([leaf_log_probs(u).exp().cpu() for _, u in self._outputs(X)]).numpy()

    def score(self, X: ArrayLike, y: ArrayLike | None = None) -> float:
        """Retrieval quality, higher is better; the default ``GridSearchCV`` score.

        With ``y``: mAP@1000 of ``X`` retrieving from itself (each item queries
        all others) in code order, relevance = same label (multi-label: at
        least one shared label). Without ``y``: code entropy per bit
        (:func:`sklproxy.metrics.hash_entropy` / ``n_bits_``) in [0, 1].
        """
        from ..metrics import hash_entropy, self_retrieval_map

        codes = self.transform(X)
        if y is None:
            return hash_entropy(codes) / self.n_bits_
        y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        check_consistent_length(codes, y)
        return self_retrieval_map(codes, y, k=SCORE_K, ranking="code")

