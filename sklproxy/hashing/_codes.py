"""The layout of a hash code, shared by every hasher: class bits, then path bits."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils import check_input_features


def code_feature_names(n_class_bits: int, n_path_bits: int) -> np.ndarray:
    """``class_bit0..`` then ``path_bit0..``, in output column order."""
    names = [f"class_bit{i}" for i in range(n_class_bits)]
    names += [f"path_bit{i}" for i in range(n_path_bits)]
    return np.asarray(names, dtype=object)


class CodeOutputMixin:
    """Output contract of a hasher: ``n_class_bits_`` + ``n_path_bits`` uint8 bit columns.

    Place it first among the bases; needs ``n_class_bits_`` and ``n_path_bits``.
    """

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``class_bit0..`` then ``path_bit0..``, in output column order."""
        check_is_fitted(self)
        check_input_features(self, input_features)  # wrong names/length -> ValueError
        return code_feature_names(self.n_class_bits_, self.n_path_bits)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False  # y=None hashes without class bits
        tags.transformer_tags.preserves_dtype = []  # the output is uint8 bits
        tags.input_tags.three_d_array = True  # (n, H, W) grey images
        return tags
