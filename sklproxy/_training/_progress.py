"""When to colour output and draw progress bars (the ``verbose`` rule of every estimator).

``verbose``: 0 silent; 1 one header line per training stage and one table
row per epoch (plus progress bars in a terminal); 2 progress bars also when
the output is not a terminal (logs, notebooks).
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["progress_active", "stage_name", "use_colour"]


def use_colour(stream: Any) -> bool:
    """ANSI colours only for a terminal; ``NO_COLOR`` turns them off, ``FORCE_COLOR`` on."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress_active(verbose: int) -> bool:
    """Whether to draw a progress bar: ``verbose >= 2``, or ``verbose >= 1`` on a terminal."""
    return verbose >= 2 or (verbose >= 1 and use_colour(sys.stderr))


def stage_name(net: Any) -> str:
    """The name a net's progress output uses: ``net.stage``, else its class name."""
    return getattr(net, "stage", None) or type(net).__name__
