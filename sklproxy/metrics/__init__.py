"""Metrics and scorers for hashing, retrieval, clustering and debiasing."""

from ._cluster import cluster_accuracy, cluster_label_mapping
from ._debias import colour_decodability, colour_features
from ._hashing import (
    HashSpread,
    SpreadFigures,
    hash_entropy,
    hash_retention,
    hash_spread,
    mean_collisions,
    unique_code_ratio,
)
from ._retrieval import mean_average_precision, self_retrieval_map
from ._robustness import DEFAULT_PERTURBATIONS, hash_retention_curves, perturb_images
from ._scorers import cluster_accuracy_scorer, hash_entropy_scorer, map_scorer
from ._transfer import CoarseToFine, coarse_to_fine_accuracy

__all__ = [
    "DEFAULT_PERTURBATIONS",
    "CoarseToFine",
    "HashSpread",
    "SpreadFigures",
    "cluster_accuracy",
    "cluster_accuracy_scorer",
    "cluster_label_mapping",
    "coarse_to_fine_accuracy",
    "colour_decodability",
    "colour_features",
    "hash_entropy",
    "hash_entropy_scorer",
    "hash_retention",
    "hash_retention_curves",
    "hash_spread",
    "map_scorer",
    "mean_average_precision",
    "mean_collisions",
    "perturb_images",
    "self_retrieval_map",
    "unique_code_ratio",
]
