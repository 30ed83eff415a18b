"""Debiasing: LADDebiaser (latent adversarial debiasing) and its final image classifier."""

from ._classifier import ImageClassifier
from ._lad import LADDebiaser

__all__ = [
    "ImageClassifier",
    "LADDebiaser",
]
