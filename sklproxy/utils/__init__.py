"""Helpers below every other package: devices and seeding, input validation, output
contracts and grouped options. Imports nothing else from sklproxy."""

from ._device import (
    make_generator,
    resolve_device,
    seed_from_random_state,
    torch_seeded,
)
from ._options import Options, resolve_options
from ._output import ImageTransformerMixin
from ._validation import (
    check_input_features,
    encode_class_labels,
    normalize_image_shape,
    validate_input,
)

__all__ = [
    "ImageTransformerMixin",
    "Options",
    "check_input_features",
    "encode_class_labels",
    "make_generator",
    "normalize_image_shape",
    "resolve_device",
    "resolve_options",
    "seed_from_random_state",
    "torch_seeded",
    "validate_input",
]
