"""Batched augmentations that run on the tensor's own device.

* :class:`ImageAugment`: mild random affine, flips, grey, brightness/contrast
  and cut-out (the default views of DDTLHasher and ImageClassifier).
* :class:`ViewPolicy`: DHOG's views, AutoAugment-style operations drawn as
  a policy, random resized square crops, colour scrambling (channel order,
  hue, grey); :func:`dhog_augment` picks the colour or grey policy.
* :class:`VectorAugment`: noise and feature masking for 2-D input.
* The operations themselves (``equalize``, ``posterize``, ...) as pure
  functions on ``(N, C, H, W)`` images in [0, 1], and :class:`Sobel`.

Each augmenter is a module called as ``aug(x, generator)`` on a whole batch;
all randomness comes from the given :class:`torch.Generator` (so a seeded fit
is reproducible) and all work is a few batched tensor ops (one
``grid_sample`` for the geometry), so augmenting never leaves the GPU.
"""

from ._basic import ImageAugment, VectorAugment, default_augment
from ._ops import (
    Sobel,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    adjust_sharpness,
    auto_contrast,
    equalize,
    invert,
    permute_channels,
    posterize,
    solarize,
    to_grey,
)
from ._views import (
    AUTOAUGMENT_OPERATIONS,
    COLOUR_OPERATIONS,
    GREY_OPERATIONS,
    OPERATIONS,
    ViewPolicy,
    colour_policy,
    dhog_augment,
    grey_policy,
)

__all__ = [
    "AUTOAUGMENT_OPERATIONS",
    "COLOUR_OPERATIONS",
    "GREY_OPERATIONS",
    "ImageAugment",
    "OPERATIONS",
    "Sobel",
    "VectorAugment",
    "ViewPolicy",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "adjust_sharpness",
    "auto_contrast",
    "colour_policy",
    "default_augment",
    "dhog_augment",
    "equalize",
    "grey_policy",
    "invert",
    "permute_channels",
    "posterize",
    "solarize",
    "to_grey",
]

