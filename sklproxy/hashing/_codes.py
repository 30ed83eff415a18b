"""The layout of a hash code, shared by every hasher: class bits, then path bits."""

from __future__ import annotations

import numpy as np


def code_feature_names(n_class_bits: int, n_path_bits: int) -> np.ndarray:
    """``class_bit0..`` then ``path_bit0..``, in output column order."""
    names = [f"class_bit{i}" for i in range(n_class_bits)]
    names += [f"path_bit{i}" for i in range(n_path_bits)]
    return np.asarray(names, dtype=object)
