"""Plots in scikit-learn's Display style (matplotlib: the ``plot`` extra).

Each display is built with ``from_estimator`` (from a fitted sklproxy
estimator) or ``from_predictions`` (from arrays you computed), draws itself
with ``plot(ax=...)`` and keeps its matplotlib artists as attributes ending
in ``_`` (``axes_``, ``images_``, ``lines_``, ``bars_``, ``figure_``), so a
figure can be restyled after the fact. matplotlib is imported only when a
display draws; without it, ``plot`` raises an ImportError naming
``pip install sklproxy[plot]``.

=========================  ===================================================
``RetrievalDisplay``       queries and their retrieved neighbours
``TreeNodeDisplay``        images reaching each node of a hashing tree
``LeafErrorDisplay``       misclassified items per tree leaf
``ClusterGridDisplay``     sample images of each cluster
``HeadAccuracyDisplay``    accuracy and selection score of each DHOG head
``DebiasingDisplay``       images before/after debiasing, with gate figures
``GradientRatioDisplay``   the gradient ratio along training
``SearchResultsDisplay``   mean CV score of a parameter search
=========================  ===================================================
"""

from ._cluster import ClusterGridDisplay, HeadAccuracyDisplay
from ._debias import DebiasingDisplay, lad_gate_figures
from ._diagnostics import GradientRatioDisplay
from ._retrieval import RetrievalDisplay
from ._search import SearchResultsDisplay
from ._tree import LeafErrorDisplay, TreeNodeDisplay

__all__ = [
    "ClusterGridDisplay",
    "DebiasingDisplay",
    "GradientRatioDisplay",
    "HeadAccuracyDisplay",
    "LeafErrorDisplay",
    "RetrievalDisplay",
    "SearchResultsDisplay",
    "TreeNodeDisplay",
    "lad_gate_figures",
]
