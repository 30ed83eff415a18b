"""VQ-VAE parts: encoders/decoders for images and vectors, and a vector quantiser.

Latents are channel-first everywhere: ``(B, D, *S)`` where ``D`` is the code
dimension and ``S`` the latent grid (``(h, w)`` for images, ``(L,)`` for
vectors). The quantiser replaces each of the ``prod(S)`` latent vectors by its
nearest codebook vector and passes gradients straight through.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "VQVAE",
    "ConvDecoder",
    "ConvEncoder",
    "MLPDecoder",
    "MLPEncoder",
    "PixelDecoder",
    "PixelEncoder",
    "VectorQuantizer",
    "code_spacing",
    "n_downsamplings",
    "nearest_codes",
    "quantise",
]


# ---------------------------------------------------------------------------
# Quantisation: pure functions
# ---------------------------------------------------------------------------


def nearest_codes(z: Tensor, codebook: Tensor) -> Tensor:
    """Index of the nearest codebook row (Euclidean) for each row of ``z``.

    ``z``: ``(N, D)``; ``codebook``: ``(K, D)``; returns ``(N,)`` int64. Ties go
    to the lowest index.
    """
    z = z.float()
    codebook = codebook.float()
    # ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2; ||z||^2 is constant per row   (N, K)
    dist = codebook.pow(2).sum(1)[None, :] - 2.0 * z @ codebook.t()
    return dist.argmin(dim=1)


def quantise(h: Tensor, codebook: Tensor) -> tuple[Tensor, Tensor]:
    """Snap every latent vector of ``h`` ``(B, D, *S)`` to its nearest code.

    Returns ``(q, idx)``: ``q`` of ``h``'s shape (no gradient path; see
    :class:`VectorQuantizer` for the straight-through version) and ``idx`` of
    shape ``(B, *S)``.
    """
    d = h.shape[1]
    flat = h.movedim(1, -1).reshape(-1, d)                              # (B*prod(S), D)
    idx = nearest_codes(flat, codebook)
    q = codebook[idx].to(h.dtype).reshape(*h.shape[:1], *h.shape[2:], d).movedim(-1, 1)
    return q, idx.reshape(h.shape[0], *h.shape[2:])


def code_spacing(codebook: Tensor, used: Tensor | None = None) -> float:
    """Median distance from a code to its nearest other code (of the used codes).

    The natural unit for a step in latent space: a move of about this length
    changes a latent vector's code.
    """
    codes = codebook.detach().float()
    if used is not None and int(used.sum()) >= 2:
        codes = codes[used]
    if len(codes) < 2:
        return 1.0
    dist = torch.cdist(codes, codes)
    dist.fill_diagonal_(float("inf"))
    spacing = float(dist.min(dim=1).values.median())
    return spacing if spacing > 0 else 1.0


class VectorQuantizer(nn.Module):
    """Codebook of ``n_codes`` vectors of size ``code_dim``, straight-through.

    ``forward(h)`` returns ``(q_st, idx, loss)``: the quantised latents with the
    straight-through gradient ``h + (q - h).detach()``, the code indices and
    ``||sg[h] - q||^2 + commitment * ||h - sg[q]||^2`` (codebook + commitment
    losses, means over elements).

    While training, the number of encoder vectors assigned to each code is
    accumulated in ``usage``; :meth:`restart_dead_codes` replaces codes that
    nobody used by random recent encoder outputs (dead-code restarts).
    """

    def __init__(self, n_codes: int, code_dim: int, commitment: float = 0.25) -> None:
        super().__init__()
        self.n_codes = n_codes
        self.code_dim = code_dim
        self.commitment = commitment
        self.codebook = nn.Parameter(torch.empty(n_codes, code_dim).uniform_(-1.0, 1.0))
        self.register_buffer("usage", torch.zeros(n_codes))
        self.register_buffer("seen", torch.zeros(()))

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        with torch.autocast(h.device.type, enabled=False):  # distances in float32
            return self._forward(h.float())

    def _forward(self, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        q, idx = quantise(h, self.codebook.detach())
        # gradient to the codes through a one-hot matmul: deterministic on every
        # device, unlike the scatter-add backward of ``codebook[idx]``
        one_hot = F.one_hot(idx, self.n_codes).to(self.codebook.dtype)    # (B, *S, K)
        q_grad = (one_hot @ self.codebook).movedim(-1, 1)               # (B, D, *S)
        loss = F.mse_loss(q_grad, h.detach()) + self.commitment * F.mse_loss(h, q.detach())
        if self.training:
            with torch.no_grad():
                self.usage += torch.bincount(idx.flatten(), minlength=self.n_codes).float()
                self.seen += idx.numel()
        return h + (q - h).detach(), idx, loss

    @torch.no_grad()
    def restart_dead_codes(self, h: Tensor, generator: torch.Generator | None = None) -> int:
        """Replace unused codes by random latent vectors of ``h`` ``(B, D, *S)``.

        Resets the usage window; returns the number of codes restarted.
        """
        dead = self.usage == 0
        n_dead = int(dead.sum())
        if n_dead:
            flat = h.detach().float().movedim(1, -1).reshape(-1, self.code_dim)
            pick = torch.randint(0, len(flat), (n_dead,), generator=generator,
                                 device=generator.device if generator is not None else flat.device)
            self.codebook.data[dead] = flat[pick.to(flat.device)]
        self.usage.zero_()
        self.seen.zero_()
        return n_dead


# ---------------------------------------------------------------------------
# Encoders and decoders
# ---------------------------------------------------------------------------


def n_downsamplings(height: int, width: int, max_down: int = 2, min_side: int = 7) -> int:
    """How many stride-2 stages keep the latent grid at least ``min_side`` wide.

    28x28 -> 2 (7x7 latent grid, as in the thesis); 8x8 -> 0 (8x8).
    """
    n, side = 0, min(height, width)
    while n < max_down and side // 2 >= min_side:
        side //= 2
        n += 1
    return n


class _ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(), nn.Conv2d(channels, channels, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class ConvEncoder(nn.Module):
    """``(B, C, H, W)`` -> ``(B, code_dim, H / 2**n_down, W / 2**n_down)``.

    No batch normalisation: each image is encoded independently of its batch.
    """

    def __init__(self, in_channels: int, code_dim: int, hidden: int = 64,
                 n_down: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for i in range(n_down):
            cout = hidden if i == n_down - 1 else max(hidden // 2, 1)
            layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.ReLU()]
            cin = cout
        layers += [nn.Conv2d(cin, hidden, 3, padding=1), _ResBlock(hidden), nn.ReLU(),
                   nn.Conv2d(hidden, code_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """``(B, code_dim, h, w)`` -> ``(B, C, H, W)`` (resized to ``(H, W)`` if needed)."""

    def __init__(self, out_channels: int, image_size: Sequence[int], code_dim: int,
                 hidden: int = 64, n_down: int = 2) -> None:
        super().__init__()
        self.image_size = tuple(int(s) for s in image_size)
        layers: list[nn.Module] = [nn.Conv2d(code_dim, hidden, 3, padding=1), _ResBlock(hidden)]
        cin = hidden
        for i in range(n_down):
            cout = max(hidden // 2, 1)
            layers += [nn.ReLU(), nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)]
            cin = cout
        layers += [nn.ReLU(), nn.Conv2d(cin, out_channels, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        out = self.net(z)
        if tuple(out.shape[-2:]) != self.image_size:  # odd sizes: 2**n_down does not divide
            out = F.interpolate(out, size=self.image_size, mode="bilinear", align_corners=False)
        return out


class _PixelMLP(nn.Module):
    """A ``kernel_size`` convolution, then two 1x1 layers: a small MLP applied at every pixel."""

    def __init__(self, c_in: int, c_out: int, hidden: int, kernel_size: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(c_in, hidden, kernel_size, padding=kernel_size // 2), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
            nn.Conv2d(hidden, c_out, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PixelEncoder(_PixelMLP):
    """``(B, C, H, W)`` -> ``(B, code_dim, H, W)``: one latent vector per pixel.

    A ``kernel_size`` convolution (the receptive field of a latent vector)
    followed by two 1x1 layers. With ``kernel_size=1`` each pixel is encoded
    from its own value only, so a code never mixes an object with the colour
    next to it. No batch normalisation: each image is encoded independently.
    """

    def __init__(self, in_channels: int, code_dim: int, hidden: int = 64,
                 kernel_size: int = 1) -> None:
        super().__init__(in_channels, code_dim, hidden, kernel_size)


class PixelDecoder(_PixelMLP):
    """``(B, code_dim, H, W)`` -> ``(B, C, H, W)``, the mirror of :class:`PixelEncoder`."""

    def __init__(self, out_channels: int, code_dim: int, hidden: int = 64,
                 kernel_size: int = 1) -> None:
        super().__init__(code_dim, out_channels, hidden, kernel_size)


class MLPEncoder(nn.Module):
    """Vectors ``(B, F)`` -> ``(B, code_dim, n_latent)``: ``n_latent`` codes per sample."""

    def __init__(self, in_features: int, code_dim: int, n_latent: int = 4,
                 hidden: int = 128) -> None:
        super().__init__()
        self.code_dim = code_dim
        self.n_latent = n_latent
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, code_dim * n_latent))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).view(-1, self.code_dim, self.n_latent)


class MLPDecoder(nn.Module):
    """``(B, code_dim, n_latent)`` -> ``(B, F)``."""

    def __init__(self, out_features: int, code_dim: int, n_latent: int = 4,
                 hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(code_dim * n_latent, hidden),
                                 nn.ReLU(), nn.Linear(hidden, out_features))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class VQVAE(nn.Module):
    """``dec(quantise(enc(standardize(x))))``, trained in standardised units.

    ``forward(x)`` returns ``(recon, target, vq_loss, idx)``: the
    reconstruction and the standardised input it should match, the quantiser
    loss and the code indices ``(B, *S)``. :meth:`encode`, :meth:`decode` map
    between raw inputs and continuous latents; :meth:`decode` returns raw
    units clipped to the training data's range (``low``, ``high`` buffers).

    Parameters
    ----------
    standardize : Standardize
        Fitted input scaling; also undone by :meth:`decode`.
    encoder, decoder : nn.Module
    quantizer : VectorQuantizer
    low, high : Tensor
        Per-channel (images) or per-feature (vectors) range of the training
        data, broadcastable to a batch.
    """

    def __init__(self, standardize: nn.Module, encoder: nn.Module, quantizer: VectorQuantizer,
                 decoder: nn.Module, low: Tensor, high: Tensor) -> None:
        super().__init__()
        self.standardize = standardize
        self.encoder = encoder
        self.quantizer = quantizer
        self.decoder = decoder
        self.register_buffer("low", low.detach().clone().float())
        self.register_buffer("high", high.detach().clone().float())

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        target = self.standardize(x.float())
        q, idx, vq_loss = self.quantizer(self.encoder(target))
        return self.decoder(q), target, vq_loss, idx

    def encode(self, x: Tensor) -> Tensor:
        """Continuous latents ``(B, D, *S)`` of raw inputs."""
        return self.encoder(self.standardize(x.float()))

    def decode(self, q: Tensor) -> Tensor:
        """Raw-unit reconstructions of latents, clipped to the training range."""
        out = self.decoder(q) * self.standardize.std + self.standardize.mean
        return torch.minimum(torch.maximum(out, self.low), self.high)

    @property
    def codebook(self) -> Tensor:
        return self.quantizer.codebook
