"""DHOG's views: AutoAugment-style operations drawn as a policy, random resized square crops
and colour scrambling (:class:`ViewPolicy`), with the colour and grey policies."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import _ops as ops
from ._basic import ImageAugment, default_augment

# ------------------------------------------------------------- the policy
#: Operation name -> kind. Magnitudes: see :class:`ViewPolicy`.
OPERATIONS: dict[str, str] = {
    "auto_contrast": "photometric",
    "equalize": "photometric",
    "invert": "photometric",
    "solarize": "photometric",
    "posterize": "photometric",
    "saturation": "photometric",
    "brightness": "photometric",
    "contrast": "photometric",
    "sharpness": "photometric",
    "rotate": "geometric",
    "shear_x": "geometric",
    "shear_y": "geometric",
    "translate_x": "geometric",
    "translate_y": "geometric",
}

#: AutoAugment's CIFAR-10 operations (without cut-out): the thesis's policy.
AUTOAUGMENT_OPERATIONS = tuple(OPERATIONS)
#: The default operations, grey and colour: brightness and contrast (the other
#: AutoAugment operations are available by name; the methods page, *DHOG*,
#: says what they cost on small images).
GREY_OPERATIONS = ("brightness", "contrast")
#: The colour policy's operations (colour is scrambled by channel order and grey).
COLOUR_OPERATIONS = GREY_OPERATIONS


def _photometric(name: str, x: Tensor, m: Tensor, sign: Tensor) -> Tensor:
    """Apply operation ``name`` with magnitude ``m`` in [0, 1] and sign +-1, per image."""
    if name == "auto_contrast":
        return ops.auto_contrast(x)
    if name == "equalize":
        return ops.equalize(x)
    if name == "invert":
        return ops.invert(x)
    if name == "solarize":
        return ops.solarize(x, 1.0 - m)                      # threshold 1 (no-op) .. 0 (invert)
    if name == "posterize":
        return ops.posterize(x, 8 - torch.round(4 * m))      # 8 (no-op) .. 4 bits
    factor = 1.0 + 0.9 * m * sign                        # 0.1 .. 1.9, as AutoAugment
    return {"saturation": ops.adjust_saturation, "brightness": ops.adjust_brightness,
            "contrast": ops.adjust_contrast, "sharpness": ops.adjust_sharpness}[name](x, factor)


def _geometric(names: tuple[str, ...], op_idx: Tensor, use: Tensor, m: Tensor, sign: Tensor,
               degrees: float, shear: float, translate: float) -> Tensor:
    """``(N, 3, 3)`` matrix (output -> input, normalised coordinates) of one slot's draws.

    ``op_idx`` (N,) indexes ``names``; images whose draw is photometric or not
    applied (``use`` False) get the identity. One rotation, shear or
    translation per image and slot, so the matrix is built in one go:
    ``translate @ rotate @ shear``, each factor the identity where not drawn.
    """
    n = len(m)
    v = m * sign * use
    pick = lambda name: (op_idx == names.index(name)).to(v.dtype) if name in names else v * 0  # noqa: E731
    angle = v * pick("rotate") * (degrees * math.pi / 180)
    sx, sy = v * pick("shear_x") * shear, v * pick("shear_y") * shear
    tx, ty = 2 * translate * v * pick("translate_x"), 2 * translate * v * pick("translate_y")
    cos, sin = torch.cos(angle), torch.sin(angle)
    # rotate @ shear with shear = [[1, sx], [sy, 1]] (only one of sx, sy is non-zero)
    mat = torch.zeros(n, 3, 3, device=m.device)
    mat[:, 0, 0], mat[:, 0, 1] = cos - sin * sy, cos * sx - sin
    mat[:, 1, 0], mat[:, 1, 1] = sin + cos * sy, sin * sx + cos
    mat[:, 0, 2], mat[:, 1, 2], mat[:, 2, 2] = tx, ty, 1.0
    return mat


def _apply_to(mask: Tensor, x: Tensor, fn, *args: Tensor) -> Tensor:
    """``fn`` applied to the images where ``mask`` (N,) holds, the others unchanged.

    On CUDA the operation runs on the whole batch and ``torch.where`` picks
    (no host synchronisation); elsewhere only the selected images are computed.
    """
    if x.is_cuda:
        return torch.where(mask.view(-1, 1, 1, 1), fn(x, *args), x)
    idx = mask.nonzero().squeeze(1)
    if idx.numel() == 0:
        return x
    return x.index_copy(0, idx, fn(x[idx], *(a[idx] for a in args)))


class ViewPolicy(nn.Module):
    """DHOG's views: AutoAugment-style operations, random resized crops and colour scrambling.

    Each call draws, per image and in this order: a random square crop
    (side ``crop_scale`` of the image side, resized back; it may reach
    ``crop_pad`` of the side beyond the image, and a side above 1 zooms
    out), a rotation uniform in ``+-rotation`` degrees, an optional flip,
    ``n_ops`` operations from ``operations`` (each applied with probability
    ``p`` at a magnitude uniform in ``[0, magnitude]`` with a random sign),
    and for colour images a random channel order, a random hue rotation and
    grey-scale with probability ``grayscale``. The geometry (crop, flip,
    rotate, shear, translate) is composed into one affine warp, done first,
    in one ``grid_sample`` that fills with ``padding_mode`` ("border": the edge
    colour, so a shift never paints a black frame that views could agree
    on); the photometric operations follow in the drawn order.

    Magnitudes at ``m = 1`` (AutoAugment's ranges where it has one):
    solarize threshold 0 (from 1 at ``m = 0``), posterize 4 bits (from 8),
    saturation / brightness / contrast / sharpness factors ``1 +- 0.9``,
    rotation ``+-degrees``, shear ``+-shear``, translation ``+-translate``
    of the side. auto_contrast, equalize and invert have no magnitude.

    The operations work on values in [0, 1]: images are mapped there from
    ``value_range`` and back afterwards (so raw 0..16 digits or 0..255
    pixels work); ``value_range=None`` takes the batch's minimum and maximum.
    All randomness comes from the ``generator`` passed to ``forward``, and
    the number of draws does not depend on the pixel values, so a seeded
    fit is reproducible. Geometry is in normalised coordinates (exact for
    square images).

    Parameters
    ----------
    operations : sequence of str, default=GREY_OPERATIONS
        Names from :data:`OPERATIONS` (:data:`AUTOAUGMENT_OPERATIONS`: all of
        AutoAugment's CIFAR-10 set, the thesis's policy).
    n_ops : int, default=2
        Operations drawn per image (AutoAugment's sub-policies have 2).
    p : float, default=1.0
        Probability of applying each drawn operation.
    magnitude : float in [0, 1], default=0.22
        Largest magnitude (each draw is uniform in ``[0, magnitude]``; 0.22
        gives brightness/contrast factors within ``1 +- 0.2``).
    degrees, shear, translate : float, default=30, 0.3, 0.2
        Ranges of the geometric operations at magnitude 1.
    crop_scale : (float, float), default=(0.87, 1.18)
        Range of the crop side as a fraction of the image side (1: no crop;
        above 1: the crop is larger than the image, a zoom out).
    crop_pad : float, default=0.15
        How far (fraction of the side) a crop may reach beyond each edge of
        the image; the outside is filled by ``padding_mode``. With side ``s``
        the crop's centre is uniform within ``+-max(0, 1 + 2 crop_pad - s)``
        in normalised coordinates (the image spans ``[-1, 1]``).
    rotation : float, default=15.0
        Largest rotation (degrees) of every view's crop, besides the policy's
        occasional ``rotate`` operation.
    hflip : float, default=0.0
        Probability of a horizontal flip.
    channel_shuffle : float, default=0.0
        Probability (colour images) of a uniformly random channel order.
    hue : float, default=0.0
        Largest hue rotation as a fraction of a full turn (0.5: any hue).
    grayscale : float, default=0.0
        Probability (colour images) of turning the view grey.
    padding_mode : {"border", "zeros", "reflection"}, default="border"
    value_range : (float, float) or None, default=None

    Examples
    --------
    >>> import torch
    >>> views = ViewPolicy(**colour_policy())
    >>> x = torch.rand(4, 3, 8, 8)
    >>> views(x, torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3, 8, 8])
    """

    def __init__(
        self,
        operations: tuple[str, ...] | list[str] = GREY_OPERATIONS,
        n_ops: int = 2,
        p: float = 1.0,
        magnitude: float = 0.22,
        degrees: float = 30.0,
        shear: float = 0.3,
        translate: float = 0.2,
        crop_scale: tuple[float, float] = (0.87, 1.18),
        crop_pad: float = 0.15,
        rotation: float = 15.0,
        hflip: float = 0.0,
        channel_shuffle: float = 0.0,
        hue: float = 0.0,
        grayscale: float = 0.0,
        padding_mode: str = "border",
        value_range: tuple[float, float] | None = None,
    ) -> None:
        super().__init__()
        unknown = [op for op in operations if op not in OPERATIONS]
        if unknown:
            raise ValueError(f"operations={list(operations)!r} holds unknown names {unknown}; "
                             f"use names from {sorted(OPERATIONS)}.")
        if not 0 < crop_scale[0] <= crop_scale[1] <= 2:
            raise ValueError(f"crop_scale={crop_scale!r} must satisfy 0 < low <= high <= 2.")
        if crop_pad < 0:
            raise ValueError(f"crop_pad={crop_pad!r} must be >= 0.")
        if padding_mode not in ImageAugment._PADDING_MODES:
            raise ValueError(f"padding_mode={padding_mode!r} is not supported; use 'border', "
                             "'zeros' or 'reflection'.")
        self.operations = tuple(operations)
        self.n_ops = n_ops
        self.p = p
        self.magnitude = magnitude
        self.degrees = degrees
        self.shear = shear
        self.translate = translate
        self.crop_scale = tuple(crop_scale)
        self.crop_pad = crop_pad
        self.rotation = rotation
        self.hflip = hflip
        self.channel_shuffle = channel_shuffle
        self.hue = hue
        self.grayscale = grayscale
        self.padding_mode = padding_mode
        self.value_range = None if value_range is None else tuple(float(v) for v in value_range)

    def extra_repr(self) -> str:
        return (f"operations={self.operations}, n_ops={self.n_ops}, p={self.p}, "
                f"magnitude={self.magnitude}, crop_scale={self.crop_scale}, "
                f"crop_pad={self.crop_pad}, rotation={self.rotation}, "
                f"channel_shuffle={self.channel_shuffle}, hue={self.hue}, "
                f"grayscale={self.grayscale}, padding_mode={self.padding_mode!r}")

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        n, c, h, w = x.shape
        dev = x.device
        rand = lambda *shape: torch.rand(*shape, generator=generator, device=dev)  # noqa: E731
        # ---- every draw, in a fixed order, independent of the pixel values
        side = rand(n) * (self.crop_scale[1] - self.crop_scale[0]) + self.crop_scale[0]
        reach = (1 + 2 * self.crop_pad - side).clamp_min(0).unsqueeze(1)    # (N, 1)
        centre = (rand(n, 2) * 2 - 1) * reach
        angle = (rand(n) * 2 - 1) * (self.rotation * math.pi / 180)
        flip = rand(n) < self.hflip
        n_kinds = max(1, len(self.operations))
        op_idx = (rand(self.n_ops, n) * n_kinds).long().clamp(max=n_kinds - 1)  # (K, N)
        apply = rand(self.n_ops, n) < self.p
        mags = rand(self.n_ops, n) * self.magnitude
        signs = torch.where(rand(self.n_ops, n) < 0.5, -1.0, 1.0)
        colour = c == 3
        if colour:
            shuffle = rand(n) < self.channel_shuffle
            order = torch.where(shuffle.unsqueeze(1), rand(n, 3).argsort(dim=1),
                                torch.arange(3, device=dev).expand(n, 3))
            hue_angle = (rand(n) * 2 - 1) * (2 * math.pi * self.hue)
            grey = rand(n) < self.grayscale
        # ---- to [0, 1]
        lo, hi = self.value_range if self.value_range is not None else (
            float(x.min()), float(x.max()))
        scale = hi - lo if hi > lo else 1.0
        u = (x.float() - lo) / scale
        # ---- geometry: crop, flip and the drawn geometric operations, one warp
        # crop: input = centre + side * rotation @ flip @ output              (N, 3, 3)
        cos, sin = torch.cos(angle) * side, torch.sin(angle) * side
        sign = torch.where(flip, -1.0, 1.0)
        mat = torch.zeros(n, 3, 3, device=dev)
        mat[:, 0, 0], mat[:, 0, 1] = cos * sign, -sin
        mat[:, 1, 0], mat[:, 1, 1] = sin * sign, cos
        mat[:, :2, 2] = centre
        mat[:, 2, 2] = 1.0
        if any(OPERATIONS[name] == "geometric" for name in self.operations):
            for k in range(self.n_ops):
                mat = mat @ _geometric(self.operations, op_idx[k], apply[k], mags[k], signs[k],
                                       self.degrees, self.shear, self.translate)
        if not self._is_identity(mat):
            grid = F.affine_grid(mat[:, :2], [n, c, h, w], align_corners=False)
            u = F.grid_sample(u, grid, mode="bilinear", padding_mode=self.padding_mode,
                              align_corners=False)
        # ---- photometric operations, in the drawn order
        for k in range(self.n_ops):
            for j, name in enumerate(self.operations):
                if OPERATIONS[name] == "photometric":
                    u = _apply_to((op_idx[k] == j) & apply[k], u,
                                  functools.partial(_photometric, name), mags[k], signs[k])
        # ---- colour scrambling
        if colour:
            if self.channel_shuffle > 0:
                u = ops.permute_channels(u, order)
            if self.hue > 0:
                u = ops.adjust_hue(u, hue_angle)
            if self.grayscale > 0:
                u = torch.where(grey.view(n, 1, 1, 1), ops.to_grey(u), u)
        return (u * scale + lo).to(x.dtype)

    @staticmethod
    def _is_identity(mat: Tensor) -> bool:
        return bool(torch.equal(mat, torch.eye(3, device=mat.device).expand_as(mat)))


def colour_policy(**overrides) -> dict:
    """Keyword arguments of :class:`ViewPolicy` for colour images (DHOG's default).

    The grey policy (:func:`grey_policy`), and colour made inconsistent
    between views: a uniformly random channel order for every view and grey
    with probability 0.5 (the thesis's random grey), so colour is not a
    feature every pair of views shares. No hue by default: it removes the
    colour for every head but also makes small objects hard to find.
    Flips are off, as for grey images; pass ``hflip=0.5`` for photographs.
    """
    return {**grey_policy(), "operations": COLOUR_OPERATIONS, "channel_shuffle": 1.0,
            "grayscale": 0.5, **overrides}


def grey_policy(**overrides) -> dict:
    """Keyword arguments of :class:`ViewPolicy` for grey images (DHOG's default).

    Every view: a random square crop of 0.87 to 1.18 times the side (zooming
    in or out by up to 15 %) placed anywhere within 15 % of the side beyond
    the image, with border padding, rotated by up to 15 degrees; then two
    draws of brightness / contrast with factors within ``1 +- 0.2``. No
    flips (digits and letters change meaning when flipped). These are
    :class:`ViewPolicy`'s own defaults; the methods page (*DHOG*) compares
    them with other views.
    """
    return {"operations": GREY_OPERATIONS, "n_ops": 2, "p": 1.0, "magnitude": 0.22,
            "crop_scale": (0.87, 1.18), "crop_pad": 0.15, "rotation": 15.0, **overrides}


def dhog_augment(X: Tensor, **overrides) -> nn.Module:
    """DHOG's default views for training data ``X``.

    Colour images (3 channels): :func:`colour_policy`; other images:
    :func:`grey_policy`; both with ``value_range`` set to ``X``'s minimum and
    maximum. Vectors: :class:`VectorAugment` (as :func:`default_augment`).
    """
    if X.ndim != 4:
        return default_augment(X)
    kwargs = colour_policy() if X.shape[1] == 3 else grey_policy()
    value_range = (float(X.min()), float(X.max()))
    return ViewPolicy(**{**kwargs, "value_range": value_range, **overrides})
