"""LADDebiaser: latent adversarial debiasing with a VQ-VAE (code substitution or the QE-walk)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._training import (
    TRAINING_CONSTRAINTS,
    BatchIterator,
    DeviceNet,
    NetEstimatorMixin,
    TensorPairDataset,
    to_storage,
)
from ..nn.vqvae import code_spacing, quantise
from ..nn.walk import qe_walk
from ..parallel import batched_inference
from ..utils import (
    ImageTransformerMixin,
    cpu_threads,
    encode_class_labels,
    fit_context,
    make_generator,
    resolve_device,
    resolve_options,
    seed_from_random_state,
    validate_input,
)
from ._diagnostics import lad_diagnostics
from ._net import LatentDebias, LatentMLP, VQVAENet
from ._options import METHODS, LatentClassifierOptions, Substitute, Swap, VQVAEOptions
from ._substitution import fit_substitution
from ._swap import fit_swap
from ._vqvae import build_vqvae, check_latent_grid

__all__ = ["LADDebiaser"]

# A per-pixel VQ-VAE trains on random windows of this side (larger images only).
_TRAIN_CROP = 16


class LADDebiaser(ImageTransformerMixin, TransformerMixin, NetEstimatorMixin, BaseEstimator):
    """Latent adversarial debiasing (LAD): remove a spurious signal from images.

    ``fit(X, y)`` trains a VQ-VAE on ``X`` and a deliberately simple
    classifier ``f`` (one hidden layer) on its quantised latents. Being
    simple, ``f`` latches onto the easiest signal that predicts ``y``, which
    under collider bias is the spurious one (e.g. a background colour).
    ``transform(X)`` changes each image's latent so that this signal no
    longer tells the class, and decodes it into an image of the input's shape
    and value range. Train the final classifier on the output with the
    original labels: ``make_pipeline(LADDebiaser(), ImageClassifier())``, or
    :class:`LADClassifier`, which draws new debiased images for every batch.
    ``transform`` uses no labels.

    Four debiasing steps (``method``):

    * ``"swap"`` / :class:`Swap` (default; a departure from the thesis): the
      substitution below, then, when a simple shape-blind classifier (a
      logistic regression on amplitude spectra) still reads the label from
      the substituted images (a corruption, texture or patch), each image
      takes every amplitude and the fine band of a training image drawn at
      random, keeping the phase of its coarse band; otherwise (colours,
      vectors) exactly ``"substitute"``.
    * ``"substitute"`` / :class:`Substitute`: codes that occur in the images of nearly one class only are
      *spurious*; each image's spurious codes are swapped, over the whole
      image, for the codes of a randomly drawn group that play the same
      role, so the signal becomes independent of the class; position
      markers (a code one class owns at one position, e.g. a one-pixel code)
      are erased and the new group's written in. ``transform`` draws the
      group of each image from a keyed hash of its codes, so it is
      deterministic; :class:`LADClassifier` draws anew for every batch.
      ``f`` only reports (``diagnostics_``) here.
    * ``"qe-walk"`` / :class:`QEWalk`: the thesis's Algorithm 1, literally.
    * ``"walk"`` / :class:`Walk`: the same walk with an accumulating
      continuous state, its step measured in codebook spacings.

    The default latent is one vector per pixel encoded from that pixel alone
    (:class:`VQVAEOptions`: ``latent_stride=1``, ``kernel_size=1``), so a
    code never mixes the object with the colour next to it, with 64 codes.
    The methods page (*LAD*) explains these choices with the measurements
    behind them.

    ``set_output(transform="default")`` keeps the images' layout;
    ``"pandas"`` / ``"polars"`` flatten them to one column per pixel (a
    DataFrame cannot hold images).

    Parameters
    ----------
    method : {"swap", "substitute", "walk", "qe-walk"} or their objects, default="swap"
        The debiasing step (see above); an object carries its settings
        (``Swap(min_accuracy=...)``, ``QEWalk(steps=..., alpha=...)``),
        tunable as ``method__threshold`` and so on.
    vqvae : VQVAEOptions or None, default=None
        The VQ-VAE: codebook size, code length, latent grid, receptive field,
        width, commitment (None: :class:`VQVAEOptions` defaults).
    latent_classifier : LatentClassifierOptions or None, default=None
        The latent classifier ``f``: hidden units, epochs, label smoothing,
        weight decay (None: :class:`LatentClassifierOptions` defaults).
    image_shape : tuple or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of flattened images given as 2-D ``X``;
        None infers it from 3-D/4-D ``X`` and treats 2-D ``X`` as vectors
        (MLP encoder/decoder, 4 latent vectors per sample).
    max_epochs : int, default=20
        VQ-VAE training epochs. What the defaults cost on a 2-core CPU (one
        torch thread): about 3.5 minutes for 5000 colour images at 28x28,
        VQ-VAE and ``f`` together (B4 on the benchmarks page).
    batch_size : int, default=128
    lr : float, default=1e-3
        Adam learning rate of the VQ-VAE (cosine-annealed) and of ``f``.
    use_amp : bool, default=True
        bf16 autocast for the VQ-VAE on CUDA (the quantiser, substitution and
        walks stay float32). Ignored on CPU.
    device : str or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dead-code restarts and the groups
        ``transform`` draws; an int gives the same bits on CPU for every fit.
    verbose : int, default=0
        ``>= 1`` prints a line per epoch of each training stage.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    method_ : Substitute, Walk or QEWalk
        The debiasing step used (a copy of ``method``'s settings at fit).
    net_ : VQVAENet
        The fitted skorch net of the VQ-VAE (``net_.module_``).
    latent_net_ : skorch net
        The fitted latent classifier ``f``.
    latent_shape_ : tuple
        ``(code_dim, *S)``: shape of one sample's latent.
    codebook_usage_ : float
        Share of the codebook used by the training data after fit.
    code_counts_ : ndarray of shape (n_codes,)
        How many training latent vectors each code quantises.
    latent_accuracy_ : float
        Training accuracy of ``f`` before debiasing.
    spurious_codes_ : ndarray of shape (n_codes,), bool
        Substitution: the codes found to carry the class.
    code_groups_ : ndarray of shape (n_codes,)
        Index into ``classes_`` of the group of each code (spurious codes).
    code_entropy_ : ndarray of shape (n_codes,)
        Normalised entropy of the class over each code's positions.
    substitution_tables_ : ndarray of shape (n_groups, n_codes)
        Row ``g``: the code that replaces each code when an image is moved to
        group ``groups_[g]`` (one identity row when no code is spurious; fit
        then warns).
    groups_ : ndarray of shape (n_groups,)
        Index into ``classes_`` of each group that owns spurious codes (or,
        when no code is spurious, position markers).
    position_markers_ : ndarray of shape (*S, n_codes)
        Substitution: the class that a code at a latent position marks (-1:
        none): present in at least 90 % of that class's images and nearly
        never in others'. Each image's own markers are erased and its new
        group's written in.
    swap_probe_accuracy_ : float
        Swap: held-out accuracy of the amplitude-spectrum probe on the
        substituted images (NaN where it cannot run: vectors, or a class of
        one image).
    swap_active_ : bool
        Swap: whether ``transform`` swaps (the probe reaches ``method.min_accuracy``).
    swap_bank_ : ndarray of shape (n_donors, *input_shape)
        Swap, when active: the training images the donors are drawn from.
    step_scale_ : float
        Walks: the length of one ``alpha`` unit per latent element.
    diagnostics_ : dict
        Measured on up to 1024 training images (needs no test labels):
        ``reconstruction_mse`` (standardised units), ``entropy_before`` /
        ``entropy_after`` / ``entropy_max`` (mean entropy of ``f``, nats),
        ``latent_accuracy_after`` (``f`` on the debiased latents),
        ``code_change`` (share of latent positions whose code changed) and,
        for images with at least 6 rows, ``colour_before`` /
        ``colour_after`` (:func:`sklproxy.metrics.colour_decodability` of the
        images before and after ``transform``; with ``method="swap"``,
        after the substitution alone) with ``chance``.
    device_ : torch.device
    n_features_in_ : int
    input_shape_ : tuple

    See Also
    --------
    LADClassifier : Trains a classifier on new debiased images every batch.
    sklproxy.classification.ImageClassifier : The final classifier to train on the output.
    sklproxy.datasets.make_colour_biased : Colour-biased test data.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklproxy.datasets import make_colour_biased
    >>> from sklproxy.debias import LADDebiaser, VQVAEOptions
    >>> X, y = load_digits(return_X_y=True)
    >>> Xc, colour = make_colour_biased(X[:300].reshape(-1, 8, 8), y[:300], max_value=16,
    ...                                 random_state=0)
    >>> lad = LADDebiaser(vqvae=VQVAEOptions(n_codes=32, width=32), max_epochs=5, random_state=0)
    >>> Xd = lad.fit_transform(Xc, y[:300])
    >>> Xd.shape, Xd.dtype
    ((300, 3, 8, 8), dtype('float32'))
    >>> int(lad.spurious_codes_.sum()) >= 10         # the ten background colours
    True
    >>> lad.diagnostics_["colour_after"] < lad.diagnostics_["colour_before"]
    True
    """

    _parameter_constraints: dict = {
        **TRAINING_CONSTRAINTS,
        "method": [StrOptions(set(METHODS)), *METHODS.values()],
        "vqvae": [VQVAEOptions, None],
        "latent_classifier": [LatentClassifierOptions, None],
    }

    def __init__(
        self,
        *,
        method="swap",
        vqvae=None,
        latent_classifier=None,
        image_shape=None,
        max_epochs=20,
        batch_size=128,
        lr=1e-3,
        use_amp=True,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.method = method
        self.vqvae = vqvae
        self.latent_classifier = latent_classifier
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
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> LADDebiaser:
        """Train the VQ-VAE and ``f``, then prepare the debiasing step.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n, n_features), (n, H, W) or (n, C, H, W)
        y : array-like of shape (n,)
            Class labels (any hashable values, at least 2 classes). Required;
            None raises a ``ValueError``.

        Returns
        -------
        self : LADDebiaser
        """
        method = resolve_options(self.method, tuple(METHODS.values()), METHODS, "method")
        vqvae = resolve_options(self.vqvae, VQVAEOptions, param="vqvae")
        f_opts = resolve_options(self.latent_classifier, LatentClassifierOptions,
                                 param="latent_classifier")
        X = validate_input(self, X, reset=True, image_shape=self.image_shape, min_samples=2)
        check_latent_grid(self.input_shape_, vqvae)
        y_enc = encode_class_labels(self, X, y)
        self.method_ = clone(method)
        self.device_ = resolve_device(self.device)
        seed = seed_from_random_state(self.random_state)
        self._hash_seed = seed + 2
        X_t = torch.from_numpy(X)
        X_dev = to_storage(X_t, self.device_)
        with fit_context(seed, self.device_):
            self._fit_vqvae(X_t, X_dev, vqvae, seed)
            h = self._encode(X_dev)                                     # (n, D, *S)
            q, idx = self._quantise(h)
            self._record_codebook(idx, vqvae.n_codes)
            self._fit_latent_classifier(q, y_enc, f_opts, seed + 1)
            self._prepare_debiasing(idx, y_enc, vqvae)
            for name in ("swap_probe_accuracy_", "swap_active_", "swap_bank_"):
                self.__dict__.pop(name, None)
            if isinstance(self.method_, Swap):
                self.__dict__.update(fit_swap(self, X_dev, y_enc, seed + 3))
                if not self.swap_active_ and len(self.groups_) == 0:
                    warnings.warn(
                        "LADDebiaser found no spurious code and no position marker, and the "
                        f"amplitude-spectrum probe read the label at {self.swap_probe_accuracy_:.3f}"
                        f" (method.min_accuracy={self.method_.min_accuracy}; nan: not run), so "
                        "transform only reconstructs. For a weaker style bias lower "
                        "min_accuracy (method=Swap(min_accuracy=...)); for codes, raise "
                        "method=Swap(threshold=...).", UserWarning, stacklevel=3)
        with cpu_threads(self.device_):
            self.diagnostics_, self.latent_accuracy_ = lad_diagnostics(self, X, h, y_enc)
        return self

    def _fit_vqvae(self, X: torch.Tensor, X_dev: torch.Tensor, opts: VQVAEOptions, seed: int) -> None:
        module = build_vqvae(X, self.input_shape_, opts)
        with torch.no_grad():  # codebook starts on encoder outputs, not far away from them
            h0 = module.encode(X[:1024])
            module.quantizer.restart_dead_codes(h0, make_generator(seed, torch.device("cpu")))
        crop = _TRAIN_CROP if len(self.input_shape_) == 3 and opts.latent_stride == 1 else None
        grid = h0.shape[2:] if crop is None else [min(s, crop) for s in h0.shape[2:]]
        self.net_ = self._build_net(
            VQVAENet, module, seed=seed, max_epochs=self.max_epochs,
            stage="LADDebiaser, stage 1/2: VQ-VAE",
            restart_every=len(X) * int(np.prod(grid)),  # about once per epoch
            crop=crop,
            max_loss_rise=20.0,  # dead-code restarts make the loss jump for a while
        )
        self.net_.fit(TensorPairDataset(X_dev), None)
        self.net_.module_.eval()

    def _fit_latent_classifier(self, q: torch.Tensor, y: np.ndarray, opts: LatentClassifierOptions,
                               seed: int) -> None:
        self.latent_shape_ = tuple(q.shape[1:])
        module = LatentMLP(int(np.prod(self.latent_shape_)), opts.hidden, len(self.classes_))
        self.latent_net_ = self._build_net(
            DeviceNet, module, seed=seed, max_epochs=opts.max_epochs, schedule=None,
            stage="LADDebiaser, stage 2/2: latent classifier f", use_amp=False,
            criterion=nn.CrossEntropyLoss, criterion__label_smoothing=opts.label_smoothing,
            optimizer=torch.optim.AdamW, optimizer__weight_decay=opts.weight_decay,
            # f overshoots in its first epoch when a signal predicts the label
            # perfectly, then settles; NaN still stops it
            max_loss_rise=10.0,
        )
        y_dev = to_storage(torch.from_numpy(y), self.device_)
        self.latent_net_.fit(TensorPairDataset(q, y_dev), None)
        self.latent_net_.module_.eval()

    def _prepare_debiasing(self, idx: torch.Tensor, y: np.ndarray, vqvae: VQVAEOptions) -> None:
        """What the debiasing step needs from the training codes ``idx`` and labels ``y``."""
        if isinstance(self.method_, Substitute):
            for name, value in fit_substitution(idx, torch.from_numpy(y), vqvae.n_codes,
                                                len(self.classes_), self.method_.threshold,
                                                warn=not isinstance(self.method_, Swap)).items():
                setattr(self, name, value)
            return
        spacing = code_spacing(self.net_.module_.codebook,
                               torch.from_numpy(self.code_counts_ > 0).to(self.net_.device))
        self.step_scale_ = spacing / math.sqrt(vqvae.code_dim) if self.method_.accumulate else 1.0

    def _record_codebook(self, idx: torch.Tensor, n_codes: int) -> None:
        counts = torch.bincount(idx.flatten().cpu(), minlength=n_codes)
        self.code_counts_ = counts.numpy()
        self.codebook_usage_ = float((counts > 0).float().mean())

    # --------------------------------------------------------------- helpers
    def _batches(self, X: torch.Tensor):
        # the net's device: skorch maps a CUDA-fitted net to the CPU when it is
        # unpickled on a machine without CUDA (``device_`` records the fit device)
        return BatchIterator(TensorPairDataset(X), self.batch_size, torch.device(self.net_.device))

    def _encode(self, X: torch.Tensor) -> torch.Tensor:
        vq = self.net_.module_
        with torch.no_grad():
            return torch.cat([vq.encode(xb).float() for xb, _ in self._batches(X)])

    def _decode(self, q: torch.Tensor) -> torch.Tensor:
        vq = self.net_.module_
        with torch.no_grad():
            return torch.cat([vq.decode(qb).float() for qb, _ in self._batches(q)])

    def _quantise(self, h: torch.Tensor):
        with torch.no_grad():
            return quantise(h, self.net_.module_.codebook.detach())

    def _walk_options(self) -> dict:
        walk = self.method_
        stop = None if walk.stop_entropy is None else walk.stop_entropy * math.log(len(self.classes_))
        return dict(steps=walk.steps, alpha=walk.alpha, step_scale=self.step_scale_,
                    accumulate=walk.accumulate, stop_entropy=stop)

    def debias_module(self, swap: bool = True) -> LatentDebias:
        """The fitted debiasing step as a torch module ``(x, generator) -> images``.

        Encodes a batch of raw images, debiases each image's latent (for
        substitution: the tables of groups drawn from
        ``generator``, a new draw at every call; without a generator, the
        groups ``transform`` draws) and decodes. Shares the fitted weights;
        use it as an augmentation inside a training loop, as
        :class:`LADClassifier` does. ``swap=False`` leaves out the swap of
        ``method="swap"``.
        """
        check_is_fitted(self)
        walk = None if isinstance(self.method_, Substitute) else self._walk_options()
        f = None if walk is None else self.latent_net_.module_  # only the walks need f
        donors = None
        if swap and isinstance(self.method_, Swap) and getattr(self, "swap_active_", False):
            donors = {"bank": torch.from_numpy(self.swap_bank_).to(self.net_.device),
                      "cutoff": self.method_.cutoff}
        return LatentDebias(self.net_.module_, "substitute" if walk is None else self.method_.name,
                            self._substitution(), f, walk, hash_seed=self._hash_seed, swap=donors)

    def _substitution(self) -> dict | None:
        """The fitted substitution as tensors: tables, markers, fill, groups."""
        if not isinstance(self.method_, Substitute):
            return None
        n_codes = len(self.code_counts_)
        markers = torch.from_numpy(self.position_markers_.reshape(-1, n_codes))
        return {"tables": torch.from_numpy(self.substitution_tables_),
                "markers": markers if bool((markers >= 0).any()) else None,
                "fill": torch.from_numpy(self._marker_fill),
                "groups": torch.from_numpy(self.groups_).long()}

    def _debias_latents(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Debiased quantised latents of ``h`` and their codes, as ``transform`` makes them."""
        codebook = self.net_.module_.codebook.detach().float()
        if isinstance(self.method_, Substitute):
            module = self.debias_module()
            with torch.no_grad():
                _, idx = quantise(h, codebook)
                idx = module.substitute_codes(idx)
                return codebook[idx].movedim(-1, 1), idx
        res = qe_walk(h, self.latent_net_.module_, codebook, **self._walk_options())
        return res.latents, res.codes

    # ------------------------------------------------------------ inference
    @batched_inference
    def transform(self, X: ArrayLike) -> np.ndarray:
        """Debias each image and decode it.

        Substitution: each image is moved to a group drawn from a
        hash of its own codes, keyed by a seed drawn at ``fit``: a
        pseudo-random group, independent of the class, that is the same
        whenever the same image is transformed (so ``transform`` works
        sample by sample, in any chunks, and ``fit_transform`` equals
        ``fit`` then ``transform``); the swap's donor likewise. The walks
        are deterministic.

        Parameters
        ----------
        X : array-like or torch.Tensor
            Images of the fitted shape (or their flattened form), or vectors.

        Returns
        -------
        X_debiased : ndarray of X's shape
            float64 for float64 input, else float32; values within the
            per-channel (per-feature) range of the training data.
        """
        return self._images(X, swap=True)

    def _prediction_images(self, X: ArrayLike) -> Any:
        """What :class:`LADClassifier` classifies: ``transform(X)``, or ``X`` when the swap is on.

        The swap is a draw for training: the classifier learned to ignore the
        style of raw training images (the donors), so a raw test image, in
        its own style, is what it reads best (B3: better than a swapped
        copy by 5-10 points, and than a substituted one).
        """
        check_is_fitted(self)
        if isinstance(self.method_, Swap) and getattr(self, "swap_active_", False):
            return X
        return self.transform(X)

    def _images(self, X: ArrayLike, swap: bool) -> np.ndarray:
        check_is_fitted(self)
        ndim = X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim  # nested lists keep their layout
        dtype = np.float64 if getattr(X, "dtype", None) in (np.float64, torch.float64) else np.float32
        X = self._validate_fitted_input(X)
        module = self.debias_module(swap=swap)
        out = torch.cat([module(xb).float().cpu() for xb, _ in self._batches(torch.from_numpy(X))])
        out = out.numpy().astype(dtype, copy=False)
        if ndim == 3:
            return out.reshape(len(out), *self.input_shape_[1:])
        return out if ndim == 4 else out.reshape(len(out), -1)

    def fit_transform(self, X: ArrayLike, y: ArrayLike | None = None, **fit_params: Any) -> np.ndarray:
        """``fit(X, y).transform(X)``: the same output, bit for bit."""
        return self.fit(X, y, **fit_params).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = False
        return tags
