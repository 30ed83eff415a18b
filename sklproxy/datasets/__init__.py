"""Datasets: Fashion-MNIST loader and synthetic biased variants.

* :func:`load_fashion_mnist` reads the four IDX files from ``data_home``,
  the ``SKLPROXY_DATA`` environment variable, or the Debian package
  ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``), and can
  download them with checksum verification.
* :func:`load_digits28`: scikit-learn's digits as 28x28 images (the CPU
  stand-in for MNIST).
* :func:`make_colour_biased` and :func:`make_one_pixel` build the
  colour-biased and one-pixel variants of any grey image set;
  :func:`make_corrupted` the corruption-type bias (LfF's Corrupted CIFAR-10
  lists) and :func:`make_spatial_biased` a class texture or a jittered class
  patch.
"""

from ._biased import (
    BACKGROUND_COLOURS,
    FOREGROUND_COLOURS,
    make_colour_biased,
    make_one_pixel,
)
from ._corrupted import make_corrupted
from ._corruptions import CORRUPTION_TYPES, CORRUPTIONS
from ._digits28 import load_digits28
from ._fashion_mnist import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_SUPERCLASS_NAMES,
    FASHION_MNIST_SUPERCLASSES,
    fashion_mnist_superclasses,
    load_fashion_mnist,
)
from ._spatial import PATCHES, TEXTURES, make_spatial_biased

__all__ = [
    "BACKGROUND_COLOURS",
    "CORRUPTIONS",
    "CORRUPTION_TYPES",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_SUPERCLASSES",
    "FASHION_MNIST_SUPERCLASS_NAMES",
    "FOREGROUND_COLOURS",
    "PATCHES",
    "TEXTURES",
    "fashion_mnist_superclasses",
    "load_digits28",
    "load_fashion_mnist",
    "make_colour_biased",
    "make_corrupted",
    "make_one_pixel",
    "make_spatial_biased",
]
