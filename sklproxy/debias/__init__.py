"""Debiasing: LADDebiaser (latent adversarial debiasing), LADClassifier and the final image classifier."""

from ._classifier import ImageClassifier
from ._lad import LADDebiaser
from ._lad_classifier import LADClassifier

__all__ = [
    "ImageClassifier",
    "LADClassifier",
    "LADDebiaser",
]
