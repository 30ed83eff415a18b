"""Deep semantic hashing: DDTLHasher and the CrPCA baseline."""

from ._crpca import CrPCA
from ._ddtl import DDTLHasher

__all__ = ["CrPCA", "DDTLHasher"]
