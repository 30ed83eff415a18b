"""Shared plumbing: devices, seeding, input validation, device-resident batching, skorch nets."""

from ._data import BatchIterator, TensorPairDataset, to_storage
from ._device import (
    make_generator,
    resolve_device,
    seed_from_random_state,
    torch_seeded,
)
from ._estimator import (
    BACKBONE_CONSTRAINTS,
    TRAINING_CONSTRAINTS,
    ImageTransformerMixin,
    NetEstimatorMixin,
)
from ._skorch import (
    DeviceNet,
    DivergenceError,
    DivergenceGuard,
    NonFiniteLossError,
    StagePrintLog,
    StageProgressBar,
    StopOnNonFinite,
)
from ._validation import (
    check_input_features,
    encode_class_labels,
    normalize_image_shape,
    validate_input,
)

__all__ = [
    "BACKBONE_CONSTRAINTS",
    "BatchIterator",
    "DeviceNet",
    "DivergenceError",
    "DivergenceGuard",
    "ImageTransformerMixin",
    "NetEstimatorMixin",
    "NonFiniteLossError",
    "StagePrintLog",
    "StageProgressBar",
    "StopOnNonFinite",
    "TRAINING_CONSTRAINTS",
    "TensorPairDataset",
    "check_input_features",
    "encode_class_labels",
    "make_generator",
    "normalize_image_shape",
    "resolve_device",
    "seed_from_random_state",
    "to_storage",
    "torch_seeded",
    "validate_input",
]
