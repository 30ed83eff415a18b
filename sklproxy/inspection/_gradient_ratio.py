"""Gradient-ratio diagnostic for shortcut learning (methods page, LAD)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

__all__ = ["gradient_ratio"]


def _as_tensor(a, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype)
    return torch.as_tensor(np.array(a), dtype=dtype, device=device)  # copy: may be read-only


def _default_device(model: torch.nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def gradient_ratio(
    model: torch.nn.Module,
    X: ArrayLike,
    y: ArrayLike,
    causal_mask: ArrayLike,
    spurious_mask: ArrayLike,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    device: str | torch.device | None = None,
) -> float:
    """Gradient ratio GR = mean_i ||dL/dx_causal_i|| / ||dL/dx_spurious_i||.

    For each image ``i`` the gradient of the loss with respect to the input
    is split into the pixels of ``causal_mask`` and of ``spurious_mask``; GR
    is the mean over the batch of the ratio of their L2 norms. GR well above 1
    means the network leans on the causal pixels; it falls below 1 as the
    network switches to the spurious signal (thesis: within about 230
    iterations on the one-pixel problem).

    The per-image gradients come from one backward pass of the summed loss,
    so the model must treat images independently. It is run in ``eval()``
    mode (no dropout, BatchNorm uses running statistics) and put back in its
    previous mode afterwards; parameter ``.grad`` fields are not touched.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch shaped like ``X`` to logits (or whatever ``loss_fn``
        expects).
    X : array-like or Tensor of shape (n_samples, ...)
        Input batch, converted to float32.
    y : array-like or Tensor of shape (n_samples,)
        Targets, converted to int64.
    causal_mask, spurious_mask : array-like or Tensor of bool
        Pixels of each part, broadcastable to ``X.shape``: one mask for the
        whole batch (e.g. shape ``X.shape[1:]``) or one per image.
    loss_fn : callable, default=None
        ``loss_fn(output, y) -> scalar``. None: cross-entropy. Its reduction
        does not matter (a mean only rescales both norms alike).
    device : str or torch.device, default=None
        Where to compute. None: the device of the model's parameters (CPU if
        it has none).

    Returns
    -------
    gr : float
        The mean ratio. ``inf`` if the spurious gradient of some image is
        exactly zero; ``nan`` if both norms of some image are zero.

    See Also
    --------
    make_one_pixel : The one-pixel problem this diagnostic is used on.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklproxy.datasets import make_one_pixel
    >>> from sklproxy.inspection import gradient_ratio
    >>> X = np.random.RandomState(0).rand(16, 8, 8).astype(np.float32)
    >>> y = np.arange(16) % 4
    >>> Xp, pixel = make_one_pixel(X, y)
    >>> spurious = np.zeros((8, 8), dtype=bool)
    >>> spurious[0, :4] = True  # the four class pixels
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 4))
    >>> gr = gradient_ratio(model, Xp, y, ~spurious, spurious)
    >>> isinstance(gr, float), gr > 0
    (True, True)
    """
    if device is None:
        device = _default_device(model)
    device = torch.device(device)
    x = _as_tensor(X, torch.float32, device)
    target = _as_tensor(y, torch.int64, device)
    if target.ndim != 1 or target.shape[0] != x.shape[0]:
        raise ValueError(
            f"y must be 1-d with one target per image; got shape {tuple(target.shape)} "
            f"for {x.shape[0]} images."
        )
    masks = []
    for name, mask in (("causal_mask", causal_mask), ("spurious_mask", spurious_mask)):
        mask = _as_tensor(mask, torch.bool, device)
        try:
            mask = torch.broadcast_to(mask, x.shape)
        except RuntimeError as exc:
            raise ValueError(
                f"{name} of shape {tuple(mask.shape)} does not broadcast to X's "
                f"shape {tuple(x.shape)}; pass one mask of shape X.shape[1:] or one per image."
            ) from exc
        if not bool(mask.reshape(len(x), -1).any(dim=1).all()):
            raise ValueError(
                f"{name} selects no pixel of some image; each mask needs at least one True "
                "pixel per image (the ratio divides by the spurious pixels' gradient norm)."
            )
        masks.append(mask.to(x.dtype))
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn

    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            if loss_fn is F.cross_entropy:
                loss = F.cross_entropy(model(x), target, reduction="sum")
            else:
                loss = loss_fn(model(x), target)
            (grad,) = torch.autograd.grad(loss, x)  # (n, ...) per-image dL/dx
    finally:
        model.train(was_training)

    grad = grad.flatten(1)  # (n, D)
    causal = (grad * masks[0].flatten(1)).norm(dim=1)  # (n,)
    spurious = (grad * masks[1].flatten(1)).norm(dim=1)  # (n,)
    return float((causal / spurious).mean())
