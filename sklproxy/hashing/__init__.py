"""Deep semantic hashing: DDTLHasher and the CrPCA baseline."""

from ._ddtl import DDTLHasher

__all__ = ["DDTLHasher"]
