"""sklproxy: representation learning when proxy objectives fail, as scikit-learn estimators.

Estimators
----------
DDTLHasher
    Deep semantic hashing with a differentiable decision-tree layer.
CrPCA
    Classifier bits plus repeated-PCA path bits (hashing baseline).
HammingIndex
    Exact k-NN over packed binary codes, in code order or Hamming distance.

Subpackages: ``hashing``, ``metrics``, ``neighbors``, ``datasets``, ``nn``
(plain torch modules), ``utils``.
"""

from .hashing import DDTLHasher

__version__ = "0.1.0.dev0"

__all__ = sorted(["DDTLHasher"])
