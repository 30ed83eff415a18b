"""Inference in bounded memory: row chunks of large arrays, blocks of Dask arrays.

:func:`batched_inference` decorates an estimator's ``transform`` / ``predict``
/ ``predict_proba`` ... (a method ``f(self, X) -> array with one row per
sample``):

* NumPy arrays (memory-mapped ones included) and torch tensors larger than
  one chunk are cut into row chunks; each chunk is validated (converted to
  float32) and run on its own, then the outputs are concatenated. Memory is
  one chunk's worth of float32 input plus the outputs, whatever ``n``.
* Dask arrays give a lazy Dask array: ``map_blocks`` over row blocks, each
  block a NumPy call of the method (on a ``dask.distributed`` worker when a
  client is active). The first row is run eagerly, so shape, fitted-ness
  and dtype errors are raised at the call, not at ``compute()``.
* Anything else (lists, small arrays, sparse input for the error message)
  goes straight to the method.

Chunks hold a whole number of the estimator's ``batch_size`` so every
forward pass sees the same batches as one unchunked call: the outputs are
the same bits. The chunk size follows scikit-learn's ``working_memory``
setting (``sklearn.config_context(working_memory=MiB)``, default 1024 MiB),
like ``sklearn.metrics.pairwise_distances_chunked``. With the estimator's
``verbose >= 1`` on a terminal (``verbose >= 2`` anywhere) a progress bar
counts the chunks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import tqdm
from sklearn import get_config

from .._training._progress import progress_active
from ..utils import cpu_threads

__all__ = ["batched_inference", "chunk_rows", "is_dask_array"]

_F = TypeVar("_F", bound=Callable[..., Any])

# bytes per input value held while one chunk is validated and run: the
# float32 copy (4), scikit-learn's finiteness check (1), and room for the
# backbone's activations of one batch (a few more)
_BYTES_PER_VALUE = 16


def is_dask_array(X: Any) -> bool:
    """True for a ``dask.array.Array`` (without importing dask)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "map_blocks")


def chunk_rows(n_values_per_row: int, batch_size: int, working_memory: float | None = None) -> int:
    """Rows per chunk: within ``working_memory`` MiB, a multiple of ``batch_size``.

    Examples
    --------
    >>> chunk_rows(784, batch_size=256, working_memory=64)
    5120
    """
    if working_memory is None:
        working_memory = get_config()["working_memory"]
    budget = int(working_memory * 2**20) // max(1, _BYTES_PER_VALUE * n_values_per_row)
    batch_size = max(1, int(batch_size))
    return max(batch_size, budget // batch_size * batch_size)


def _values_per_row(X: Any) -> int:
    return int(math.prod(X.shape[1:])) if len(X.shape) > 1 else 1


def batched_inference(method: _F) -> _F:
    """Run ``method(self, X, ...)`` chunk by chunk on large or Dask input.

    ``method`` must return one output row per input row (any trailing shape).
    """

    @functools.wraps(method)
    def wrapper(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        if is_dask_array(X):
            return _map_blocks(self, method, X, args, kwargs)
        with cpu_threads(getattr(self, "device_", None)):
            return _in_chunks(self, method, X, args, kwargs)

    return wrapper  # type: ignore[return-value]


def _in_chunks(self: Any, method: Callable[..., Any], X: Any, args: tuple, kwargs: dict) -> Any:
    """``method`` on ``X`` in row chunks that fit the working memory (one call when small)."""
    if not _is_chunkable(X):
        return method(self, X, *args, **kwargs)
    rows = chunk_rows(_values_per_row(X), getattr(self, "batch_size", 1))
    n = X.shape[0]
    if n <= rows:
        return method(self, X, *args, **kwargs)
    starts = range(0, n, rows)
    if progress_active(getattr(self, "verbose", 0)):  # long runs: one tick per chunk
        starts = tqdm.tqdm(starts, desc=f"{type(self).__name__}.{method.__name__}",
                           unit="chunk", leave=False)
    parts = [method(self, _writable(X[a : a + rows]), *args, **kwargs) for a in starts]
    return np.concatenate(parts)


def _writable(chunk: Any) -> Any:
    """A float32 chunk of a read-only memory map, copied (one chunk's memory).

    Validation keeps float32 input as it is, and torch warns about tensors
    over read-only memory; any other dtype is converted (copied) anyway.
    """
    if isinstance(chunk, np.ndarray) and chunk.dtype == np.float32 and not chunk.flags.writeable:
        return np.array(chunk)
    return chunk


def _is_chunkable(X: Any) -> bool:
    if isinstance(X, np.ndarray):
        return X.ndim >= 2
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return False
    return isinstance(X, torch.Tensor) and X.ndim >= 2


def _map_blocks(self: Any, method: Callable[..., Any], X: Any, args: tuple, kwargs: dict) -> Any:
    """Lazy ``method`` over row blocks of a Dask array ``X``."""
    if X.ndim < 2:
        return method(self, X.compute(), *args, **kwargs)  # the method raises its own error
    if not any(math.isnan(c) for c in X.chunks[0]) and len(X.chunks[0]) > 0:
        rows = chunk_rows(_values_per_row(X), getattr(self, "batch_size", 1))
        # whole rows per block, block starts on multiples of the batch size:
        # the same forward batches, hence the same bits, as a NumPy call
        X = X.rechunk({0: rows, **{axis: -1 for axis in range(1, X.ndim)}})
    probe = np.asarray(method(self, np.asarray(X[:1].compute()), *args, **kwargs))
    tail = probe.shape[1:]
    out_ndim = probe.ndim
    extra: dict[str, Any] = {}
    if out_ndim < X.ndim:
        extra["drop_axis"] = list(range(out_ndim, X.ndim))
    elif out_ndim > X.ndim:
        extra["new_axis"] = list(range(X.ndim, out_ndim))
    call = functools.partial(_call_block, self, method, args, kwargs)
    return X.map_blocks(
        call,
        dtype=probe.dtype,
        chunks=(X.chunks[0], *((s,) for s in tail)),
        meta=np.empty((0, *tail), dtype=probe.dtype),
        **extra,
    )


def _call_block(self: Any, method: Callable[..., Any], args: tuple, kwargs: dict, block: Any) -> Any:
    with cpu_threads(getattr(self, "device_", None)):
        return np.asarray(method(self, _writable(np.asarray(block)), *args, **kwargs))
