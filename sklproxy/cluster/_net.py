"""The torch module and skorch net behind :class:`~sklproxy.cluster.DHOGClusterer`."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from .._training import DeviceNet, TensorPairDataset
from ..nn.heads import DHOGHeads
from ..nn.mutual_info import dhog_objective
from ..utils import make_generator

__all__ = ["DHOGModule", "DHOGNet"]


class DHOGModule(nn.Module):
    """Optional Sobel preprocessing, standardisation, then a backbone with DHOG's heads.

    ``forward`` returns ``(logits (B, n_heads, C), over_logits (B, n_heads, C_over))``.
    """

    def __init__(self, standardize: nn.Module, heads: DHOGHeads,
                 sobel: nn.Module | None = None) -> None:
        super().__init__()
        self.sobel = sobel
        self.standardize = standardize
        self.heads = heads

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.sobel is not None:
            x = self.sobel(x)
        return self.heads(self.standardize(x))


class DHOGNet(DeviceNet):
    """skorch net for DHOG: ``n_repeats`` augmentations per image, MI pull minus push.

    The loss is ``-(MI_pull - alpha * MI_push)`` (``push`` selects the push term)
    (:func:`sklproxy.nn.mutual_info.dhog_objective`), computed in float32 on
    the softmax of the heads' logits. Built with ``drop_last=True``: an MI
    estimate from the few images of a short last batch is noise.
    """

    def __init__(self, *args, alpha: float = 0.05, n_repeats: int = 4, push: str = "mi",
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.alpha = alpha
        self.n_repeats = n_repeats
        self.push = push

    def make_views(self, X: Tensor) -> Tensor:
        # one augmentation call on R copies: every view drawn independently     (R*B, ...)
        return self.augmented(X.repeat(self.n_repeats, *([1] * (X.ndim - 1))))

    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        logits, over = y_pred                                   # (R*B, H, C), (R*B, H, C')
        r = self.n_repeats
        probs = torch.softmax(logits.float(), dim=-1).unflatten(0, (r, -1))   # (R, B, H, C)
        over_probs = (torch.softmax(over.float(), dim=-1).unflatten(0, (r, -1))
                      if over.shape[-1] else None)
        objective, _, _ = dhog_objective(probs, self.alpha, over_probs, push=self.push)
        return -objective

    def view_labels_iter(self, dataset: TensorPairDataset, seed: int,
                         n_views: int = 2) -> Iterator[Tensor]:
        """Per batch, every head's cluster for ``n_views`` augmentations: ``(V, B, H)``.

        Eval mode, no gradient; the augmentations come from a generator
        seeded with ``seed`` (one stream across batches), so the result is
        reproducible. Used for the unsupervised head selection.
        """
        self.module_.eval()
        device = torch.device(self.device)
        gen = make_generator(seed, device)
        with torch.no_grad():
            for Xb, _ in self.get_iterator(dataset, training=False):
                Xb = Xb.to(device)
                out = [self.infer(self.augmented(Xb, gen))[0].float().argmax(-1)
                       for _ in range(n_views)]
                yield torch.stack(out)
