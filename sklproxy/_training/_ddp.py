"""Data-parallel training of one model over several processes (PyTorch DDP).

Launch one process per device with ``torchrun`` (on GPUs ``accelerate
launch --multi_gpu`` starts the processes the same way; its CPU mode goes
through MPI instead and is not supported), and fit inside
:func:`data_parallel`::

    torchrun --nproc-per-node=2 train.py

    # train.py
    with sklproxy.parallel.data_parallel():
        est = DDTLHasher(random_state=0).fit(X, y)   # every rank, same X, y
    if sklproxy.parallel.get_rank() == 0:
        joblib.dump(est, "model.joblib")

How a step is split (:class:`DataParallelMixin`, mixed into every sklproxy
skorch net):

* Every rank iterates the same global batches (same seeded shuffle, same
  augmentation draws: the seed of rank 0 is broadcast), so the global batch
  is exactly the one of a single-process fit with the same ``batch_size``.
* In ``infer`` each rank runs the forward pass on its shard, rows
  ``rank, rank + world, ...`` of the global batch, through a
  :class:`~torch.nn.parallel.DistributedDataParallel` wrapper; the outputs
  are all-gathered (differentiably) back into global-batch order. The loss
  is then the single-process loss on every rank, batch-coupled terms
  (NT-Xent negatives, mutual information, tree balance) included.
* In the backward pass each rank's shard gets ``world`` times its gradient
  of that loss (what all-gather's backward, a sum over the ``world``
  identical losses, gives) and DDP averages the parameter gradients over
  ranks: the product is exactly the single-process gradient, up to the
  order of floating-point sums.

BatchNorm layers normalise with the statistics of the global batch too:
during a data-parallel fit their training forward all-reduces per-channel
sums and sums of squares (PyTorch's ``SyncBatchNorm`` does this only on
GPUs), so backbones with BatchNorm also give the single-process fit, up to
float rounding (the variance comes from ``E[x^2] - E[x]^2`` here).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DataParallelMixin", "data_parallel", "get_rank", "get_world_size"]

_ACTIVE = [False]  # inside data_parallel(): a list so the flag is shared, not rebound


def get_rank() -> int:
    """This process's rank in the default process group (0 without one)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    """Processes in the default process group (1 without one)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _active_world() -> int:
    """World size when sklproxy fits are data-parallel now, else 1."""
    return get_world_size() if _ACTIVE[0] else 1


@contextlib.contextmanager
def data_parallel(backend: str | None = None) -> Iterator[int]:
    """Fit sklproxy estimators data-parallel over the processes of a launch.

    Inside the block every sklproxy fit trains one model over all processes
    of the default ``torch.distributed`` process group (see the module
    docstring for how a step is split and what matches a single-process
    fit). Every process must call the same fits on the same data, with an
    int ``random_state`` (rank 0's training seed is broadcast, but other
    draws of a fit come from ``random_state`` on each rank). Outside the
    block, and in a single process, fits are unchanged.

    Parameters
    ----------
    backend : str or None, default=None
        Process-group backend when this call creates the group from the
        launcher's environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
        ``MASTER_PORT``, as set by ``torchrun`` and ``accelerate launch --multi_gpu``):
        ``None`` picks ``"nccl"`` with CUDA and ``"gloo"`` otherwise. With
        NCCL, each process takes the GPU ``LOCAL_RANK``, so the estimators'
        ``device="auto"`` (``"cuda"``: the current device) is that GPU. A
        group created here is destroyed at the end of the block.

    Yields
    ------
    rank : int
        This process's rank; rank 0 is the one to save or report from.

    Raises
    ------
    RuntimeError
        Without a process group and without a launcher's environment.
    """
    created = False
    if not dist.is_available():  # pragma: no cover - builds without distributed
        raise RuntimeError("data_parallel() needs a torch build with torch.distributed.")
    if not dist.is_initialized():
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            raise RuntimeError(
                "data_parallel() found no process group and no launcher environment "
                "(RANK, WORLD_SIZE). Launch the script with `torchrun --nproc-per-node=N "
                "script.py` or `accelerate launch --multi_gpu --num_processes N script.py` on GPUs, or call "
                "torch.distributed.init_process_group() first."
            )
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
        created = True
    previous = _ACTIVE[0]
    _ACTIVE[0] = True
    try:
        yield dist.get_rank()
    finally:
        _ACTIVE[0] = previous
        if created:
            dist.destroy_process_group()


# ---------------------------------------------------------------------------
# The net side
# ---------------------------------------------------------------------------


class _GatherShards(torch.autograd.Function):
    """All-gather equal-sized shards; the backward keeps this rank's rows.

    Every rank computes the same loss from the gathered tensor, so the
    gradient of the local rows is the same on every rank; all-gather's usual
    backward (a sum over ranks: a reduce-scatter) would give ``world`` times
    it without any communication being needed. Returning ``world`` times the
    local gradient is that, and DDP's averaging over ranks then leaves
    exactly the single-process gradient.
    """

    @staticmethod
    def forward(ctx: Any, shard: torch.Tensor) -> torch.Tensor:
        ctx.rank, ctx.world = dist.get_rank(), dist.get_world_size()
        parts = [torch.empty_like(shard) for _ in range(ctx.world)]
        dist.all_gather(parts, shard.contiguous())
        return torch.stack(parts)  # (world, rows, ...)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad[ctx.rank] * ctx.world


def _shard_gather(out: Any, rank: int, world: int, n: int) -> Any:
    """All-gather each tensor of a (nested) output back into global-batch order.

    Rank ``r`` computed rows ``r::world``; shards are padded to the largest
    one, gathered, and interleaved again.
    """
    if isinstance(out, (tuple, list)):
        return type(out)(_shard_gather(o, rank, world, n) for o in out)
    if isinstance(out, dict):
        return {k: _shard_gather(v, rank, world, n) for k, v in out.items()}
    if not isinstance(out, torch.Tensor):
        return out
    rows = -(-n // world)  # the largest shard
    pad = rows - out.shape[0]
    if pad:
        out = torch.cat([out, out.new_zeros((pad, *out.shape[1:]))])
    parts = _GatherShards.apply(out)  # (world, rows, ...)
    full = parts.transpose(0, 1).reshape(rows * world, *out.shape[1:])  # interleaved
    return full[:n]


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the gradient is summed over ranks too (each rank's loss
    reaches the sum through every rank's outputs)."""

    @staticmethod
    def forward(ctx: Any, t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        dist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def _global_batch_norm(bn: nn.modules.batchnorm._BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """``bn(x)`` in training mode with the statistics of the global batch.

    Per-channel sums and sums of squares of every rank's shard are
    all-reduced (differentiably), so each rank normalises its rows as one
    process would normalise the whole batch; running statistics get the
    same update as in :func:`torch.nn.functional.batch_norm`.
    """
    C = x.shape[1]
    dims = [0, *range(2, x.dim())]
    xf = x.float()
    count = torch.full((1,), x.numel() // max(C, 1), dtype=torch.float32, device=x.device)
    stats = _AllReduceSum.apply(torch.cat([xf.sum(dims), (xf * xf).sum(dims), count]))
    n = stats[-1]
    mean = stats[:C] / n
    var = (stats[C : 2 * C] / n - mean * mean).clamp_min(0)  # biased, as BatchNorm normalises
    if bn.track_running_stats:
        with torch.no_grad():
            bn.num_batches_tracked.add_(1)
            m = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
            bn.running_mean.mul_(1 - m).add_(m * mean)
            bn.running_var.mul_(1 - m).add_(m * var * n / (n - 1).clamp_min(1))
    shape = [1, C] + [1] * (x.dim() - 2)
    y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + bn.eps)
    if bn.affine:
        y = y * bn.weight.view(shape) + bn.bias.view(shape)
    return y.to(x.dtype)


def _sync_batch_norms(module: nn.Module) -> list[nn.Module]:
    """Make every BatchNorm layer of ``module`` use global-batch statistics in training."""
    layers = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in layers:
        plain = bn.forward

        def forward(x: torch.Tensor, bn: nn.Module = bn, plain: Any = plain) -> torch.Tensor:
            return _global_batch_norm(bn, x) if bn.training else plain(x)

        bn.forward = forward  # an instance attribute, deleted again after the fit
    return layers


class DataParallelMixin:
    """Data parallelism for a skorch net, active only inside :func:`data_parallel`.

    Mixed in before :class:`skorch.NeuralNet`; inert in a single process.
    See the module docstring for how a training step is split.
    """

    _ddp: Any = None  # the DDP wrapper of module_, during a data-parallel fit only
    _synced_bn: list = []  # BatchNorm layers normalising over the global batch, idem

    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        world = _active_world()
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            # the same shuffle and augmentations on every rank: rank 0's seed
            seed = torch.tensor([int(getattr(self, "seed", 0))], dtype=torch.int64)
            if dist.get_backend() == "nccl":
                seed = seed.cuda()
            dist.broadcast(seed, src=0)
            if hasattr(self, "seed"):
                self.seed = int(seed.item())
            device = torch.device(self.device)
            ddp = DistributedDataParallel(  # broadcasts rank 0's weights
                self.module_, device_ids=[device.index or 0] if device.type == "cuda" else None,
            )
            # a transient view of module_, not a component of its own: skorch only
            # lets modules be set in initialize_*, so bypass its __setattr__
            object.__setattr__(self, "_ddp", ddp)
            object.__setattr__(self, "_synced_bn", _sync_batch_norms(self.module_))
        super().on_train_begin(net, X=X, y=y, **kwargs)

    def on_train_end(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        super().on_train_end(net, X=X, y=y, **kwargs)
        for bn in self._synced_bn:
            del bn.forward  # back to the class's BatchNorm forward
        object.__setattr__(self, "_synced_bn", [])
        object.__setattr__(self, "_ddp", None)  # the fitted net is a plain one: it pickles as usual

    def infer(self, x: Any, **fit_params: Any) -> Any:
        ddp = self._ddp
        if ddp is None or not self.module_.training or not isinstance(x, torch.Tensor):
            return super().infer(x, **fit_params)
        rank, world, n = dist.get_rank(), dist.get_world_size(), x.shape[0]
        out = ddp(x[rank::world], **fit_params)  # (ceil((n - rank) / world), ...)
        return _shard_gather(out, rank, world, n)
