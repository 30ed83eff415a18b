import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklproxy.nn import BACKBONES, ImageAugment, Standardize, VectorAugment, build_backbone, default_augment


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 12, 10)])
def test_named_backbones_map_to_features(name, shape):
    model = build_backbone(name, shape, width=8)
    out = model(torch.rand(3, *shape))
    assert out.shape == (3, model.out_features)


def test_auto_and_user_modules():
    assert isinstance(build_backbone("auto", (5,)), nn.Module)
    user = nn.Sequential(nn.Flatten(), nn.Linear(64, 7))
    model = build_backbone(user, (1, 8, 8))
    assert model.out_features == 7 and model is not user  # copied, never modified
    assert not hasattr(user, "out_features")


def test_bad_backbones():
    with pytest.raises(ValueError, match="backbone='nope'"):
        build_backbone("nope", (1, 8, 8))
    with pytest.raises(ValueError, match="needs images"):
        build_backbone("convnet", (64,))
    with pytest.raises(ValueError, match=r"\(batch, F\)"):
        build_backbone(nn.Identity(), (1, 8, 8))


def test_resnet_exposes_stages():
    model = build_backbone("resnet18", (1, 16, 16), width=4)
    assert len(model.stages) == 4 and model.stage_channels == [4, 8, 16, 32]


def test_standardize():
    X = torch.rand(100, 2, 4, 4) * 5 + 3
    out = Standardize.fit(X, per_channel=True)(X)
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-4, rtol=0)


def test_augment_is_seeded_and_batched():
    x = torch.rand(16, 1, 8, 8)
    aug = ImageAugment(hflip=0.5, cutout=0.25)
    a = aug(x, torch.Generator().manual_seed(3))
    b = aug(x, torch.Generator().manual_seed(3))
    c = aug(x, torch.Generator().manual_seed(4))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a[0], a[1] - x[1] + x[0])  # per-sample parameters


def test_grayscale_augment():
    """Luma for RGB, channel mean otherwise; grey with the given probability only."""
    identity = dict(translate=0.0, scale=(1.0, 1.0), degrees=0.0, jitter=0.0)
    x = torch.rand(400, 3, 4, 4)
    luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]               # slow reference
    out = ImageAugment(**identity, grayscale=1.0)(x, torch.Generator().manual_seed(0))
    for ch in range(3):
        torch.testing.assert_close(out[:, ch], luma, atol=1e-5, rtol=0)
    x4 = torch.rand(8, 4, 4, 4)
    out4 = ImageAugment(**identity, grayscale=1.0)(x4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out4, x4.mean(dim=1, keepdim=True).expand_as(x4), atol=1e-5, rtol=0)
    half = ImageAugment(**identity, grayscale=0.5)(x, torch.Generator().manual_seed(0))
    grey = (half == out).flatten(1).all(dim=1)
    kept = (half - x).abs().flatten(1).amax(dim=1) < 1e-5
    assert bool((grey ^ kept).all())                    # each image: all grey or untouched
    assert 150 < int(grey.sum()) < 250                  # about half of 400
    # grey images, and grayscale=0, draw nothing: the other draws stay as they were
    x1 = torch.rand(16, 1, 8, 8)
    for p in (0.0, 0.5):
        a = ImageAugment(hflip=0.5, grayscale=p)(x1, torch.Generator().manual_seed(3))
        b = ImageAugment(hflip=0.5)(x1, torch.Generator().manual_seed(3))
        assert torch.equal(a, b)


def test_vector_augment_and_default():
    X = torch.randn(50, 6) * torch.arange(1, 7)
    aug = default_augment(X)
    assert isinstance(aug, VectorAugment)
    out = aug(X, torch.Generator().manual_seed(0))
    assert out.shape == X.shape and not torch.equal(out, X)
    assert isinstance(default_augment(torch.rand(4, 1, 8, 8)), ImageAugment)



def test_augment_padding_mode():
    """``padding_mode`` only changes the pixels sampled from outside the image.

    "zeros" is the default and leaves output and random stream exactly as
    before the parameter existed (checked against a slow per-image reference
    that redraws the parameters in the same order and warps with zeros);
    "border" fills a shifted uniform background with its own colour.
    """
    x = torch.rand(32, 3, 8, 8)
    kw = dict(hflip=0.5, jitter=0.2, grayscale=0.5, cutout=0.25)
    outs, states = {}, {}
    for mode in ("zeros", "border", "reflection"):
        gen = torch.Generator().manual_seed(5)
        outs[mode] = ImageAugment(**kw, padding_mode=mode)(x, gen)
        states[mode] = gen.get_state()
    gen = torch.Generator().manual_seed(5)
    assert torch.equal(ImageAugment(**kw)(x, gen), outs["zeros"])          # the default
    assert all(torch.equal(states["zeros"], s) for s in states.values())  # same draws
    assert not torch.equal(outs["zeros"], outs["border"])

    # slow reference of the geometry as it was: same draws, same order, zeros
    gen = torch.Generator().manual_seed(5)
    out = ImageAugment(hflip=0.5, jitter=0.0)(x, gen)
    gen = torch.Generator().manual_seed(5)
    n = len(x)
    angle = (torch.rand(n, generator=gen) * 20.0 - 10.0) * (math.pi / 180)
    zoom = torch.rand(n, generator=gen) * 0.2 + 0.9
    shift = (torch.rand(2 * n, generator=gen) * 0.4 - 0.2).view(n, 2)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    for i in range(n):
        c, s = math.cos(angle[i]) / zoom[i], math.sin(angle[i]) / zoom[i]
        theta = torch.tensor([[[c * flip[i], -s, shift[i, 0]], [s * flip[i], c, shift[i, 1]]]])
        grid = F.affine_grid(theta, [1, 3, 8, 8], align_corners=False)
        ref = F.grid_sample(x[i : i + 1], grid, padding_mode="zeros", align_corners=False)
        torch.testing.assert_close(out[i : i + 1], ref, atol=1e-6, rtol=0)

    # a uniform background shifted: border keeps its colour, zeros paints black
    bg = torch.full((4, 3, 8, 8), 0.6)
    shift_only = dict(translate=0.3, scale=(1.0, 1.0), degrees=0.0, jitter=0.0)
    zero = ImageAugment(**shift_only)(bg, torch.Generator().manual_seed(0))
    edge = ImageAugment(**shift_only, padding_mode="border")(bg, torch.Generator().manual_seed(0))
    torch.testing.assert_close(edge, bg)
    assert float(zero.amin()) < 0.3
    with pytest.raises(ValueError, match="padding_mode='wrap'"):
        ImageAugment(padding_mode="wrap")
