"""LADDebiaser: latent adversarial debiasing with a VQ-VAE (code substitution or the QE-walk)."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..metrics import colour_decodability
from ..nn.backbones import Standardize
from ..nn.substitute import (
    code_class_counts,
    code_holders,
    neighbour_signatures,
    position_markers,
    spurious_codes,
    substitution_tables,
)
from ..nn.vqvae import (
    VQVAE,
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    PixelDecoder,
    PixelEncoder,
    VectorQuantizer,
    code_spacing,
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
from ._net import LatentDebias, LatentMLP, VQVAENet

__all__ = ["LADDebiaser"]

# Vectors (2-D X) are encoded into this many latent vectors of size code_dim.
_VECTOR_LATENTS = 4
# The diagnostics of fit use at most this many training samples.
_DIAGNOSTIC_SAMPLES = 1024
METHODS = ("substitute", "walk", "qe-walk")
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

    Three debiasing steps (``method``):

    * ``"substitute"`` (default; a departure from the thesis): every code
      that occurs in the images of nearly one class only (normalised entropy
      of the class over the positions holding it below
      ``spurious_threshold``, and held by at least half of that class's
      images) is *spurious* and belongs to the group of that class; a code that draws the object occurs in every class and stays.
      Each image's spurious codes are swapped, over the whole image, for the
      codes of a randomly drawn group that play the same role (the same
      kind of grid neighbours), so the signal becomes independent of the
      class. A signal carried by *where* a shared code sits (a one-pixel
      code) is handled by position markers (``position_markers_``): erased,
      and the new group's written in (:mod:`sklproxy.nn.substitute`).
      ``transform`` draws the group of image ``i`` from a generator seeded at
      ``fit``, so it is deterministic; :class:`LADClassifier` draws anew for
      every batch. ``f`` only reports (``diagnostics_``) here.
    * ``"qe-walk"``: the thesis's Algorithm 1, literally: ``walk_steps``
      steps ``h <- quantise(h + alpha * standardised dH/dh)`` of the entropy
      ``H`` of ``f``, with raw ``alpha``.
    * ``"walk"``: the same walk with an accumulating continuous state
      (re-quantised for ``f`` and for the output at each step, gradient
      passed straight through) and ``alpha`` measured in codebook spacings.

    Why substitution, and the latent it needs (measured on digits28, the
    CPU stand-in for MNIST, 100 % bias; ``benchmarks/b3_debias.py``): every
    walk makes ``f`` unsure by sparse edits, often inside the object, while
    the colour stays decodable and the walk's end points depend on the class
    (final classifiers 0.10-0.17 independent against oracles of 0.86-0.99). A
    7x7 latent grid loses the digit; the default latent is one vector per
    pixel (``latent_stride=1``) encoded from that pixel alone
    (``kernel_size=1``), so a code never mixes the object with the colour
    next to it, and 64 codes (the thesis used 20: with 20, dim pixels of
    different foreground colours share codes and the colour cannot be
    separated from the shape).

    ``set_output(transform="default")`` keeps the images' layout;
    ``"pandas"`` / ``"polars"`` flatten them to one column per pixel (a
    DataFrame cannot hold images).

    Parameters
    ----------
    method : {"substitute", "walk", "qe-walk"}, default="substitute"
        The debiasing step (see above).
    n_codes : int, default=64
        Codebook size.
    code_dim : int, default=64
        Size of each codebook vector (the thesis's value).
    latent_stride : int, default=1
        Image pixels per latent position along each side: 1 (one latent
        vector per pixel), or a power of 2 (stride-2 convolutions: 2 gives a
        14x14 grid on 28x28 images, 4 a 7x7 grid). Ignored for vectors.
    kernel_size : int, default=1
        Receptive field (odd) of the per-pixel encoder and decoder
        (``latent_stride=1``).
    spurious_threshold : float in (0, 1], default=0.7
        ``method="substitute"``: a code is spurious when the normalised
        entropy of the class of the images holding it (over its positions,
        classes equally weighted) is below this.
    walk_steps : int, default=20
        Walk steps (thesis: 20 background colour, 7 foreground colour).
    alpha : float, default=0.1
        Walk step (thesis: 0.1); in latent units for ``"qe-walk"``, in
        codebook spacings for ``"walk"``.
    stop_entropy : float in (0, 1] or None, default=None
        Walks: a sample stops once ``f``'s entropy reaches this share of
        ``log(n_classes)``; None walks all ``walk_steps``.
    classifier_hidden : int, default=100
        Hidden units of the latent classifier ``f``.
    classifier_epochs : int, default=10
        Training epochs of ``f`` (kept short on purpose).
    label_smoothing : float in [0, 1), default=0.1
        Label smoothing of ``f``'s cross-entropy (keeps its entropy gradient
        from vanishing in the walks).
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
        ``method="substitute"``: the codes found to carry the class.
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
        ``method="substitute"``: the class that a code at a latent position
        marks (-1: none): present in at least 90 % of that class's images and
        nearly never in others', e.g. the one-pixel code. Each image's own
        markers are erased and its new group's written in.
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
        images before and after ``transform``) with ``chance``.
    device_ : torch.device
    n_features_in_ : int
    input_shape_ : tuple

    See Also
    --------
    LADClassifier : Trains a classifier on new debiased images every batch.
    ImageClassifier : The final classifier to train on the output.
    sklproxy.datasets.make_colour_biased : Colour-biased test data.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklproxy.datasets import make_colour_biased
    >>> from sklproxy.debias import LADDebiaser
    >>> X, y = load_digits(return_X_y=True)
    >>> Xc, colour = make_colour_biased(X[:300].reshape(-1, 8, 8), y[:300], max_value=16,
    ...                                 random_state=0)
    >>> lad = LADDebiaser(n_codes=32, width=32, max_epochs=5, random_state=0)
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
        "method": [StrOptions(set(METHODS))],
        "n_codes": [Interval(Integral, 2, None, closed="left")],
        "code_dim": [Interval(Integral, 1, None, closed="left")],
        "latent_stride": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "spurious_threshold": [Interval(Real, 0, 1, closed="right")],
        "walk_steps": [Interval(Integral, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
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
        method="substitute",
        n_codes=64,
        code_dim=64,
        latent_stride=1,
        kernel_size=1,
        spurious_threshold=0.7,
        walk_steps=20,
        alpha=0.1,
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
        self.method = method
        self.n_codes = n_codes
        self.code_dim = code_dim
        self.latent_stride = latent_stride
        self.kernel_size = kernel_size
        self.spurious_threshold = spurious_threshold
        self.walk_steps = walk_steps
        self.alpha = alpha
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
        X = validate_input(self, X, reset=True, image_shape=self.image_shape, min_samples=2)
        self._check_latent_grid()
        y_enc = encode_class_labels(self, X, y)
        self.device_ = resolve_device(self.device)
        seed = seed_from_random_state(self.random_state)
        self._hash_seed = seed + 2
        X_t = torch.from_numpy(X)
        X_dev = to_storage(X_t, self.device_)
        with torch_seeded(seed, self.device_):
            self._fit_vqvae(X_t, X_dev, seed)
            h = self._encode(X_dev)                                     # (n, D, *S)
            q, idx = self._quantise(h)
            self._record_codebook(idx)
            self._fit_latent_classifier(q, y_enc, seed + 1)
            self._prepare_debiasing(idx, y_enc)
        self._record_diagnostics(X, h, y_enc)
        return self

    def _check_latent_grid(self) -> None:
        shape = self.input_shape_
        if len(shape) != 3:
            return
        stride = self.latent_stride
        if stride & (stride - 1):
            raise ValueError(
                f"latent_stride={stride} must be 1 or a power of 2 (2, 4, ...): each stride-2 "
                "convolution halves the grid."
            )
        if stride > 1 and (shape[1] % stride or shape[2] % stride or min(shape[1:]) // stride < 2):
            raise ValueError(
                f"latent_stride={stride} does not fit images of {shape[1]}x{shape[2]} pixels: the "
                f"sides must be divisible by it and leave a grid of at least 2x2; use "
                "latent_stride=1 (one latent vector per pixel) for small images."
            )
        if stride == 1 and self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size={self.kernel_size} must be odd so that each latent vector "
                "is centred on its pixel; use 1 (the default) or 3."
            )

    def _build_vqvae(self, X: torch.Tensor) -> VQVAE:
        shape = self.input_shape_
        if len(shape) == 3:
            n_down = int(math.log2(self.latent_stride))
            if n_down == 0:
                encoder = PixelEncoder(shape[0], self.code_dim, self.width, self.kernel_size)
                decoder = PixelDecoder(shape[0], self.code_dim, self.width, self.kernel_size)
            else:
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
        crop = _TRAIN_CROP if len(self.input_shape_) == 3 and self.latent_stride == 1 else None
        grid = h0.shape[2:] if crop is None else [min(s, crop) for s in h0.shape[2:]]
        n_latent_vectors = len(X) * int(np.prod(grid))
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
            crop=crop,
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
            # f on raw per-pixel latents overshoots in its first epoch when a
            # signal predicts the label perfectly, then settles (one-pixel
            # digits28, seed 2: epoch losses 8.36, 2.50, 1.29, ... 0.59 from a
            # start of 2.30; benchmarks/b3_debias.py); NaN still stops it
            max_loss_rise=10.0,
            stage="LADDebiaser, stage 2/2: latent classifier f",
            seed=seed,
            verbose=self.verbose,
        )
        y_dev = to_storage(torch.from_numpy(y), self.device_)
        self.latent_net_.fit(TensorPairDataset(q, y_dev), None)
        self.latent_net_.module_.eval()

    def _prepare_debiasing(self, idx: torch.Tensor, y: np.ndarray) -> None:
        """What the debiasing step needs from the training codes ``idx`` and labels ``y``."""
        if self.method == "substitute":
            self._fit_substitution(idx, torch.from_numpy(y))
            return
        spacing = code_spacing(self.net_.module_.codebook,
                               torch.from_numpy(self.code_counts_ > 0).to(self.net_.device))
        self.step_scale_ = 1.0 if self.method == "qe-walk" else spacing / math.sqrt(self.code_dim)

    def _fit_substitution(self, idx: torch.Tensor, y: torch.Tensor) -> None:
        """Spurious codes from the labels of the images that hold them, groups, tables, markers."""
        k = len(self.classes_)
        idx = idx.cpu()
        counts = code_class_counts(idx, y, self.n_codes, k)
        sizes = torch.bincount(y, minlength=k).double()
        holders = code_holders(idx, y, self.n_codes, k)
        spurious, group, entropy = spurious_codes(counts, sizes, self.spurious_threshold, holders)
        tables, groups = substitution_tables(spurious, group, neighbour_signatures(idx, spurious))
        markers, fill = position_markers(idx, y, self.n_codes, k, spurious)
        marker_classes = torch.unique(markers[markers >= 0])
        if len(groups) == 0 and len(marker_classes):  # markers only: identity code tables
            groups = marker_classes
            tables = torch.arange(self.n_codes).repeat(len(groups), 1)
        if len(groups) == 0:
            warnings.warn(
                "LADDebiaser found no spurious code and no position marker: every code is "
                "used across classes (lowest normalised class entropy "
                f"{float(entropy.min()):.2f} >= spurious_threshold={self.spurious_threshold}), "
                "so transform only reconstructs. Raise spurious_threshold, or try "
                "method='walk'.",
                UserWarning,
                stacklevel=2,
            )
            tables = torch.arange(self.n_codes).view(1, -1)  # one identity table
        self.spurious_codes_ = spurious.numpy()
        self.position_markers_ = markers.numpy().reshape(*idx.shape[1:], self.n_codes)
        self._marker_fill = fill.numpy()
        self.code_groups_ = group.numpy()
        self.code_entropy_ = entropy.numpy()
        self.substitution_tables_ = tables.numpy()
        self.groups_ = groups.numpy()

    def _record_codebook(self, idx: torch.Tensor) -> None:
        counts = torch.bincount(idx.flatten().cpu(), minlength=self.n_codes)
        self.code_counts_ = counts.numpy()
        self.codebook_usage_ = float((counts > 0).float().mean())

    def _record_diagnostics(self, X: np.ndarray, h: torch.Tensor, y: np.ndarray) -> None:
        pick = np.unique(np.linspace(0, len(h) - 1, min(len(h), _DIAGNOSTIC_SAMPLES)).round().astype(int))
        pick_t = torch.from_numpy(pick).to(h.device)
        h = h[pick_t]
        vq, f = self.net_.module_, self.latent_net_.module_
        codebook = vq.codebook.detach().float()
        with torch.no_grad():
            q0, idx0 = quantise(h, codebook)
            logits0 = f(q0)
            recon = self._decode(q0)
            target = vq.standardize(torch.from_numpy(X[pick]).to(recon.device).float())
            mse = float(((vq.standardize(recon) - target) ** 2).mean())
        q1, idx1 = self._debias_latents(h)
        with torch.no_grad():
            logits1 = f(q1)
            after = self._decode(q1).cpu().numpy()
        entropy = lambda z: float(-(z.log_softmax(1).exp() * z.log_softmax(1)).sum(1).mean())  # noqa: E731
        self.latent_accuracy_ = float((logits0.argmax(1).cpu().numpy() == y[pick]).mean())
        diag = {
            "reconstruction_mse": mse,
            "entropy_before": entropy(logits0),
            "entropy_after": entropy(logits1),
            "entropy_max": math.log(len(self.classes_)),
            "latent_accuracy_after": float((logits1.argmax(1).cpu().numpy() == y[pick]).mean()),
            "code_change": float((idx1 != idx0).float().mean()),
        }
        counts = np.bincount(y[pick], minlength=len(self.classes_))
        if len(self.input_shape_) == 3 and self.input_shape_[1] >= 6 and counts.min() >= 2:
            diag["colour_before"] = colour_decodability(X[pick], y[pick])
            diag["colour_after"] = colour_decodability(after, y[pick])
            diag["chance"] = float(counts.max() / counts.sum())
        self.diagnostics_ = diag

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
        stop = None if self.stop_entropy is None else self.stop_entropy * math.log(len(self.classes_))
        return dict(steps=self.walk_steps, alpha=self.alpha, step_scale=self.step_scale_,
                    accumulate=self.method == "walk", stop_entropy=stop)

    def debias_module(self) -> LatentDebias:
        """The fitted debiasing step as a torch module ``(x, generator) -> images``.

        Encodes a batch of raw images, debiases each image's latent (for
        ``method="substitute"``: the tables of groups drawn from
        ``generator``, a new draw at every call; without a generator, the
        groups ``transform`` draws) and decodes. Shares the fitted weights;
        use it as an augmentation inside a training loop, as
        :class:`LADClassifier` does.
        """
        check_is_fitted(self)
        walk = None if self.method == "substitute" else self._walk_options()
        return LatentDebias(self.net_.module_, self.method, self._substitution(),
                            self.latent_net_.module_, walk, hash_seed=self._hash_seed)

    def _substitution(self) -> dict | None:
        """The fitted substitution as tensors: tables, markers, fill, groups."""
        if self.method != "substitute":
            return None
        markers = torch.from_numpy(self.position_markers_.reshape(-1, self.n_codes))
        return {"tables": torch.from_numpy(self.substitution_tables_),
                "markers": markers if bool((markers >= 0).any()) else None,
                "fill": torch.from_numpy(self._marker_fill),
                "groups": torch.from_numpy(self.groups_).long()}

    def _debias_latents(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Debiased quantised latents of ``h`` and their codes, as ``transform`` makes them."""
        codebook = self.net_.module_.codebook.detach().float()
        if self.method == "substitute":
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

        ``method="substitute"``: each image is moved to a group drawn from a
        hash of its own codes, keyed by a seed drawn at ``fit``: a
        pseudo-random group, independent of the class, that is the same
        whenever the same image is transformed (so ``transform`` works
        sample by sample, in any chunks, and ``fit_transform`` equals
        ``fit`` then ``transform``). The walks are deterministic.

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
        module = self.debias_module()
        return torch.cat([module(xb).float().cpu() for xb, _ in self._batches(X)])

    def fit_transform(self, X: ArrayLike, y: ArrayLike | None = None, **fit_params: Any) -> np.ndarray:
        """``fit(X, y).transform(X)``: the same output, bit for bit."""
        return self.fit(X, y, **fit_params).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = False
        return tags
