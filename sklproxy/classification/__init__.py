"""Supervised image classification: ImageClassifier (ResNet-20 by default), e.g. after a debiaser."""

from ._image import ImageClassifier

__all__ = ["ImageClassifier"]
