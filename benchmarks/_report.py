"""What the reports share: markdown tables, figures, summaries over seeds."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


# ------------------------------------------------------------------ markdown
def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], floats: str | None = ".3f") -> str:
    """A markdown table; floats formatted with ``floats`` (None: ``str`` of every cell)."""
    def cell(v: Any) -> str:
        return format(v, floats) if floats and isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def heading(level: int, text: str) -> str:
    return f"{'#' * level} {text}"


def figure(name: str, caption: str) -> str:
    """A captioned figure of ``docs/<name>`` for the benchmarks page (MyST)."""
    return f"```{{figure}} {name}\n:alt: {caption.split('.')[0]}\n:width: 100%\n\n{caption}\n```\n"


# ------------------------------------------------------------ over the seeds
def mean_sd(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """Mean and (population) standard deviation of the values that are not None."""
    kept = [v for v in values if v is not None]
    if not kept:
        return None, None
    return float(np.mean(kept)), float(np.std(kept))


def seed_stats(values: Iterable[float]) -> dict:
    """Mean, sample standard deviation and the values (one per seed)."""
    values = [float(v) for v in values]
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


def range_stats(values: Sequence[float]) -> dict:
    """Mean, min, max and the values (one per seed)."""
    return {"mean": float(np.mean(values)), "min": float(np.min(values)),
            "max": float(np.max(values)), "values": [float(v) for v in values]}


def mean_pm_sd(stat: dict, digits: int = 3, sep: str = "+-") -> str:
    """``mean +- std`` of a :func:`seed_stats` summary."""
    return f"{stat['mean']:.{digits}f} {sep} {stat['std']:.{digits}f}"


# ------------------------------------------------------------------- figures
def pyplot():
    """matplotlib's pyplot on the Agg backend, or None (with a note) when it is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure written")
        return None
    return plt


def bullet_list(items: Iterable[str]) -> str:
    return "\n".join(f"* {item}" for item in items)


def page_opening(level: int, title: str, about: str, targets: Iterable[str], head: dict | None,
                 benchmark: str, headline: str = "GPU headline: full Fashion-MNIST") -> list[str]:
    """A benchmark's section of the page up to its GPU headline: title, text, targets, and the
    headline's heading, with a line saying how to run it when ``head`` (its result) is None."""
    lines = [heading(level, title), "", about, "", "Targets:", "", bullet_list(targets), "",
             heading(level + 1, headline), ""]
    if head is None:
        lines += [f"No GPU headline run yet (`python -m benchmarks.{benchmark}` on one GPU).", ""]
    return lines



QUICK = "Quick CPU smoke run (not a reference figure)"


def result_sections(load, level: int, runs, body, missing: bool = True) -> list[str]:
    """One section per ``(stem, heading, command)`` of ``runs``: ``body(result, command)`` (a list
    of lines) for the result file ``load(stem)``; a missing file gives a line saying how to run
    it (``missing``) or no section."""
    lines = []
    for stem, label, command in runs:
        result = load(stem)
        if result is None and not missing:
            continue
        lines += [heading(level, label), ""]
        lines += [f"No run yet (`{command}`).", ""] if result is None else [*body(result, command), ""]
    return lines
