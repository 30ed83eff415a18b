"""Model inspection: what a trained network relies on.

* :func:`gradient_ratio`: the gradient ratio between causal and spurious
  input pixels, the shortcut-learning diagnostic of the LAD chapter.
"""

from ._gradient_ratio import gradient_ratio

__all__ = ["gradient_ratio"]
