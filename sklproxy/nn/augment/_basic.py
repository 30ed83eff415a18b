"""The default views of DDTLHasher and ImageClassifier: mild random image and vector augmentation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._ops import _LUMA, _uniform


class ImageAugment(nn.Module):
    """Random affine (shift, scale, rotation), flip, grey-scale, brightness/contrast and cut-out.

    Parameters
    ----------
    translate : float
        Largest shift as a fraction of the image side.
    scale : (float, float)
        Zoom range.
    degrees : float
        Largest rotation.
    hflip : float
        Probability of a horizontal flip (0 for digits, 0.5 for natural images).
    jitter : float
        Brightness/contrast jitter strength (multiplicative, around the image mean).
    cutout : float
        Side of a random zeroed square as a fraction of the image side (0: off).
    grayscale : float
        Probability of turning a multi-channel image grey: every channel
        becomes its luma (ITU-R 601-2 weights for 3 channels, the channel
        mean otherwise). DHOG's thesis recipe uses 0.5 on colour images, so
        that colour is not a feature two views always share. Single-channel
        images are left alone.
    padding_mode : {"zeros", "border", "reflection"}
        How the affine warp fills pixels that come from outside the image
        (passed to :func:`torch.nn.functional.grid_sample`): ``"zeros"``
        (black, the default), ``"border"`` (the nearest edge pixel, so a shift
        keeps a uniform background colour) or ``"reflection"``. It changes no
        random draw: for a given generator only the filled pixels differ.
    """

    _PADDING_MODES = ("zeros", "border", "reflection")

    def __init__(
        self,
        translate: float = 0.1,
        scale: tuple[float, float] = (0.9, 1.1),
        degrees: float = 10.0,
        hflip: float = 0.0,
        jitter: float = 0.2,
        cutout: float = 0.0,
        grayscale: float = 0.0,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        if padding_mode not in self._PADDING_MODES:
            raise ValueError(
                f"padding_mode={padding_mode!r} is not supported; use one of "
                f"{', '.join(map(repr, self._PADDING_MODES))}."
            )
        self.translate = translate
        self.scale = scale
        self.degrees = degrees
        self.hflip = hflip
        self.jitter = jitter
        self.cutout = cutout
        self.grayscale = grayscale
        self.padding_mode = padding_mode

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        n, _, h, w = x.shape
        dev = x.device
        # geometry: one batched affine grid                               (N, 2, 3)
        angle = _uniform(n, -self.degrees, self.degrees, generator, dev) * (math.pi / 180)
        zoom = _uniform(n, *self.scale, generator, dev)
        shift = _uniform(2 * n, -2 * self.translate, 2 * self.translate, generator, dev).view(n, 2)
        flip = torch.where(torch.rand(n, generator=generator, device=dev) < self.hflip, -1.0, 1.0)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack(
            [torch.stack([cos * flip, -sin, shift[:, 0]], 1),
             torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
        )
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode=self.padding_mode,
                            align_corners=False)
        c = out.shape[1]
        if self.grayscale > 0 and c > 1:  # no draw otherwise: seeded streams stay as they were
            # weights as Python floats: no small tensor copied to the device every step
            grey = (sum(wt * out[:, i : i + 1] for i, wt in enumerate(_LUMA)) if c == 3
                    else out.mean(dim=1, keepdim=True)).expand_as(out)
            pick = torch.rand(n, generator=generator, device=dev) < self.grayscale
            out = torch.where(pick.view(n, 1, 1, 1), grey, out)
        # photometric: contrast around the per-image mean, then brightness (N, 1, 1, 1)
        if self.jitter > 0:
            mean = out.mean(dim=(1, 2, 3), keepdim=True)
            contrast = _uniform(n, 1 - self.jitter, 1 + self.jitter, generator, dev).view(n, 1, 1, 1)
            bright = _uniform(n, 1 - self.jitter, 1 + self.jitter, generator, dev).view(n, 1, 1, 1)
            out = ((out - mean) * contrast + mean) * bright
        if self.cutout > 0:
            side = max(1, round(self.cutout * min(h, w)))
            cy = torch.randint(0, h, (n, 1, 1), generator=generator, device=dev)
            cx = torch.randint(0, w, (n, 1, 1), generator=generator, device=dev)
            ys = torch.arange(h, device=dev).view(1, h, 1)
            xs = torch.arange(w, device=dev).view(1, 1, w)
            hole = ((ys - cy).abs() <= side // 2) & ((xs - cx).abs() <= side // 2)
            out = out.masked_fill(hole[:, None], 0.0)
        return out.to(x.dtype)


class VectorAugment(nn.Module):
    """Gaussian noise scaled per feature plus random feature masking, for 2-D input.

    Parameters
    ----------
    feature_std : Tensor of shape (F,)
        Per-feature scale of the training data; noise is ``noise * feature_std``.
    noise : float
    mask : float
        Probability of replacing a feature by its mean.
    """

    def __init__(self, feature_mean: Tensor, feature_std: Tensor,
                 noise: float = 0.1, mask: float = 0.1) -> None:
        super().__init__()
        self.register_buffer("feature_mean", feature_mean.float().reshape(1, -1))
        self.register_buffer("feature_std", feature_std.float().reshape(1, -1))
        self.noise = noise
        self.mask = mask

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        eps = torch.randn(x.shape, generator=generator, device=x.device)
        out = x + self.noise * self.feature_std * eps
        if self.mask > 0:
            keep = torch.rand(x.shape, generator=generator, device=x.device) >= self.mask
            out = torch.where(keep, out, self.feature_mean.expand_as(out))
        return out


def default_augment(X: Tensor, hflip: float = 0.0) -> nn.Module:
    """The default augmenter for training data ``X``: images or vectors."""
    if X.ndim == 4:
        return ImageAugment(hflip=hflip, cutout=0.0)
    flat = X.reshape(len(X), -1).float()
    std = flat.std(dim=0) if len(flat) > 1 else torch.ones(flat.shape[1])
    return VectorAugment(flat.mean(dim=0), torch.nan_to_num(std, nan=1.0))


