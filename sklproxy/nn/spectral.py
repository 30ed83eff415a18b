"""Spatial-frequency bands of images and the spectral swap between images.

An image's 2-D Fourier coefficients split at a radius ``cutoff`` (in cycles
per image) into a coarse band (``radius < cutoff``, the mean included) and a
fine band (the rest). Two operations write parts of a donor image into a
recipient:

* :func:`band_swap`: one band, phase and amplitude, from the donor;
* :func:`spectral_swap`: everything but the coarse band's phase from the
  donor. The recipient keeps the layout of its coarse shape (where its mass
  lies at a resolution of about ``side / cutoff`` pixels); the donor brings
  the amplitudes of every frequency (brightness, contrast, fog, blur, noise
  power, a grating's energy) and the fine band whole (grain, blocks, edges,
  a patch's outline). This is what ``LADDebiaser(method="swap")`` applies.

:class:`SpectralSwap` does either to a batch with donors drawn from the
batch, as an augmentation module ``aug(x, generator)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["BAND_NAMES", "SpectralSwap", "band_mask", "band_swap", "spectral_swap"]

#: the two bands, by name
BAND_NAMES = ("coarse", "fine")


def band_mask(shape: tuple[int, int], cutoff: float, band: str = "fine",
              device: torch.device | str | None = None) -> Tensor:
    """Boolean mask ``(H, W // 2 + 1)`` of the ``band``'s coefficients in ``torch.fft.rfft2``'s layout.

    ``band="coarse"``: frequencies of radius below ``cutoff`` cycles per image
    (the image's mean included); ``"fine"``: the rest. The radius of
    coefficient ``(u, v)`` is ``sqrt(fy**2 + fx**2)`` with ``fy``, ``fx`` the
    signed frequencies in cycles per image along the rows and columns.
    """
    if band not in BAND_NAMES:
        raise ValueError(f"band={band!r} must be one of {BAND_NAMES}")
    h, w = shape
    fy = torch.fft.fftfreq(h, d=1.0 / h, device=device)
    fx = torch.fft.rfftfreq(w, d=1.0 / w, device=device)
    coarse = (fy[:, None] ** 2 + fx[None, :] ** 2) < cutoff ** 2
    return coarse if band == "coarse" else ~coarse


def _spectra(x: Tensor, donors: Tensor) -> tuple[Tensor, Tensor]:
    if x.shape != donors.shape:
        raise ValueError(f"donors of shape {tuple(donors.shape)} must match x's {tuple(x.shape)}")
    dtype = torch.promote_types(x.dtype, torch.float32)  # float64 stays float64
    return torch.fft.rfft2(x.to(dtype)), torch.fft.rfft2(donors.to(dtype))


def band_swap(x: Tensor, donors: Tensor, cutoff: float, band: str = "fine") -> Tensor:
    """``x`` with the ``band`` of ``donors`` (same shape ``(..., H, W)``) in place of its own.

    Both phase and amplitude of the band's coefficients come from the donor;
    the output is real, of ``x``'s dtype, not clipped.
    """
    fx, fd = _spectra(x, donors)
    mask = band_mask(tuple(x.shape[-2:]), cutoff, band, device=x.device)
    return torch.fft.irfft2(torch.where(mask, fd, fx), s=x.shape[-2:]).to(x.dtype)


def spectral_swap(x: Tensor, donors: Tensor, cutoff: float) -> Tensor:
    """The donor's spectrum with the phase of ``x``'s coarse band: ``(..., H, W)``, not clipped.

    Coarse band (radius < ``cutoff``): ``|F(donor)| * exp(i * angle(F(x)))``,
    except the mean, which is the donor's (its sign too, for images not
    >= 0); fine band: ``F(donor)``. ``cutoff=inf`` keeps every other phase
    of ``x`` (an amplitude swap); ``cutoff=0`` returns the donors.
    """
    fx, fd = _spectra(x, donors)
    fine = band_mask(tuple(x.shape[-2:]), cutoff, "fine", device=x.device)
    fine[0, 0] = True  # the mean: the donor's, as a brightness is
    coarse = torch.polar(fd.abs(), fx.angle())
    return torch.fft.irfft2(torch.where(fine, fd, coarse), s=x.shape[-2:]).to(x.dtype)


class SpectralSwap(nn.Module):
    """Swap spectra between the images of a batch: an augmentation ``aug(x, generator)``.

    The donors are a random permutation of the batch (drawn from
    ``generator``), so what is swapped becomes independent of each image's
    label; the output is clipped to ``[low, high]``.

    Parameters
    ----------
    cutoff : float
        Radius (cycles per image) between the coarse and the fine band.
    band : {"all", "coarse", "fine"}, default="all"
        ``"all"``: :func:`spectral_swap` (every amplitude and the fine band's
        phase from the donor); ``"coarse"`` / ``"fine"``: :func:`band_swap`
        of that band.
    low, high : float, default=0.0, 1.0
        Value range of the images.
    """

    def __init__(self, cutoff: float, band: str = "all", low: float = 0.0, high: float = 1.0) -> None:
        super().__init__()
        if band != "all":
            band_mask((2, 2), cutoff, band)  # validates band
        self.cutoff = cutoff
        self.band = band
        self.low = low
        self.high = high

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        device = generator.device if generator is not None else x.device
        donors = x[torch.randperm(len(x), generator=generator, device=device).to(x.device)]
        if self.band == "all":
            out = spectral_swap(x, donors, self.cutoff)
        else:
            out = band_swap(x, donors, self.cutoff, self.band)
        return out.clamp(self.low, self.high)
