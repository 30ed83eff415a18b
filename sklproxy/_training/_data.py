"""Device-resident data and index-slice batching for skorch nets.

The training set is moved to the training device once; every batch is an
index slice of it. There is no ``DataLoader`` and no CPU worker, so a 2-core
host never starves a GPU. When the data do not fit on the device they stay
in (pinned) host memory and each slice is copied asynchronously.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["BatchIterator", "TensorPairDataset", "to_storage"]

# Keep the training set on the GPU when it takes at most this share of the
# free device memory; the rest is left for activations.
_DEVICE_MEMORY_SHARE = 0.4


def to_storage(array: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy ``array`` to ``device`` when it fits comfortably, else to pinned host memory."""
    tensor = torch.as_tensor(np.array(array, copy=True)) if isinstance(
        array, np.ndarray) else array.detach().clone()
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if tensor.numel() * tensor.element_size() <= _DEVICE_MEMORY_SHARE * free:
            return tensor.to(device)
        return tensor.pin_memory()
    return tensor.to(device)


class TensorPairDataset(Dataset):
    """``X`` (and optionally ``y``) as tensors, on the device or pinned host memory."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None) -> None:
        if y is not None and len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}.")
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int):  # pragma: no cover - batching uses slices
        return self.X[i], (None if self.y is None else self.y[i])


class BatchIterator:
    """Iterate over ``(Xb, yb)`` index slices of a :class:`TensorPairDataset`.

    Parameters
    ----------
    dataset : TensorPairDataset
    batch_size : int
        Clipped to the dataset size, so a batch larger than the data gives one
        batch of all the data.
    device : torch.device
        Where the batches are computed on; slices are moved there.
    shuffle : bool
        Draw a fresh permutation each pass, from ``generator``.
    generator : torch.Generator or None
        Seeded generator on the storage device (``random_state`` -> same order).
    drop_last : bool
        Leave out the last batch when it is smaller than ``batch_size``.
    """

    def __init__(
        self,
        dataset: TensorPairDataset,
        batch_size: int,
        device: torch.device,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> None:
        self.dataset = dataset
        self.batch_size = max(1, min(int(batch_size), len(dataset)))
        self.device = device
        self.shuffle = shuffle
        self.generator = generator
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        X, y = self.dataset.X, self.dataset.y
        n = len(X)
        order = None
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, device=self.generator.device
                                   if self.generator is not None else X.device)
            order = order.to(X.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            if order is None:
                sl: slice | torch.Tensor = slice(start, start + self.batch_size)
            else:
                sl = order[start:start + self.batch_size]
            Xb = X[sl].to(self.device, non_blocking=True)
            yb = None if y is None else y[sl].to(self.device, non_blocking=True)
            yield Xb, yb
