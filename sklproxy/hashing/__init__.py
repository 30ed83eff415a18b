"""Deep semantic hashing: DDTLHasher, the CrPCA baseline and the experimental SplitBalance."""

from ._crpca import CrPCA
from ._ddtl import DDTLHasher
from ._options import SplitBalance

__all__ = ["CrPCA", "DDTLHasher", "SplitBalance"]
