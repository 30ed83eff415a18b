"""Helpers below every other package: devices, threads and seeding, input validation, output
contracts and grouped options. Imports nothing else from sklproxy but its configuration."""

from ._device import (
    cpu_threads,
    fit_context,
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
    "cpu_threads",
    "encode_class_labels",
    "fit_context",
    "make_generator",
    "normalize_image_shape",
    "resolve_device",
    "resolve_options",
    "seed_from_random_state",
    "torch_seeded",
    "validate_input",
]
