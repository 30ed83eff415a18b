"""B3's figures: independent-test accuracy per row, the gradient-ratio curve, per-class image grids."""

from __future__ import annotations

import numpy as np

from sklproxy.debias import LADDebiaser

from .._report import pyplot
from .._runner import figure_path
from .report import gradient_ratio_part
from .run import MODES, SETTINGS, load_setting, walk_of, with_method

ROWS = ("vanilla", "oracle", "LAD", "LAD pipeline", "qe-walk", "walk")


def accuracy_plot(res: dict, suffix: str) -> None:
    """``docs/b3_accuracy<suffix>.png``: independent-test accuracy per row, per setting."""
    plt = pyplot()
    if plt is None:
        return
    settings = [s for s in SETTINGS if s in res["summary"]]
    fig, axes = plt.subplots(1, len(settings), figsize=(3.2 * len(settings), 3.0), squeeze=False)
    for ax, setting in zip(axes[0], settings):
        summ = res["summary"][setting]["rows"]
        names = [r for r in ROWS if r in summ]
        means = [summ[r]["independent"]["mean"] for r in names]
        lo = [max(0.0, m - summ[r]["independent"]["min"]) for r, m in zip(names, means)]
        hi = [max(0.0, summ[r]["independent"]["max"] - m) for r, m in zip(names, means)]
        ax.bar(range(len(names)), means, yerr=[lo, hi], color="tab:blue", capsize=2)
        ax.set_xticks(range(len(names)), names, rotation=60, fontsize=7, ha="right")
        ax.set_ylim(0, 1)
        ax.set_title(setting, fontsize=9)
    axes[0, 0].set_ylabel("independent-test accuracy\n(mean, min-max over seeds)", fontsize=8)
    fig.tight_layout()
    fig.savefig(figure_path(f"b3_accuracy{suffix}.png"), dpi=110)
    plt.close(fig)


def gradient_ratio_plot(res: dict, suffix: str) -> None:
    """``docs/b3_gr_curve<suffix>.png``: the one-pixel gradient ratio over training."""
    part = gradient_ratio_part(res)
    plt = pyplot()
    if part is None or plt is None:
        return
    its, grs = zip(*part["gradient_ratio"]["curve"])
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(its, grs)
    ax.axhline(1.0, color="grey", ls="--")
    ax.set_xlabel("iteration")
    ax.set_ylabel("gradient ratio (causal / pixel)")
    ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(figure_path(f"b3_gr_curve{suffix}.png"), dpi=120)
    plt.close(fig)


def plot_results(res: dict, mode: str) -> None:
    suffix = {"quick": "_quick", "cpu": "_cpu", "headline": ""}[mode]
    accuracy_plot(res, suffix)
    gradient_ratio_plot(res, suffix)


def plot_grids(mode: str, device: str, settings=SETTINGS) -> None:
    """``docs/b3_grid_<setting>.png``: one training image per class, biased / LAD / QE-walk (seed 0)."""
    plt = pyplot()
    if plt is None:
        return
    for setting in settings:
        Xb, y, _, _ = load_setting(setting, 0, mode)
        lad = LADDebiaser(**MODES[mode]["lad"], device=device, random_state=0).fit(Xb, y)
        walker = with_method(lad, Xb, y, walk_of("qe-walk", setting))
        pick = [int(np.flatnonzero(y == c)[0]) for c in range(10)]
        rows = {"biased": Xb[pick], "LAD": lad.transform(Xb[pick]), "QE-walk": walker.transform(Xb[pick])}
        fig, axes = plt.subplots(3, 10, figsize=(10, 3.3))
        for r, (name, images) in enumerate(rows.items()):
            for c in range(10):
                img = np.clip(np.transpose(images[c], (1, 2, 0)), 0, 1)
                axes[r, c].imshow(img.squeeze(), cmap="gray" if img.shape[-1] == 1 else None,
                                  vmin=0, vmax=1)
                axes[r, c].set_xticks([])
                axes[r, c].set_yticks([])
                if r == 0:
                    axes[r, c].set_title(f"class {c}", fontsize=7)
            axes[r, 0].set_ylabel(name, fontsize=8)
        d = lad.diagnostics_
        colour = (f"colour tells class {d['colour_before']:.2f} -> {d['colour_after']:.2f}; "
                  if "colour_before" in d and Xb.shape[1] == 3 else "")
        fig.suptitle(f"B3 {setting} (seed 0, training images): {colour}"
                     f"{int(lad.spurious_codes_.sum())} spurious codes, "
                     f"{int((lad.position_markers_ >= 0).sum())} position markers", fontsize=9)
        fig.tight_layout()
        fig.savefig(figure_path(f"b3_grid_{setting}{'_quick' if mode == 'quick' else ''}.png"), dpi=110)
        plt.close(fig)
        print("grid", setting, flush=True)
