"""Plain torch building blocks (no scikit-learn imports): backbones, heads, tree, VQ-VAE, QE-walk, spectral swaps, losses, augmentations."""

from .augment import (
    ImageAugment,
    Sobel,
    VectorAugment,
    ViewPolicy,
    colour_policy,
    default_augment,
    dhog_augment,
    grey_policy,
)
from .backbones import (
    BACKBONES,
    MLP,
    ConvNet,
    ResNet,
    Standardize,
    build_backbone,
    resolve_backbone_name,
)
from .heads import DHOGHeads
from .losses import nt_xent
from .mutual_info import (
    conditional_pull_mutual_information,
    cross_head_mutual_information,
    dhog_objective,
    mutual_information,
)
from .spectral import SpectralSwap, band_mask, band_swap, spectral_swap
from .tree import DecisionTreeLayer, greedy_path_bits, leaf_log_probs
from .vqvae import VectorQuantizer, quantise
from .walk import qe_walk

__all__ = [
    "BACKBONES",
    "ConvNet",
    "DHOGHeads",
    "DecisionTreeLayer",
    "ImageAugment",
    "MLP",
    "ResNet",
    "Sobel",
    "SpectralSwap",
    "Standardize",
    "VectorAugment",
    "VectorQuantizer",
    "ViewPolicy",
    "band_mask",
    "band_swap",
    "build_backbone",
    "colour_policy",
    "conditional_pull_mutual_information",
    "cross_head_mutual_information",
    "default_augment",
    "dhog_augment",
    "dhog_objective",
    "greedy_path_bits",
    "grey_policy",
    "leaf_log_probs",
    "mutual_information",
    "nt_xent",
    "qe_walk",
    "quantise",
    "resolve_backbone_name",
    "spectral_swap",
]
