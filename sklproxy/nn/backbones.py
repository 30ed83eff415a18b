"""Feature extractors: MLP, a small CNN and CIFAR-style ResNets, by name.

Every backbone maps ``(B, *input_shape)`` to ``(B, out_features)`` and carries
``out_features``. Every named backbone also exposes its parts so that heads
can branch off early stages (DHOG's hierarchy): ``stem``, ``stages`` and
``stage_channels``, with ``forward(x) == pool(stages[-1](...stages[0](stem(x))))``
(``pool``: global average pooling of feature maps, identity on vectors).
ResNets hold them as attributes; the MLP and the ConvNet build them as views
on their existing layers (shared modules, the state dict and the forward
pass are unchanged). Names resolve through :data:`BACKBONES`; a user module
is used as is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "BACKBONES",
    "ConvNet",
    "LeNet",
    "MLP",
    "ResNet",
    "Standardize",
    "build_backbone",
    "resolve_backbone_name",
]


class Standardize(nn.Module):
    """``(x - mean) / std`` with buffers fitted on the training data.

    Keeps the model self-contained: raw inputs go in, whatever their scale
    (data multiplied by ``1e-8`` or ``1e8`` are standardised alike). A
    channel or feature that is constant on the training data (its std is 0,
    or below ``1e-6`` of its mean's magnitude: rounding noise) is only
    centred (its std is taken as 1).
    """

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        mean, std = mean.detach().clone().float(), std.detach().clone().float()
        constant = ~(std > 1e-6 * mean.abs())
        self.register_buffer("mean", mean)
        self.register_buffer("std", torch.where(constant, torch.ones_like(std), std))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    @classmethod
    def fit(cls, X: Tensor, per_channel: bool) -> Standardize:
        """Per-channel statistics for images ``(N, C, H, W)``, per-feature for vectors."""
        X = X.float()
        if per_channel and X.ndim == 4:
            mean = X.mean(dim=(0, 2, 3)).view(1, -1, 1, 1)
            std = X.std(dim=(0, 2, 3)).view(1, -1, 1, 1)
        else:
            mean = X.mean(dim=0, keepdim=True)
            std = X.std(dim=0, keepdim=True) if len(X) > 1 else torch.ones_like(mean)
        return cls(mean, torch.nan_to_num(std, nan=1.0))


class MLP(nn.Module):
    """Fully connected ReLU network on flattened input."""

    def __init__(self, in_features: int, hidden: Sequence[int] = (512, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
            width = h
        self.net = nn.Sequential(*layers)
        self.out_features = width
        self.stage_channels = list(hidden)

    @property
    def stem(self) -> nn.Module:
        return self.net[0]                                  # Flatten

    @property
    def stages(self) -> list[nn.Module]:
        """One ``Linear -> ReLU`` stage per hidden layer (the layers of ``net``, shared)."""
        return [nn.Sequential(*self.net[1 + 2 * i : 3 + 2 * i])
                for i in range(len(self.stage_channels))]

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _conv_bn(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class ConvNet(nn.Module):
    """Three conv-BN-ReLU blocks and global average pooling; small and fast.

    Parameters
    ----------
    in_channels : int
        Channels of the input images.
    width : int, default=32
        Channels of the first block (the next two have 2x and 4x).
    first_stride : int, default=1
        Stride of the first block. With 1 the last block's units see 9x9
        pixels, enough for 8x8 images; ``build_backbone("convnet", ...)``
        uses 2 for images of 16 px or more (28x28: 14x14, 7x7, 4x4 maps,
        units seeing 15x15 pixels), a third to a half of the CPU time per
        image (the methods page, *DHOG*, gives what it changes).
    """

    def __init__(self, in_channels: int, width: int = 32, first_stride: int = 1) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *_conv_bn(in_channels, width, stride=first_stride),
            *_conv_bn(width, 2 * width, stride=2),
            *_conv_bn(2 * width, 4 * width, stride=2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.out_features = 4 * width
        self.stage_channels = [width, 2 * width, 4 * width]

    @property
    def stem(self) -> nn.Module:
        return nn.Identity()

    @property
    def stages(self) -> list[nn.Module]:
        """The three conv-BN-ReLU blocks (the layers of ``net``, shared)."""
        return [nn.Sequential(*self.net[3 * i : 3 * i + 3]) for i in range(3)]

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class LeNet(nn.Module):
    """LeNet-5-style CNN with batch norm: two 5x5 conv-BN-ReLU-max-pool blocks, one hidden layer.

    Unlike :class:`ConvNet` it keeps the spatial layout up to the hidden layer
    (no global pooling), which is what small digit images need when the
    background varies (the methods page, *LAD*, compares the two).
    """

    def __init__(self, input_shape: Sequence[int], width: int = 16, hidden: int = 128) -> None:
        super().__init__()
        c, h, w = input_shape
        self.net = nn.Sequential(
            nn.Conv2d(c, width, 5, padding=2), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 5, padding=2), nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(2 * width * (h // 4) * (w // 4), hidden), nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
        )
        self.out_features = hidden

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class BasicBlock(nn.Module):
    """The two-conv residual block of ResNet-18/20/34."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR-style ResNet (3x3 stem, no max-pool) for small images, any channel count.

    Parameters
    ----------
    in_channels : int
    blocks : sequence of int
        Residual blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
    widths : sequence of int
        Channels per stage; stage ``i > 0`` halves the resolution.
    """

    def __init__(self, in_channels: int, blocks: Sequence[int], widths: Sequence[int]) -> None:
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(in_channels, widths[0]))
        stages = []
        cin = widths[0]
        for i, (n_blocks, cout) in enumerate(zip(blocks, widths)):
            layers = [BasicBlock(cin, cout, 1 if i == 0 else 2)]
            layers += [BasicBlock(cout, cout, 1) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*layers))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.stage_channels = list(widths)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_features = widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.pool(x)


def _resnet(blocks: Sequence[int], widths: Sequence[int]) -> Callable[..., ResNet]:
    def build(input_shape: Sequence[int], width: int | None = None) -> ResNet:
        scale = 1.0 if width is None else width / widths[0]
        return ResNet(input_shape[0], blocks, [max(1, round(w * scale)) for w in widths])
    return build


#: From this image side on, ``"convnet"`` strides its first block and ``"auto"`` picks the
#: large backbone on a GPU.
LARGE_IMAGE_SIDE = 16

#: name -> builder ``(input_shape, width=None) -> nn.Module``
BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "mlp": lambda input_shape, width=None: MLP(
        int(torch.tensor(input_shape).prod()),
        (512, 256) if width is None else (2 * width, width),
    ),
    "convnet": lambda input_shape, width=None: ConvNet(
        input_shape[0], width or 32, first_stride=2 if min(input_shape[1:]) >= LARGE_IMAGE_SIDE else 1
    ),
    "lenet": lambda input_shape, width=None: LeNet(input_shape, width or 16),
    "resnet18": _resnet((2, 2, 2, 2), (64, 128, 256, 512)),
    "resnet20": _resnet((3, 3, 3), (16, 32, 64)),
    "resnet34": _resnet((3, 4, 6, 3), (64, 128, 256, 512)),
}


#: The smallest image side each named backbone takes (1 where not listed).
MIN_IMAGE_SIDE: dict[str, int] = {"lenet": 4}


def resolve_backbone_name(backbone: str | nn.Module, input_shape: Sequence[int],
                          device: torch.device | str | None = None, *,
                          large: str = "resnet18", small: str = "convnet") -> str | nn.Module:
    """The backbone ``"auto"`` stands for, by input and device; names and modules pass through.

    Vectors: ``"mlp"``. Images on a GPU (any device but the CPU): ``small``
    below 16 px, ``large`` from 16 px. Images on the CPU (or ``device=None``
    meaning the CPU): ``small`` at every size, so that default fits stay
    minutes long on a laptop; the ResNets are for GPUs. (ImageClassifier
    asks for ``large="resnet20"``, ``small="lenet"`` on the CPU.)

    Examples
    --------
    >>> resolve_backbone_name("auto", (1, 28, 28), "cpu"), resolve_backbone_name("auto", (64,))
    ('convnet', 'mlp')
    """
    if not isinstance(backbone, str) or backbone != "auto":
        return backbone
    if len(input_shape) == 1:
        return "mlp"
    on_cpu = device is None or torch.device(device).type == "cpu"
    return small if on_cpu or min(input_shape[1:]) < LARGE_IMAGE_SIDE else large


def build_backbone(
    backbone: str | nn.Module, input_shape: Sequence[int], width: int | None = None
) -> nn.Module:
    """Instantiate a backbone by name, or deep-copy a user module.

    A user module must map ``(B, *input_shape)`` to ``(B, F)``; its
    ``out_features`` is read from the attribute or found by a dry run.
    """
    backbone = resolve_backbone_name(backbone, input_shape)  # "auto" here: as on the CPU
    if isinstance(backbone, nn.Module):
        module = copy.deepcopy(backbone)
        if not hasattr(module, "out_features") or not isinstance(module.out_features, int):
            was_training = module.training
            module.eval()
            try:
                with torch.no_grad():
                    probe = module(torch.zeros(2, *input_shape))
            except RuntimeError as exc:
                raise ValueError(
                    f"the backbone module fails on input of shape (2, {', '.join(map(str, input_shape))}) "
                    f"({exc}); it must map (B, *input_shape) to (B, F) for this data."
                ) from exc
            module.train(was_training)
            if probe.ndim != 2:
                raise ValueError(
                    "backbone module must return features of shape (batch, F); it "
                    f"returned shape {tuple(probe.shape)} for input {tuple(input_shape)}."
                )
            module.out_features = int(probe.shape[1])
        return module
    if backbone not in BACKBONES:
        raise ValueError(
            f"backbone={backbone!r} is unknown; use one of {sorted(BACKBONES)} or "
            "'auto', or pass a torch.nn.Module mapping (B, *input_shape) to (B, F)."
        )
    if backbone != "mlp" and len(input_shape) != 3:
        raise ValueError(
            f"backbone={backbone!r} needs images but X holds vectors of "
            f"{input_shape[0]} features; pass 3-D/4-D X or image_shape=(C, H, W), "
            "or use backbone='mlp'."
        )
    side = MIN_IMAGE_SIDE.get(backbone, 1)
    if len(input_shape) == 3 and min(input_shape[1:]) < side:
        fits = sorted(n for n in BACKBONES if n != "mlp" and MIN_IMAGE_SIDE.get(n, 1)
                      <= min(input_shape[1:]))
        raise ValueError(
            f"backbone={backbone!r} needs images of at least {side}x{side} pixels (its "
            f"max-pooling halves them twice); got {input_shape[1]}x{input_shape[2]}. Use one "
            f"of {fits}, or larger images."
        )
    return BACKBONES[backbone](input_shape, width)
