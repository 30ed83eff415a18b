"""The torch modules and skorch nets behind :mod:`sklproxy.debias`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._training import DeviceNet
from ..nn.spectral import spectral_swap
from ..nn.substitute import substitute
from ..nn.vqvae import quantise
from ..nn.walk import qe_walk

__all__ = ["LatentDebias", "LatentMLP", "VQVAENet"]


class LatentMLP(nn.Module):
    """The deliberately simple latent classifier ``f``: one hidden ReLU layer.

    Maps latents ``(B, D, *S)`` (flattened) to logits ``(B, K)``.
    """

    def __init__(self, in_features: int, hidden: int, n_classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_classes))

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h.float())


class LatentDebias(nn.Module):
    """Debias a batch of images in a VQ-VAE's latent: encode, change the codes, decode.

    ``method="substitute"``: each image's codes go through the substitution
    table of a group: ``targets``, or drawn from ``generator``, or (neither)
    from a keyed hash of the image's own codes (:meth:`hashed_targets`);
    ``"walk"`` / ``"qe-walk"``: the QE-walk under the latent classifier ``f``
    (deterministic). Called as ``module(x, generator)``, it is an
    augmentation module for an image classifier's net (a new end point for every
    batch); the estimators call it with explicit ``targets``.

    Parameters
    ----------
    vqvae : VQVAE
    method : {"substitute", "walk", "qe-walk"}
    substitution : dict or None
        ``method="substitute"``: ``tables`` ``(n_groups, n_codes)``, and
        ``markers``, ``fill``, ``groups`` (see :func:`sklproxy.nn.substitute.substitute`).
    classifier : nn.Module or None
        ``f`` (walks).
    walk : dict
        Keyword arguments of :func:`sklproxy.nn.walk.qe_walk` (walks).
    swap : dict or None
        After substitution and decoding, :func:`sklproxy.nn.spectral.spectral_swap`
        with a donor from ``bank`` ``(M, *image shape)`` at ``cutoff``: drawn
        from ``generator``, or from a keyed hash of the image's codes.
    """

    def __init__(self, vqvae: nn.Module, method: str, substitution: dict | None = None,
                 classifier: nn.Module | None = None, walk: dict | None = None,
                 hash_seed: int = 0, swap: dict | None = None) -> None:
        super().__init__()
        self.cutoff = None if swap is None else float(swap["cutoff"])
        if swap is not None:
            self.register_buffer("bank", swap["bank"].float())
        self.hash_seed = hash_seed
        self.vqvae = vqvae
        self.method = method
        self.classifier = classifier
        self.walk = dict(walk or {})
        sub = substitution or {}
        self.has_markers = sub.get("markers") is not None
        for name in ("tables", "markers", "fill", "groups"):
            value = sub.get(name)
            self.register_buffer(name, value.long() if value is not None
                                 else torch.zeros(1, 1, dtype=torch.long))

    @property
    def n_groups(self) -> int:
        return len(self.tables)

    def hashed_targets(self, idx: Tensor, modulus: int | None = None, salt: int = 0) -> Tensor:
        """A pseudo-random group per sample from a keyed hash of its codes ``(B, *S)``.

        ``sum_p w_p * code_p`` over positions with int64 weights drawn from
        ``hash_seed + salt`` (wrapping arithmetic), then two rounds of an
        xorshift-multiply mix: the same codes give the same group, and a
        change of any code gives an unrelated one. ``modulus`` (default: the
        number of groups) is the number of values.
        """
        flat = idx.reshape(len(idx), -1)
        gen = torch.Generator().manual_seed(self.hash_seed + salt)
        weights = torch.randint(1, 2**62, (flat.shape[1],), generator=gen).to(flat.device)
        key = (flat * weights).sum(dim=1)                                   # (B,) int64, wraps
        for _ in range(2):
            key = key ^ (key >> 31)
            key = key * 0x5851F42D4C957F2D                                  # wraps in int64
        key = key ^ (key >> 29)
        return torch.remainder(key, self.n_groups if modulus is None else modulus)

    def substitute_codes(self, idx: Tensor, targets: Tensor | None = None) -> Tensor:
        """Codes ``(B, *S)`` moved to ``targets`` (default: :meth:`hashed_targets`)."""
        if targets is None:
            targets = self.hashed_targets(idx)
        extra = dict(markers=self.markers, fill=self.fill, groups=self.groups) if self.has_markers else {}
        return substitute(idx, self.tables, targets.to(idx.device), **extra)

    def forward(self, x: Tensor, generator: torch.Generator | None = None,
                targets: Tensor | None = None) -> Tensor:
        vq = self.vqvae
        codebook = vq.codebook.detach().float()
        with torch.no_grad():
            h = vq.encode(x).float()                                      # (B, D, *S)
        if self.method != "substitute":
            q = qe_walk(h, self.classifier, codebook, **self.walk).latents
            with torch.no_grad():
                return vq.decode(q).to(x.dtype)
        with torch.no_grad():
            _, idx = quantise(h, codebook)                                  # (B, *S)
            if targets is None and generator is not None:
                targets = torch.randint(0, self.n_groups, (len(x),), generator=generator,
                                        device=generator.device)
            out = vq.decode(codebook[self.substitute_codes(idx, targets)].movedim(-1, 1))
            if self.cutoff is None:
                return out.to(x.dtype)
            if generator is not None:
                donors = torch.randint(0, len(self.bank), (len(x),), generator=generator,
                                       device=generator.device).to(x.device)
            else:  # transform: a donor from the image's own codes, keyed apart from its group
                donors = self.hashed_targets(idx, len(self.bank), salt=1)
            out = spectral_swap(out.float(), self.bank[donors], self.cutoff)
            return torch.maximum(torch.minimum(out, vq.high), vq.low).to(x.dtype)


class VQVAENet(DeviceNet):
    """skorch net for the VQ-VAE: ``MSE(recon, x_std) + codebook + commitment``.

    Dead codes are restarted from the current batch's encoder outputs each
    time ``restart_every`` latent vectors have been assigned since the last
    restart (and only while training). With ``crop`` each training batch is
    one random ``crop x crop`` window of its images (drawn from the fit's
    generator): for a per-pixel latent with a small receptive field every
    pixel is encoded as in the whole image (bar the window's edge), at a
    fraction of the cost.
    """

    def __init__(self, *args, restart_every: int = 0, crop: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.restart_every = restart_every
        self.crop = crop

    def _crop(self, x: Tensor) -> Tensor:
        if not self.crop or x.ndim != 4 or min(x.shape[-2:]) <= self.crop:
            return x
        # offsets from a host generator: reading a device draw would wait for the device
        gen = self.crop_generator_
        top = int(torch.randint(0, x.shape[-2] - self.crop + 1, (1,), generator=gen))
        left = int(torch.randint(0, x.shape[-1] - self.crop + 1, (1,), generator=gen))
        return x[..., top:top + self.crop, left:left + self.crop]

    def make_views(self, X: Tensor) -> Tensor:
        return self._crop(X)

    def after_backward(self, X: Tensor, inputs: Tensor, y_pred) -> None:
        # count assignments on the host (the shape is known): reading the
        # quantizer's ``seen`` buffer every step would wait for the device
        self.seen_ += y_pred[3].numel()
        if self.restart_every and self.seen_ >= self.restart_every:
            with torch.no_grad():
                h = self.module_.encode(inputs)
            self.module_.quantizer.restart_dead_codes(h, getattr(self, "generator_", None))
            self.seen_ = 0

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.seen_ = int(self.module_.quantizer.seen)  # once per fit
        self.crop_generator_ = torch.Generator().manual_seed(self.seed + 1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.crop_generator_ = None

    def get_loss(self, y_pred, y_true, X=None, training=False):
        recon, target, vq_loss, _ = y_pred
        return F.mse_loss(recon.float(), target.float()) + vq_loss.float()
