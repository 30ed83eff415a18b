"""The batched image operations: AutoAugment-style photometric operations (pure functions
on ``(N, C, H, W)`` images in [0, 1]) and the Sobel filter."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _uniform(n: int, low: float, high: float, gen: torch.Generator | None, device) -> Tensor:
    return torch.rand(n, generator=gen, device=device) * (high - low) + low


# ITU-R 601-2 luma weights of (R, G, B), as torchvision's Grayscale uses
_LUMA = (0.299, 0.587, 0.114)


# ===========================================================================
# AutoAugment-style operations, batched (DHOG's views)
# ===========================================================================
#
# Every photometric operation takes images in [0, 1] of shape (N, C, H, W)
# and per-image parameters of shape (N,), follows the definition of the PIL
# operation of the same name (ImageOps / ImageEnhance, which AutoAugment
# used) on continuous values, and returns images in [0, 1]. The 8-bit
# operations (equalize, posterize) quantise to 256 levels first, as PIL does.
# Geometric operations are 2x3 affine matrices in grid_sample's normalised
# coordinates, composed per image and applied in one grid_sample.


def _luma(x: Tensor) -> Tensor:
    """Grey level ``(N, 1, H, W)``: ITU-R 601-2 luma for RGB, the channel mean otherwise."""
    if x.shape[1] == 3:
        return sum(wt * x[:, i : i + 1] for i, wt in enumerate(_LUMA))
    return x.mean(dim=1, keepdim=True)


def _blend(degenerate: Tensor, x: Tensor, factor: Tensor) -> Tensor:
    """PIL's ImageEnhance: ``degenerate + factor * (x - degenerate)``, clipped to [0, 1]."""
    f = factor.view(-1, 1, 1, 1).to(x.dtype)
    return (degenerate + f * (x - degenerate)).clamp(0.0, 1.0)


def invert(x: Tensor) -> Tensor:
    """``1 - x``."""
    return 1.0 - x


def solarize(x: Tensor, threshold: Tensor) -> Tensor:
    """Invert the pixels at or above ``threshold`` (per image, in [0, 1])."""
    return torch.where(x >= threshold.view(-1, 1, 1, 1), 1.0 - x, x)


def _to_levels(x: Tensor) -> Tensor:
    """8-bit levels ``round(255 x)`` as int64."""
    return (x * 255.0).round().clamp(0, 255).long()


def posterize(x: Tensor, bits: Tensor) -> Tensor:
    """Keep the ``bits`` (per image, 1..8) most significant bits of the 8-bit level."""
    keep = (256 - (1 << (8 - bits.long()))).view(-1, 1, 1, 1)        # e.g. 4 bits -> 0b11110000
    return (_to_levels(x) & keep).to(x.dtype) / 255.0


def auto_contrast(x: Tensor) -> Tensor:
    """Stretch each channel of each image to the full range [0, 1] (constant channels stay)."""
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    span = hi - lo
    return torch.where(span > 0, (x - lo) / span.clamp_min(1e-12), x)


def equalize(x: Tensor) -> Tensor:
    """PIL's histogram equalisation per channel of each image, on 8-bit levels.

    For a channel with histogram ``h`` (256 bins): ``step = (n - h[last]) // 255``
    with ``last`` the highest non-empty bin; the level ``i`` maps to
    ``(step // 2 + sum_{k<i} h[k]) // step`` (clipped to 255). A channel with one
    non-empty bin or ``step == 0`` is left as it is.
    """
    n, c, h, w = x.shape
    q = _to_levels(x).reshape(n * c, h * w)                           # (NC, HW)
    hist = torch.zeros(n * c, 256, dtype=torch.long, device=x.device)
    hist.scatter_add_(1, q, torch.ones_like(q))                        # (NC, 256)
    last = hist.gather(1, q.amax(dim=1, keepdim=True))                 # (NC, 1) count of top bin
    step = (h * w - last) // 255
    cum = hist.cumsum(dim=1) - hist                                    # exclusive cumsum
    lut = ((step // 2 + cum) // step.clamp_min(1)).clamp(max=255)      # (NC, 256)
    keep = (step == 0) | ((hist > 0).sum(dim=1, keepdim=True) <= 1)    # (NC, 1)
    out = (lut.gather(1, q).to(x.dtype) / 255.0).view(n, c, h, w)
    return torch.where(keep.view(n, c, 1, 1), x, out)


def adjust_brightness(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with black (PIL ``ImageEnhance.Brightness``)."""
    return _blend(torch.zeros_like(x), x, factor)


def adjust_contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with the image's mean grey level (PIL ``ImageEnhance.Contrast``)."""
    return _blend(_luma(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x), x, factor)


def adjust_saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with the image's grey version (PIL ``ImageEnhance.Color``); no-op on grey images."""
    if x.shape[1] == 1:
        return x
    return _blend(_luma(x).expand_as(x), x, factor)


# PIL's SMOOTH filter, the degenerate image of ImageEnhance.Sharpness
_SMOOTH = ((1.0, 1.0, 1.0), (1.0, 5.0, 1.0), (1.0, 1.0, 1.0))


def adjust_sharpness(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with a smoothed image (PIL ``ImageEnhance.Sharpness``); border pixels stay."""
    n, c, h, w = x.shape
    if h < 3 or w < 3:
        return x
    kernel = torch.tensor(_SMOOTH, dtype=x.dtype, device=x.device) / 13.0
    smooth = F.conv2d(x.reshape(n * c, 1, h, w), kernel.view(1, 1, 3, 3)).view(n, c, h - 2, w - 2)
    degenerate = x.clone()
    degenerate[:, :, 1:-1, 1:-1] = smooth
    return _blend(degenerate, x, factor)


# YIQ colour space: a hue rotation is a rotation of the (I, Q) chroma plane
_RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def adjust_hue(x: Tensor, angle: Tensor) -> Tensor:
    """Rotate the hue of RGB images by ``angle`` radians (per image) in YIQ space; keeps luma."""
    if x.shape[1] != 3:
        return x
    to_yiq = torch.tensor(_RGB_TO_YIQ, dtype=x.dtype, device=x.device)
    cos, sin = torch.cos(angle).to(x.dtype), torch.sin(angle).to(x.dtype)
    rot = torch.zeros(len(x), 3, 3, dtype=x.dtype, device=x.device)    # (N, 3, 3)
    rot[:, 0, 0] = 1.0
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
    mix = torch.linalg.inv(to_yiq) @ rot @ to_yiq                       # RGB -> RGB per image
    return torch.einsum("nij,njhw->nihw", mix, x).clamp(0.0, 1.0)


def permute_channels(x: Tensor, order: Tensor) -> Tensor:
    """Reorder the channels of each image: ``out[n, k] = x[n, order[n, k]]``; ``order`` (N, C)."""
    n, c, h, w = x.shape
    return x.gather(1, order.view(n, c, 1, 1).expand(n, c, h, w))


def to_grey(x: Tensor) -> Tensor:
    """Every channel becomes the luma (ITU-R 601-2 for RGB, the channel mean otherwise)."""
    return _luma(x).expand_as(x)


class Sobel(nn.Module):
    """IIC's Sobel preprocessing: the grey image's horizontal and vertical gradients.

    ``(N, C, H, W) -> (N, 2, H, W)``: grey level (luma for RGB, channel mean
    otherwise), then the 3x3 Sobel filters with zero padding. It removes
    colour and absolute brightness, which IIC needed on colour datasets.
    """

    def __init__(self) -> None:
        super().__init__()
        kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
        self.register_buffer("kernel", torch.stack([kx, kx.T]).unsqueeze(1))  # (2, 1, 3, 3)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(_luma(x.float()), self.kernel, padding=1)


