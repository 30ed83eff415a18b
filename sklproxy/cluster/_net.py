"""The torch module and skorch net behind :class:`~sklproxy.cluster.DHOGClusterer`."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from ..nn.heads import DHOGHeads
from ..nn.mutual_info import dhog_objective
from ..utils import DeviceNet, TensorPairDataset, make_generator

__all__ = ["DHOGModule", "DHOGNet"]


class DHOGModule(nn.Module):
    """Standardisation, then a backbone with DHOG's head hierarchy.

    ``forward`` returns ``(logits (B, n_heads, C), over_logits (B, n_heads, C_over))``.
    """

    def __init__(self, standardize: nn.Module, heads: DHOGHeads) -> None:
        super().__init__()
        self.standardize = standardize
        self.heads = heads

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.heads(self.standardize(x))


class DHOGNet(DeviceNet):
    """skorch net for DHOG: ``n_repeats`` augmentations per image, MI pull minus push.

    The loss is ``-(MI_pull - alpha * MI_push)``
    (:func:`sklproxy.nn.mutual_info.dhog_objective`), computed in float32 on
    the softmax of the heads' logits.
    """

    def __init__(self, *args, alpha: float = 0.05, n_repeats: int = 4, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.alpha = alpha
        self.n_repeats = n_repeats

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, _ = batch
        views = torch.cat([self.augmented(Xi) for _ in range(self.n_repeats)])  # (R*B, ...)
        y_pred = self.infer(views, **fit_params)
        loss = self.get_loss(y_pred, None, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true=None, X=None, training=False):
        logits, over = y_pred                                   # (R*B, H, C), (R*B, H, C')
        r = self.n_repeats
        probs = torch.softmax(logits.float(), dim=-1).chunk(r)  # R x (B, H, C)
        probs = [[p[:, i] for i in range(p.shape[1])] for p in probs]
        over_probs = None
        if over.shape[-1]:
            over_chunks = torch.softmax(over.float(), dim=-1).chunk(r)
            over_probs = [[p[:, i] for i in range(p.shape[1])] for p in over_chunks]
        objective, _, _ = dhog_objective(probs, self.alpha, over_probs)
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
