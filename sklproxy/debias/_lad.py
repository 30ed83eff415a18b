"""LADDebiaser: latent adversarial debiasing with a VQ-VAE and the QE-walk."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..nn.backbones import Standardize
from ..nn.vqvae import (
    VQVAE,
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    VectorQuantizer,
    code_spacing,
    n_downsamplings,
    quantise,
)
from ..nn.walk import qe_walk
from ..parallel import batched_inference
from ..utils import (
    TRAINING_CONSTRAINTS,
    BatchIterator,
    DeviceNet,
    ImageTransformerMixin,
    NetEstimatorMixin,
    StopOnNonFinite,
    TensorPairDataset,
    encode_class_labels,
    make_generator,
    resolve_device,
    seed_from_random_state,
    to_storage,
    torch_seeded,
    validate_input,
)
from ._net import LatentMLP, VQVAENet

__all__ = ["LADDebiaser"]

# Vectors (2-D X) are encoded into this many latent vectors of size code_dim.
_VECTOR_LATENTS = 4
# The walk diagnostics of fit use at most this many training samples.
_DIAGNOSTIC_SAMPLES = 1024


class LADDebiaser(ImageTransformerMixin, TransformerMixin, NetEstimatorMixin, BaseEstimator):
    """Latent adversarial debiasing (LAD): remove a spurious signal from images.

    ``fit(X, y)`` trains a VQ-VAE on ``X`` and a deliberately simple
    classifier ``f`` (one hidden layer) on its quantised latents. Being
    simple, ``f`` latches onto the easiest signal that predicts ``y``, which
    under collider bias is the spurious one (e.g. a background colour).
    ``transform(X)`` moves each latent along the QE-walk
    (:func:`sklproxy.nn.walk.qe_walk`): ``walk_steps`` steps of ``alpha``
    times the entropy gradient of ``f``, standardised over the image's latent,
    re-quantised after every step; the walked codes are decoded into images
    of the input's shape and value range. Train the final classifier on the
    output with the original labels, e.g.
    ``make_pipeline(LADDebiaser(), ImageClassifier())``. No labels are used
    by ``transform``.

    What makes the walk work (a bare version with a saturated ``f``, whose
    entropy was 1.5e-5 nats, changed nothing; see the methods page, "LAD"):

    * ``f`` is constrained so its entropy is not ~0: label smoothing
      (``label_smoothing``) bounds its confidence, weight decay and few
      epochs (``classifier_epochs``) keep it simple; entropy and its gradient
      are computed from ``log_softmax`` so they never underflow to 0.
    * The walk state accumulates (``accumulate=True``): the continuous
      latent keeps every step and is re-quantised after each step for
      ``f``'s prediction (gradient passed straight through) and for the
      output. Small steps add up and cross code borders instead of snapping
      back (``accumulate=False`` is the literal re-quantise-the-state walk).
    * The step is measured in codebook spacings: ``alpha`` times the median
      distance between neighbouring used codes (per latent dimension), so
      ``alpha`` means the same for any encoder scale.
    * The codebook is small (``n_codes=20``, the thesis's MNIST setting).
      With many codes the VQ-VAE spends them on colour-specific copies of
      each local shape (the latent's receptive field spans the whole
      background, so every code sees the colour): the walk then has to swap
      object codes too, which ruins the shape, and the colour survives in
      latent directions ``f`` does not use. On 100 % background-coloured digits 64
      codes left the colour linearly decodable from walked images (0.78)
      and gave a final classifier of 0.24 on the independent test set; 20
      codes focus the walk on the background (codes changed: 0.88 of
      background vs 0.66 of object positions), leave 0.61 decodable and
      give 0.39 (vanilla 0.11; no walk, 20 codes: 0.12).

    Parameters
    ----------
    n_codes : int, default=20
        Codebook size (thesis: 20 for MNIST variants, 2056 for CIFAR-10).
        Keep it small for colour bias (see above): on background-coloured
        digits (100 % bias, 3 seeds) the final classifier reached 0.41 with
        20 codes, 0.32 with 32 and 0.28 with 64.
    code_dim : int, default=64
        Size of each codebook vector.
    walk_steps : int, default=20
        QE-walk steps (thesis: 20 background colour, 7 foreground colour).
    alpha : float, default=0.1
        Step length in codebook spacings (the thesis value). On 100 %
        colour-biased digits larger walks decoupled more: ``alpha=1.0`` with
        20 steps took ``f`` to chance accuracy and gave the best final
        classifier of 0.1 / 0.3 / 1.0 (see ``benchmarks/b3_debias.py``).
    accumulate : bool, default=True
        Accumulate the walk in continuous space, re-quantising for the
        prediction and output (see above); False re-quantises the state.
    stop_entropy : float in (0, 1] or None, default=None
        A sample stops walking once ``f``'s entropy reaches this share of
        the maximum ``log(n_classes)``; None walks all ``walk_steps``.
    classifier_hidden : int, default=100
        Hidden units of the latent classifier ``f``.
    classifier_epochs : int, default=10
        Training epochs of ``f`` (kept short on purpose).
    label_smoothing : float in [0, 1), default=0.1
        Label smoothing of ``f``'s cross-entropy; keeps its entropy away
        from 0 so the entropy gradient does not vanish.
    classifier_weight_decay : float, default=1e-3
        AdamW weight decay of ``f``.
    width : int, default=64
        Channels (images) or hidden units (vectors) of the encoder/decoder.
    commitment : float, default=0.25
        Weight of the commitment loss.
    image_shape : tuple or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of flattened images given as 2-D ``X``;
        None infers it from 3-D/4-D ``X`` and treats 2-D ``X`` as vectors
        (MLP encoder/decoder, 4 latent vectors per sample).
    max_epochs : int, default=20
        VQ-VAE training epochs.
    batch_size : int, default=128
    lr : float, default=1e-3
        Adam learning rate of the VQ-VAE (cosine-annealed) and of ``f``.
    use_amp : bool, default=True
        bf16 autocast for the VQ-VAE on CUDA (the quantiser and the walk stay
        float32). Ignored on CPU.
    device : str or torch.device, default="auto"
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and dead-code restarts; an int gives
        the same bits on CPU for every fit. ``transform`` is deterministic.
    verbose : int, default=0
        ``>= 1`` prints a line per epoch of each training stage.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
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
    step_scale_ : float
        Codebook spacing per latent dimension; one step is ``alpha *
        step_scale_`` per element.
    latent_accuracy_ : float
        Training accuracy of ``f`` before the walk.
    walk_entropy_ : dict
        Mean entropy (nats) of ``f`` on (up to 1024) training samples
        ``{"before": ..., "after": ..., "max": log(n_classes)}``.
    walk_accuracy_ : float
        Accuracy of ``f`` on those samples after the walk (near chance when
        the walk removed what ``f`` relied on).
    walk_code_change_ : float
        Share of latent positions whose code the walk changed.
    device_ : torch.device
    n_features_in_ : int
    input_shape_ : tuple

    See Also
    --------
    ImageClassifier : The final classifier to train on the output.
    sklproxy.datasets.make_colour_biased : Colour-biased test data.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklproxy.debias import LADDebiaser
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X.reshape(-1, 1, 8, 8)
    >>> lad = LADDebiaser(n_codes=16, code_dim=8, width=16, walk_steps=3,
    ...                   max_epochs=2, random_state=0)
    >>> Xd = lad.fit_transform(X[:200], y[:200])
    >>> Xd.shape, Xd.dtype
    ((200, 1, 8, 8), dtype('float64'))
    >>> bool(Xd.min() >= X[:200].min() and Xd.max() <= X[:200].max())
    True
    >>> bool(lad.walk_entropy_["after"] > lad.walk_entropy_["before"])
    True
    """

    _parameter_constraints: dict = {
        **TRAINING_CONSTRAINTS,
        "n_codes": [Interval(Integral, 2, None, closed="left")],
        "code_dim": [Interval(Integral, 1, None, closed="left")],
        "walk_steps": [Interval(Integral, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "accumulate": ["boolean"],
        "stop_entropy": [Interval(Real, 0, 1, closed="right"), None],
        "classifier_hidden": [Interval(Integral, 1, None, closed="left")],
        "classifier_epochs": [Interval(Integral, 1, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "classifier_weight_decay": [Interval(Real, 0, None, closed="left")],
        "width": [Interval(Integral, 2, None, closed="left")],
        "commitment": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_codes=20,
        code_dim=64,
        walk_steps=20,
        alpha=0.1,
        accumulate=True,
        stop_entropy=None,
        classifier_hidden=100,
        classifier_epochs=10,
        label_smoothing=0.1,
        classifier_weight_decay=1e-3,
        width=64,
        commitment=0.25,
        image_shape=None,
        max_epochs=20,
        batch_size=128,
        lr=1e-3,
        use_amp=True,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_codes = n_codes
        self.code_dim = code_dim
        self.walk_steps = walk_steps
        self.alpha = alpha
        self.accumulate = accumulate
        self.stop_entropy = stop_entropy
        self.classifier_hidden = classifier_hidden
        self.classifier_epochs = classifier_epochs
        self.label_smoothing = label_smoothing
        self.classifier_weight_decay = classifier_weight_decay
        self.width = width
        self.commitment = commitment
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
        """Train the VQ-VAE and the latent classifier ``f``.

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
        X = validate_input(self, X, reset=True, image_shape=self.image_shape, min_samples=2)
        y_enc = encode_class_labels(self, X, y)
        self.device_ = resolve_device(self.device)
        seed = seed_from_random_state(self.random_state)
        X_t = torch.from_numpy(X)
        X_dev = to_storage(X_t, self.device_)
        with torch_seeded(seed, self.device_):
            self._fit_vqvae(X_t, X_dev, seed)
            h = self._encode(X_dev)                                     # (n, D, *S)
            q, idx = self._quantise(h)
            self._record_codebook(idx)
            self._fit_latent_classifier(q, y_enc, seed + 1)
        self._walk_diagnostics(h, y_enc)
        return self

    def _build_vqvae(self, X: torch.Tensor) -> VQVAE:
        shape = self.input_shape_
        if len(shape) == 3:
            n_down = n_downsamplings(shape[1], shape[2])
            encoder = ConvEncoder(shape[0], self.code_dim, self.width, n_down)
            decoder = ConvDecoder(shape[0], shape[1:], self.code_dim, self.width, n_down)
            dims = (0, 2, 3)
        else:
            encoder = MLPEncoder(shape[0], self.code_dim, _VECTOR_LATENTS, 2 * self.width)
            decoder = MLPDecoder(shape[0], self.code_dim, _VECTOR_LATENTS, 2 * self.width)
            dims = (0,)
        low = X.float().amin(dim=dims, keepdim=True)
        high = X.float().amax(dim=dims, keepdim=True)
        quantizer = VectorQuantizer(self.n_codes, self.code_dim, self.commitment)
        return VQVAE(Standardize.fit(X, per_channel=True), encoder, quantizer, decoder, low, high)

    def _fit_vqvae(self, X: torch.Tensor, X_dev: torch.Tensor, seed: int) -> None:
        module = self._build_vqvae(X)
        with torch.no_grad():  # codebook starts on encoder outputs, not far away from them
            h0 = module.encode(X[:1024])
            module.quantizer.restart_dead_codes(h0, make_generator(seed, torch.device("cpu")))
        n_latent_vectors = len(X) * int(np.prod(h0.shape[2:]))
        self.net_ = VQVAENet(
            module,
            criterion=nn.Identity,  # the loss lives in VQVAENet.get_loss
            optimizer=torch.optim.Adam,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            device=self.device_,
            callbacks=self._training_callbacks(),
            restart_every=n_latent_vectors,  # about once per epoch
            stage="LADDebiaser, stage 1/2: VQ-VAE",
            max_loss_rise=20.0,  # dead-code restarts make the loss jump (6.5x its start seen)
            seed=seed,
            use_amp=self.use_amp,
            verbose=self.verbose,
        )
        self.net_.fit(TensorPairDataset(X_dev), None)
        self.net_.module_.eval()

    def _fit_latent_classifier(self, q: torch.Tensor, y: np.ndarray, seed: int) -> None:
        self.latent_shape_ = tuple(q.shape[1:])
        module = LatentMLP(int(np.prod(self.latent_shape_)), self.classifier_hidden,
                           len(self.classes_))
        self.latent_net_ = DeviceNet(
            module,
            criterion=nn.CrossEntropyLoss,
            criterion__label_smoothing=self.label_smoothing,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.classifier_weight_decay,
            lr=self.lr,
            max_epochs=self.classifier_epochs,
            batch_size=self.batch_size,
            train_split=None,
            device=self.device_,
            callbacks=[("nonfinite", StopOnNonFinite())],
            stage="LADDebiaser, stage 2/2: latent classifier f",
            seed=seed,
            verbose=self.verbose,
        )
        y_dev = to_storage(torch.from_numpy(y), self.device_)
        self.latent_net_.fit(TensorPairDataset(q, y_dev), None)
        self.latent_net_.module_.eval()

    def _record_codebook(self, idx: torch.Tensor) -> None:
        counts = torch.bincount(idx.flatten().cpu(), minlength=self.n_codes)
        self.code_counts_ = counts.numpy()
        self.codebook_usage_ = float((counts > 0).float().mean())
        spacing = code_spacing(self.net_.module_.codebook, (counts > 0).to(self.device_))
        self.step_scale_ = spacing / math.sqrt(self.code_dim)

    def _walk_diagnostics(self, h: torch.Tensor, y: np.ndarray) -> None:
        pick = np.linspace(0, len(h) - 1, min(len(h), _DIAGNOSTIC_SAMPLES)).round().astype(int)
        pick = np.unique(pick)
        h = h[torch.from_numpy(pick).to(h.device)]
        f = self.latent_net_.module_
        with torch.no_grad():
            q0, idx0 = self._quantise(h)
            pred0 = f(q0).argmax(dim=1).cpu().numpy()
        res = self._walk(h)
        with torch.no_grad():
            pred1 = f(res.latents).argmax(dim=1).cpu().numpy()
        self.latent_accuracy_ = float((pred0 == y[pick]).mean())
        self.walk_accuracy_ = float((pred1 == y[pick]).mean())
        self.walk_entropy_ = {
            "before": float(res.entropy_before.mean()),
            "after": float(res.entropy_after.mean()),
            "max": math.log(len(self.classes_)),
        }
        self.walk_code_change_ = float((res.codes != idx0).float().mean())

    # --------------------------------------------------------------- helpers
    def _batches(self, X: torch.Tensor):
        # the net's device: skorch maps a CUDA-fitted net to the CPU when it is
        # unpickled on a machine without CUDA (``device_`` records the fit device)
        return BatchIterator(TensorPairDataset(X), self.batch_size, torch.device(self.net_.device))

    def _encode(self, X: torch.Tensor) -> torch.Tensor:
        vq = self.net_.module_
        with torch.no_grad():
            return torch.cat([vq.encode(xb).float() for xb, _ in self._batches(X)])

    def _quantise(self, h: torch.Tensor):
        with torch.no_grad():
            return quantise(h, self.net_.module_.codebook.detach())

    def _walk(self, h: torch.Tensor):
        return qe_walk(
            h, self.latent_net_.module_, self.net_.module_.codebook,
            steps=self.walk_steps, alpha=self.alpha, step_scale=self.step_scale_,
            accumulate=self.accumulate,
            stop_entropy=None if self.stop_entropy is None
            else self.stop_entropy * math.log(len(self.classes_)),
        )

    # ------------------------------------------------------------ inference
    @batched_inference
    def transform(self, X: ArrayLike) -> np.ndarray:
        """Walk each sample's latent to maximal entropy of ``f`` and decode it.

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
        check_is_fitted(self)
        ndim = getattr(X, "ndim", None)  # array-likes without ndim: lists -> 2-D
        dtype = np.float64 if getattr(X, "dtype", None) in (np.float64, torch.float64) else np.float32
        X = self._validate_fitted_input(X)
        out = self._transform(torch.from_numpy(X)).numpy().astype(dtype, copy=False)
        if ndim == 3:
            return out.reshape(len(out), *self.input_shape_[1:])
        return out if ndim == 4 else out.reshape(len(out), -1)

    def _transform(self, X: torch.Tensor) -> torch.Tensor:
        vq = self.net_.module_
        parts = []
        for xb, _ in self._batches(X):
            with torch.no_grad():
                h = vq.encode(xb).float()
            q = self._walk(h).latents
            with torch.no_grad():
                parts.append(vq.decode(q).float().cpu())
        return torch.cat(parts)

    def fit_transform(self, X: ArrayLike, y: ArrayLike | None = None, **fit_params: Any) -> np.ndarray:
        """``fit(X, y).transform(X)``: the same output, bit for bit."""
        return self.fit(X, y, **fit_params).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = False
        return tags
