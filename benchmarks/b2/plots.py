"""B2's figure: mean test accuracy per head, DHOG against alpha=0 (``docs/<stem>_per_head.png``)."""

from __future__ import annotations

from .._report import pyplot
from .._runner import figure_path


def plot_cpu(result: dict, stem: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    settings = result["settings"]
    fig, axes = plt.subplots(1, len(settings), figsize=(3.4 * len(settings), 3), squeeze=False)
    for ax, (setting, s) in zip(axes[0], settings.items()):
        for m, label in (("dhog", "DHOG"), ("iic", "alpha=0")):
            if m in s and "per_head_test_accuracy" in s[m]:
                acc = s[m]["per_head_test_accuracy"]
                ax.errorbar(range(len(acc)), [a["mean"] for a in acc],
                            yerr=[a["std"] for a in acc], marker="o", capsize=2, label=label)
        if "kmeans" in s:
            ax.axhline(s["kmeans"]["test_accuracy"]["mean"], color="grey", ls="--",
                       label="k-means")
        ax.set_title(setting, fontsize=9)
        ax.set_xlabel("head (shallow to deep)")
        ax.set_ylabel("test accuracy")
        ax.legend(fontsize=7)
    fig.tight_layout()
    out = figure_path(f"{stem}_per_head.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {out}")
