"""B1's figure: bits gained per tree level in the CPU reference (``docs/b1_level_bits_cpu.png``)."""

from __future__ import annotations

import json

import numpy as np

from .._report import pyplot
from .._runner import RESULTS, figure_path

LEVEL_PLOT = "b1_level_bits_cpu.png"


def level_plot(summary: list[dict], path=None) -> None:
    """Bits gained at each tree level (within a class, training codes), with the reference."""
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    levels = np.arange(1, len(summary[0]["reference_level_bits"]) + 1)
    styles = iter(["-", "--", "-.", ":", (0, (5, 1))] * 3)
    for r in summary:
        if "class-only" in r["model"] or "level_bits" not in r:
            continue
        ax.plot(levels, r["level_bits"], marker="o", ms=3, ls=next(styles), label=r["model"],
                lw=3 if r["model"] == "DDTL (defaults)" else 1.5, alpha=0.85)
    ax.plot(levels, summary[0]["reference_level_bits"], color="k", ls=":", lw=2.5,
            label="random reference")
    ax.set_xlabel("tree level (root = 1)")
    ax.set_ylabel("bits gained within a class")
    ax.set_ylim(0, 1.05)
    ax.set_title("B1 CPU reference: bits per tree level, training codes (mean of seeds)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path or figure_path(LEVEL_PLOT), dpi=120)
    plt.close(fig)


def replot_cpu() -> None:
    """The per-level plot again from ``results/b1_hashing_cpu.json``."""
    level_plot(json.loads((RESULTS / "b1_hashing_cpu.json").read_text())["summary"])
