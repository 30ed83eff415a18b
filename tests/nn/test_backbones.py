"""Backbones: named architectures, user modules, stages, standardisation."""


import pytest
import torch
from torch import nn

from sklproxy.nn import BACKBONES, Standardize, build_backbone


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


# ---------------------------------------------------------------------------
# Stages of every named backbone (DHOG's heads branch off them)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name,shape", [("mlp", (12,)), ("convnet", (1, 8, 8)),
                                        ("resnet20", (3, 8, 8)), ("resnet18", (1, 16, 16))])
def test_stages_compose_to_the_forward_pass(name, shape):
    """``pool(stages[-1](... stages[0](stem(x))))`` is exactly ``forward(x)``; the state
    dict is the one the forward pass always had (the stages share its modules)."""
    model = build_backbone(name, shape, width=4).eval()
    x = torch.randn(5, *shape)
    h = model.stem(x)
    for stage in model.stages:
        h = stage(h)
    h = h if h.ndim == 2 else h.mean(dim=(2, 3))
    torch.testing.assert_close(h, model(x), atol=1e-6, rtol=1e-5)
    assert len(model.stages) == len(model.stage_channels)
    stage_params = {id(p) for st in model.stages for p in st.parameters()}
    assert stage_params <= {id(p) for p in model.parameters()}
    if name == "convnet":
        assert list(model.state_dict())[:3] == ["net.0.weight", "net.1.weight", "net.1.bias"]
        assert model.stage_channels == [4, 8, 16]



def test_auto_backbone_by_device_and_size():
    from sklproxy.nn import resolve_backbone_name

    assert resolve_backbone_name("auto", (12,), "cuda") == "mlp"
    for device in ("cpu", None):  # the CPU: the small network at every size
        assert resolve_backbone_name("auto", (1, 8, 8), device) == "convnet"
        assert resolve_backbone_name("auto", (3, 32, 32), device) == "convnet"
    assert resolve_backbone_name("auto", (1, 8, 8), "cuda") == "convnet"
    assert resolve_backbone_name("auto", (3, 32, 32), "cuda") == "resnet18"
    assert resolve_backbone_name("auto", (3, 32, 32), "cuda", large="resnet20") == "resnet20"
    assert resolve_backbone_name("lenet", (3, 32, 32), "cuda") == "lenet"


def test_image_size_checked_against_each_backbone():
    with pytest.raises(ValueError, match=r"backbone='lenet' needs images of at least 4x4 pixels.*"
                                         r"got 2x3\. Use one of \['convnet', 'resnet18'"):
        build_backbone("lenet", (1, 2, 3))
    for name in sorted(BACKBONES):  # every other size the checks admit runs
        if name == "mlp":
            continue
        side = 4 if name == "lenet" else 1
        build_backbone(name, (1, side, side)).eval()(torch.zeros(2, 1, side, side))


def test_a_failing_user_module_is_a_clear_error():
    with pytest.raises(ValueError, match=r"the backbone module fails on input of shape \(2, 5\)"):
        build_backbone(nn.Sequential(nn.Linear(3, 4)), (5,))


def test_standardize_is_scale_free():
    X = torch.randn(200, 3, 4, 4) * torch.tensor([1.0, 5.0, 0.1]).view(1, 3, 1, 1)
    for scale in (1e-8, 1.0, 1e8):
        out = Standardize.fit(X * scale, per_channel=True)(X * scale)
        torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
        torch.testing.assert_close(out.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4, rtol=0)
    const = Standardize.fit(torch.full((10, 2), 3.0), per_channel=False)
    torch.testing.assert_close(const(torch.full((1, 2), 4.0)), torch.ones(1, 2))  # only centred


@pytest.mark.parametrize("side, stride, last_map", [(8, 1, 2), (15, 1, 4), (16, 2, 2), (28, 2, 4)])
def test_convnet_strides_its_first_block_from_16_px(side, stride, last_map):
    net = build_backbone("convnet", (1, side, side), width=4)
    assert net.net[0].stride == (stride, stride)
    last = net.stages[-1](net.stages[1](net.stages[0](torch.zeros(2, 1, side, side))))
    assert last.shape == (2, 16, last_map, last_map)
    assert net(torch.zeros(2, 1, side, side)).shape == (2, net.out_features)
