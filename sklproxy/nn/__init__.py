"""Plain torch building blocks (no scikit-learn imports): backbones, tree, losses, augmentations."""

from .augment import ImageAugment, VectorAugment, default_augment
from .backbones import BACKBONES, MLP, ConvNet, ResNet, Standardize, build_backbone, resolve_backbone_name
from .losses import nt_xent
from .tree import DecisionTreeLayer, greedy_path_bits, leaf_log_probs

__all__ = sorted([
    "BACKBONES",
    "ConvNet",
    "DecisionTreeLayer",
    "ImageAugment",
    "MLP",
    "ResNet",
    "Standardize",
    "VectorAugment",
    "build_backbone",
    "default_augment",
    "greedy_path_bits",
    "leaf_log_probs",
    "nt_xent",
    "resolve_backbone_name",
])
