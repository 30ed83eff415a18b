"""Scaling past one process: data-parallel training and bounded-memory inference.

* :func:`data_parallel`: fit one model over the processes of a ``torchrun``
  (or ``accelerate launch``) launch, with PyTorch DDP.
* :func:`batched_inference`: the decorator behind every estimator's
  ``transform`` / ``predict`` on memory-mapped NumPy arrays (row chunks) and
  Dask arrays (lazy, blockwise).

Hyper-parameter search on a cluster needs nothing from here: scikit-learn's
``GridSearchCV(n_jobs=...)`` runs on joblib's ``dask`` or ``ray`` backend
(see ``docs/scaling.md``).
"""

from .._training._ddp import DataParallelMixin, data_parallel, get_rank, get_world_size
from ._batched import batched_inference, chunk_rows, is_dask_array

__all__ = [
    "DataParallelMixin",
    "batched_inference",
    "chunk_rows",
    "data_parallel",
    "get_rank",
    "get_world_size",
    "is_dask_array",
]
