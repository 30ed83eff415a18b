"""sklproxy: representation learning when proxy objectives fail, as scikit-learn estimators.

Estimators
----------
DDTLHasher
    Deep semantic hashing with a differentiable decision-tree layer.
CrPCA
    Classifier bits plus repeated-PCA path bits (hashing baseline).
DHOGClusterer
    Deep clustering with a hierarchy of heads pushed apart by mutual information.
LADDebiaser
    Removes an easy spurious signal by changing a VQ-VAE's codes (substitution or the QE-walk).
LADClassifier
    An image classifier trained on LAD-debiased images drawn anew for every batch.
ImageClassifier
    A skorch image classifier (ResNet-20 by default), e.g. after LADDebiaser.
HammingIndex
    Exact k-NN over packed binary codes, in code order or Hamming distance.

Configuration
-------------
get_config, set_config, config_context
    Machine settings shared by every estimator (``n_threads``: torch threads on the CPU).

Subpackages: ``hashing``, ``cluster``, ``debias``, ``classification`` (the estimators and their
options), ``metrics``, ``neighbors``, ``inspection`` (model diagnostics), ``datasets``,
``displays`` (plots), ``nn`` (plain torch modules), ``parallel`` (data-parallel training,
bounded-memory inference), ``exceptions``, ``utils``. The training layer every estimator
shares lives in the private ``sklproxy._training``.
"""

from ._config import config_context, get_config, set_config
from .classification import ImageClassifier
from .cluster import DHOGClusterer
from .debias import LADClassifier, LADDebiaser
from .hashing import CrPCA, DDTLHasher
from .neighbors import HammingIndex

__version__ = "0.1.0.dev0"

__all__ = [
    "CrPCA",
    "DDTLHasher",
    "DHOGClusterer",
    "HammingIndex",
    "ImageClassifier",
    "LADClassifier",
    "LADDebiaser",
    "config_context",
    "get_config",
    "set_config",
]
