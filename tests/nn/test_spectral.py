"""Spectral bands and swaps against a slow reference written from the formula (numpy FFT)."""

import numpy as np
import pytest
import torch

from sklproxy.nn.spectral import SpectralSwap, band_mask, band_swap, spectral_swap


def reference_radius(h, w):
    """Radius in cycles per image of every coefficient of the full 2-D DFT, loop by loop."""
    r = np.zeros((h, w))
    for u in range(h):
        for v in range(w):
            fy = u if u <= h // 2 else u - h
            fx = v if v <= w // 2 else v - w
            r[u, v] = np.hypot(fy, fx)
    return r


def reference_spectral_swap(x, d, cutoff):
    """Full-DFT version: coarse band |D| e^{i angle X}, fine band D (x, d: (H, W))."""
    X, D = np.fft.fft2(x), np.fft.fft2(d)
    coarse = reference_radius(*x.shape) < cutoff
    coarse[0, 0] = False  # the mean is the donor's
    out = np.where(coarse, np.abs(D) * np.exp(1j * np.angle(X)), D)
    return np.fft.ifft2(out).real


def reference_band_swap(x, d, cutoff, band):
    X, D = np.fft.fft2(x), np.fft.fft2(d)
    coarse = reference_radius(*x.shape) < cutoff
    take = coarse if band == "coarse" else ~coarse
    return np.fft.ifft2(np.where(take, D, X)).real


@pytest.mark.parametrize("shape", [(8, 8), (7, 10), (28, 28)])
def test_band_mask_matches_the_radius_of_every_coefficient(shape):
    h, w = shape
    coarse = band_mask(shape, 3.0, "coarse").numpy()
    assert coarse.shape == (h, w // 2 + 1)
    np.testing.assert_array_equal(coarse, reference_radius(h, w)[:, : w // 2 + 1] < 3.0)
    np.testing.assert_array_equal(band_mask(shape, 3.0, "fine").numpy(), ~coarse)
    assert coarse[0, 0]  # the mean is coarse


@pytest.mark.parametrize("shape", [(8, 8), (7, 10), (28, 28)])
@pytest.mark.parametrize("cutoff", [1.0, 2.5, 4.0])
def test_swaps_match_the_reference(shape, cutoff):
    rng = np.random.default_rng(0)
    x, d = rng.random((2, *shape)), rng.random((2, *shape))
    got = spectral_swap(torch.from_numpy(x), torch.from_numpy(d), cutoff).numpy()
    for i in range(2):
        np.testing.assert_allclose(got[i], reference_spectral_swap(x[i], d[i], cutoff), atol=1e-10)
    for band in ("coarse", "fine"):
        got = band_swap(torch.from_numpy(x), torch.from_numpy(d), cutoff, band).numpy()
        np.testing.assert_allclose(got[0], reference_band_swap(x[0], d[0], cutoff, band), atol=1e-10)


def test_limits_of_the_spectral_swap():
    rng = np.random.default_rng(1)
    x, d = (torch.from_numpy(rng.random((3, 1, 12, 12))) for _ in range(2))
    torch.testing.assert_close(spectral_swap(x, d, 0.0), d)          # no coarse band: the donor
    amp = spectral_swap(x, d, float("inf"))                            # every phase of x
    torch.testing.assert_close(torch.fft.rfft2(amp).abs(), torch.fft.rfft2(d).abs())
    centred = spectral_swap(x - 0.5, d + 0.5, 2.0)                     # the mean is the donor's
    torch.testing.assert_close(centred.mean(dim=(-2, -1)), (d + 0.5).mean(dim=(-2, -1)))
    torch.testing.assert_close(spectral_swap(x, x, 4.0), x)            # a self-swap is the identity
    assert spectral_swap(x.float(), d.float(), 4.0).dtype == torch.float32


def test_a_texture_moves_with_the_donor_and_the_coarse_layout_stays():
    """A fine grating of the donor appears in the output; the recipient's blob stays where it was."""
    yy, xx = np.mgrid[:28, :28]
    blob = np.exp(-((yy - 8) ** 2 + (xx - 8) ** 2) / 30.0)             # recipient: mass top-left
    other = np.exp(-((yy - 20) ** 2 + (xx - 20) ** 2) / 30.0)          # donor's mass bottom-right
    grating = 0.2 * np.cos(2 * np.pi * xx / 4)                         # 7 cycles: fine
    out = spectral_swap(torch.from_numpy(blob[None]), torch.from_numpy((other + grating)[None]), 4.0)[0].numpy()
    assert np.unravel_index(np.argmax(out), out.shape)[0] < 14          # layout of the recipient
    power = np.abs(np.fft.rfft2(out))
    assert power[0, 7] > 0.5 * np.abs(np.fft.rfft2(grating))[0, 7]      # the donor's grating


def test_module_draws_donors_from_the_generator_and_clips():
    x = torch.rand(16, 3, 10, 10)
    swap = SpectralSwap(3.0)
    a = swap(x, torch.Generator().manual_seed(0))
    b = swap(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)
    assert a.min() >= 0 and a.max() <= 1
    assert not torch.allclose(a, swap(x, torch.Generator().manual_seed(1)))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="band="):
        band_mask((4, 4), 2.0, "middle")
    with pytest.raises(ValueError, match="band="):
        SpectralSwap(2.0, band="middle")
    with pytest.raises(ValueError, match="donors of shape"):
        spectral_swap(torch.zeros(2, 4, 4), torch.zeros(2, 4, 5), 2.0)
