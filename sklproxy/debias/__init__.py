"""Debiasing: LADDebiaser (latent adversarial debiasing), LADClassifier and their options.

The debiasing step is a strategy object (:class:`Substitute`, :class:`Swap`,
:class:`Walk`, :class:`QEWalk`) or its name; :class:`VQVAEOptions` and
:class:`LatentClassifierOptions` group the settings of the two sub-models.
The final image classifier lives in :mod:`sklproxy.classification`.
"""

from ._lad import LADDebiaser
from ._lad_classifier import LADClassifier
from ._options import LatentClassifierOptions, QEWalk, Substitute, Swap, VQVAEOptions, Walk

__all__ = [
    "LADClassifier",
    "LADDebiaser",
    "LatentClassifierOptions",
    "QEWalk",
    "Substitute",
    "Swap",
    "VQVAEOptions",
    "Walk",
]
