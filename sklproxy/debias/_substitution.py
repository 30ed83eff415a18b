"""Fitting the code substitution of ``Substitute`` from the training codes and labels."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor

from ..nn.substitute import (
    code_class_counts,
    code_holders,
    neighbour_signatures,
    position_markers,
    spurious_codes,
    substitution_tables,
)

__all__ = ["fit_substitution"]


def fit_substitution(idx: Tensor, y: Tensor, n_codes: int, n_classes: int,
                     threshold: float, warn: bool = True) -> dict[str, np.ndarray]:
    """Spurious codes from the labels of the images that hold them, groups, tables, markers.

    ``idx`` are the training codes ``(n, *S)``, ``y`` the encoded labels
    ``(n,)``. Returns the fitted arrays by attribute name (see
    :class:`~sklproxy.debias.LADDebiaser`'s attributes); warns (``warn``) when
    nothing is spurious (``transform`` then only reconstructs).
    """
    idx = idx.cpu()
    counts = code_class_counts(idx, y, n_codes, n_classes)
    sizes = torch.bincount(y, minlength=n_classes).double()
    holders = code_holders(idx, y, n_codes, n_classes)
    spurious, group, entropy = spurious_codes(counts, sizes, threshold, holders)
    tables, groups = substitution_tables(spurious, group, neighbour_signatures(idx, spurious))
    markers, fill = position_markers(idx, y, n_codes, n_classes, spurious)
    marker_classes = torch.unique(markers[markers >= 0])
    if len(groups) == 0 and len(marker_classes):  # markers only: identity code tables
        groups = marker_classes
        tables = torch.arange(n_codes).repeat(len(groups), 1)
    if len(groups) == 0:
        tables = torch.arange(n_codes).view(1, -1)  # one identity table
    if len(groups) == 0 and warn:
        warnings.warn(
            "LADDebiaser found no spurious code and no position marker: every code is "
            "used across classes (lowest normalised class entropy "
            f"{float(entropy.min()):.2f} >= method.threshold={threshold}), "
            "so transform only reconstructs. Raise the threshold "
            "(method=Substitute(threshold=...)), or try method='swap' for a corruption, "
            "texture or patch.",
            UserWarning,
            stacklevel=4,
        )
    return {
        "spurious_codes_": spurious.numpy(),
        "position_markers_": markers.numpy().reshape(*idx.shape[1:], n_codes),
        "_marker_fill": fill.numpy(),
        "code_groups_": group.numpy(),
        "code_entropy_": entropy.numpy(),
        "substitution_tables_": tables.numpy(),
        "groups_": groups.numpy(),
    }
