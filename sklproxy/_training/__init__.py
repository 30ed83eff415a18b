"""The training layer: how every sklproxy estimator trains its networks with skorch.

Above :mod:`sklproxy.utils` and :mod:`sklproxy.nn`, below the estimators:

* :class:`DeviceNet` (``_net.py``): the skorch net; one ``train_step_single``
  with a ``make_views`` hook, device-resident batches, lean pickles.
* ``_callbacks.py``: :class:`DivergenceGuard`, the stage-labelled print log
  and progress bar, the cosine learning-rate schedule.
* ``_data.py``: :class:`TensorPairDataset`, :class:`BatchIterator` (index
  slices, no ``DataLoader``), :func:`to_storage`.
* ``_ddp.py``: the data-parallel mixin of the net and :func:`data_parallel`
  (public in :mod:`sklproxy.parallel`).
* ``_estimator.py``: :class:`NetEstimatorMixin`, whose ``_build_net`` is the
  one way an estimator builds the net of a training stage.
* ``_progress.py``: the ``verbose`` rule shared with long inference calls.
"""

from ._callbacks import DivergenceGuard, FitTimeEstimate, StagePrintLog, StageProgressBar, lr_schedule
from ._data import BatchIterator, TensorPairDataset, to_storage
from ._estimator import BACKBONE_CONSTRAINTS, TRAINING_CONSTRAINTS, NetEstimatorMixin
from ._net import DeviceNet
from ._progress import progress_active

__all__ = [
    "BACKBONE_CONSTRAINTS",
    "BatchIterator",
    "DeviceNet",
    "DivergenceGuard",
    "FitTimeEstimate",
    "NetEstimatorMixin",
    "StagePrintLog",
    "StageProgressBar",
    "TRAINING_CONSTRAINTS",
    "TensorPairDataset",
    "lr_schedule",
    "progress_active",
    "to_storage",
]
