"""Building LADDebiaser's VQ-VAE for the data, and checking its latent grid against the images."""

from __future__ import annotations

import math

import torch

from ..nn.backbones import Standardize
from ..nn.vqvae import (
    VQVAE,
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    PixelDecoder,
    PixelEncoder,
    VectorQuantizer,
)
from ._options import VQVAEOptions

__all__ = ["build_vqvae", "check_latent_grid"]

# Vectors (2-D X) are encoded into this many latent vectors of size code_dim.
_VECTOR_LATENTS = 4
def build_vqvae(X: torch.Tensor, input_shape: tuple[int, ...], opts: VQVAEOptions) -> VQVAE:
    """The untrained VQ-VAE for data ``X`` of ``input_shape`` (value range and standardisation from ``X``)."""
    if len(input_shape) == 3:
        n_down = int(math.log2(opts.latent_stride))
        if n_down == 0:
            encoder = PixelEncoder(input_shape[0], opts.code_dim, opts.width, opts.kernel_size)
            decoder = PixelDecoder(input_shape[0], opts.code_dim, opts.width, opts.kernel_size)
        else:
            encoder = ConvEncoder(input_shape[0], opts.code_dim, opts.width, n_down)
            decoder = ConvDecoder(input_shape[0], input_shape[1:], opts.code_dim, opts.width, n_down)
        dims = (0, 2, 3)
    else:
        encoder = MLPEncoder(input_shape[0], opts.code_dim, _VECTOR_LATENTS, 2 * opts.width)
        decoder = MLPDecoder(input_shape[0], opts.code_dim, _VECTOR_LATENTS, 2 * opts.width)
        dims = (0,)
    low = X.float().amin(dim=dims, keepdim=True)
    high = X.float().amax(dim=dims, keepdim=True)
    quantizer = VectorQuantizer(opts.n_codes, opts.code_dim, opts.commitment)
    return VQVAE(Standardize.fit(X, per_channel=True), encoder, quantizer, decoder, low, high)


def check_latent_grid(input_shape: tuple[int, ...], opts: VQVAEOptions) -> None:
    """A clear error when the VQ-VAE's latent grid does not fit images of ``input_shape``."""
    if len(input_shape) != 3:
        return
    stride = opts.latent_stride
    if stride & (stride - 1):
        raise ValueError(
            f"vqvae.latent_stride={stride} must be 1 or a power of 2 (2, 4, ...): each stride-2 "
            "convolution halves the grid."
        )
    if stride > 1 and (input_shape[1] % stride or input_shape[2] % stride
                       or min(input_shape[1:]) // stride < 2):
        raise ValueError(
            f"vqvae.latent_stride={stride} does not fit images of {input_shape[1]}x"
            f"{input_shape[2]} pixels: the sides must be divisible by it and leave a grid of at "
            "least 2x2; use latent_stride=1 (one latent vector per pixel) for small images."
        )
    if stride == 1 and opts.kernel_size % 2 == 0:
        raise ValueError(
            f"vqvae.kernel_size={opts.kernel_size} must be odd so that each latent vector "
            "is centred on its pixel; use 1 (the default) or 3."
        )
