"""sklproxy: representation learning when proxy objectives fail, as scikit-learn estimators.

Estimators
----------
DDTLHasher
    Deep semantic hashing with a differentiable decision-tree layer.
CrPCA
    Classifier bits plus repeated-PCA path bits (hashing baseline).
DHOGClusterer
    Deep clustering with a hierarchy of heads pushed apart by mutual information.
HammingIndex
    Exact k-NN over packed binary codes, in code order or Hamming distance.

Subpackages: ``hashing``, ``cluster``, ``metrics``, ``neighbors``, ``datasets``, ``nn``
(plain torch modules), ``utils``.
"""

from .cluster import DHOGClusterer
from .hashing import CrPCA, DDTLHasher
from .neighbors import HammingIndex

__version__ = "0.1.0.dev0"

__all__ = [
    "CrPCA",
    "DDTLHasher",
    "DHOGClusterer",
    "HammingIndex",
]
