"""LADDebiaser's grouped parameters: the debiasing strategy, the VQ-VAE, the latent classifier.

Each is an :class:`~sklproxy.utils.Options` object, so its fields are tunable
through nested names (``method__threshold``, ``vqvae__n_codes``,
``latent_classifier__max_epochs``) once the object is passed.
"""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from ..utils import Options

__all__ = [
    "LatentClassifierOptions",
    "METHODS",
    "QEWalk",
    "Substitute",
    "Swap",
    "VQVAEOptions",
    "Walk",
]


# ----------------------------------------------------------------- strategies
class Substitute(Options):
    """Debias by code substitution (a departure from the thesis; the first step of :class:`Swap`).

    Every code that occurs in the images of nearly one class only (normalised
    entropy of the class over the positions holding it below ``threshold``,
    and held by at least half of that class's images) is *spurious* and
    belongs to the group of that class. Each image's spurious codes are
    swapped, over the whole image, for the codes of a randomly drawn group
    that play the same role (the same kind of grid neighbours); position
    markers (a code one class owns at one position) are erased and the new
    group's written in (:mod:`sklproxy.nn.substitute`).

    Parameters
    ----------
    threshold : float in (0, 1], default=0.7
        A code is spurious when the normalised entropy of the class of the
        images holding it (over its positions, classes equally weighted) is
        below this.
    """

    name = "substitute"
    _parameter_constraints: dict = {"threshold": [Interval(Real, 0, 1, closed="right")]}

    def __init__(self, threshold=0.7):
        self.threshold = threshold


class Swap(Substitute):
    """Substitution, then a spectral swap when a shape-blind classifier reads the label (the default).

    After the code substitution of :class:`Substitute` (colours, position
    markers), fit asks whether a deliberately simple classifier still finds
    the label in the images' *style*: a logistic regression on the amplitude
    spectra of the substituted images (blind to where things are), scored on
    held-out halves. At ``min_accuracy`` or above (a corruption, texture or
    patch that the labels agree with), every transformed image takes the
    amplitudes and the fine band of a training image drawn at random and
    keeps only the phase of its own coarse band, below ``cutoff`` cycles per
    image (:func:`~sklproxy.nn.spectral.spectral_swap`); a new donor per batch
    in :class:`~sklproxy.debias.LADClassifier`. Below it, and for vectors
    (no spectrum), ``transform`` is the substitution, bit for bit.

    Parameters
    ----------
    threshold : float in (0, 1], default=0.7
        As for :class:`Substitute`.
    cutoff : float, default=4.0
        Radius, in cycles per image, of the coarse band whose phase each image keeps.
    min_accuracy : float in [0, 1], default=0.95
        Held-out accuracy of the amplitude-spectrum probe from which the swap
        is used. On digits28 it reads a corruption, texture or patch at
        100 % bias at 0.995-1.0 (0.98 after the substitution has taken the
        brightness codes of LfF's Type0 list) and shapes alone (the signal
        drawn independently of the label) at 0.70-0.93; the methods page
        (*LAD*) has every setting. Lower it for a style bias with more
        conflicting images: the probe's accuracy is at most about the bias
        ratio.
    """

    name = "swap"
    _parameter_constraints: dict = {
        **Substitute._parameter_constraints,
        "cutoff": [Interval(Real, 0, None, closed="neither")],
        "min_accuracy": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, threshold=0.7, cutoff=4.0, min_accuracy=0.95):
        super().__init__(threshold=threshold)
        self.cutoff = cutoff
        self.min_accuracy = min_accuracy


class _WalkOptions(Options):
    _parameter_constraints: dict = {
        "steps": [Interval(Integral, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "stop_entropy": [Interval(Real, 0, 1, closed="right"), None],
    }
    accumulate = False

    def __init__(self, steps=20, alpha=0.1, stop_entropy=None):
        self.steps = steps
        self.alpha = alpha
        self.stop_entropy = stop_entropy


class QEWalk(_WalkOptions):
    """The thesis's QE-walk (Algorithm 1), literally.

    ``steps`` steps ``h <- quantise(h + alpha * standardised dH/dh)`` of the
    entropy ``H`` of the latent classifier ``f`` (:func:`sklproxy.nn.walk.qe_walk`).

    Parameters
    ----------
    steps : int, default=20
        Walk steps (thesis: 20 background colour, 7 foreground colour).
    alpha : float, default=0.1
        Step size in latent units (thesis: 0.1).
    stop_entropy : float in (0, 1] or None, default=None
        A sample stops once ``f``'s entropy reaches this share of
        ``log(n_classes)``; None walks all ``steps``.
    """

    name = "qe-walk"


class Walk(_WalkOptions):
    """The QE-walk with an accumulating continuous state.

    The state is re-quantised for ``f`` and for the output at each step (the
    gradient passed straight through) and ``alpha`` is measured in codebook
    spacings (:func:`sklproxy.nn.walk.qe_walk` with ``accumulate=True``).

    Parameters
    ----------
    steps : int, default=20
    alpha : float, default=0.1
        Step size in codebook spacings.
    stop_entropy : float in (0, 1] or None, default=None
        As for :class:`QEWalk`.
    """

    name = "walk"
    accumulate = True


#: ``LADDebiaser(method=...)`` by name.
METHODS: dict[str, type[Options]] = {"substitute": Substitute, "swap": Swap, "walk": Walk,
                                     "qe-walk": QEWalk}


# ------------------------------------------------------------------ sub-models
class VQVAEOptions(Options):
    """The VQ-VAE of :class:`~sklproxy.debias.LADDebiaser`.

    Parameters
    ----------
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
    width : int, default=64
        Channels (images) or hidden units (vectors) of the encoder/decoder.
    commitment : float, default=0.25
        Weight of the commitment loss.
    """

    _parameter_constraints: dict = {
        "n_codes": [Interval(Integral, 2, None, closed="left")],
        "code_dim": [Interval(Integral, 1, None, closed="left")],
        "latent_stride": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 2, None, closed="left")],
        "commitment": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, n_codes=64, code_dim=64, latent_stride=1, kernel_size=1, width=64,
                 commitment=0.25):
        self.n_codes = n_codes
        self.code_dim = code_dim
        self.latent_stride = latent_stride
        self.kernel_size = kernel_size
        self.width = width
        self.commitment = commitment


class LatentClassifierOptions(Options):
    """The deliberately simple latent classifier ``f`` (one hidden layer) of LADDebiaser.

    Parameters
    ----------
    hidden : int, default=100
        Hidden units.
    max_epochs : int, default=10
        Training epochs (kept short on purpose).
    label_smoothing : float in [0, 1), default=0.1
        Label smoothing of its cross-entropy (keeps its entropy gradient from
        vanishing in the walks).
    weight_decay : float, default=1e-3
        AdamW weight decay.
    """

    _parameter_constraints: dict = {
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, hidden=100, max_epochs=10, label_smoothing=0.1, weight_decay=1e-3):
        self.hidden = hidden
        self.max_epochs = max_epochs
        self.label_smoothing = label_smoothing
        self.weight_decay = weight_decay
