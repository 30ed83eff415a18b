"""What the new default costs: LADDebiaser's default fit (``method="swap"``) beside ``method="substitute"``.

B4's default-fit setting for LAD (the B3 Fashion-MNIST colour subset, 5000
images at 28x28, one torch thread), both methods in one run on a quiet
machine, one after the other; the swap's test is the only difference (the
swap stays off on colour). Rerun::

    python -m benchmarks.experiments.b4_lad_swap_cost

Writes ``benchmarks/results/b4_lad_swap_cost.json`` and ``.md``.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from sklproxy.debias import LADDebiaser

from .._data import biased_setting
from .._report import markdown_table
from .._runner import run_info, write_results


def main() -> None:
    torch.set_num_threads(1)
    Xb, yb, _, _ = biased_setting("fmnist", 0, fmnist_sizes=(5000, 2000))
    out: dict = {"info": run_info("cpu"), "n_train": len(Xb), "fits": []}
    for method in ("swap", "substitute"):
        t = time.perf_counter()
        lad = LADDebiaser(method=method, device="cpu", random_state=0).fit(Xb, yb)
        fit = {"method": method, "fit_seconds": time.perf_counter() - t,
               "swap_active": bool(getattr(lad, "swap_active_", False)),
               "probe_accuracy": float(getattr(lad, "swap_probe_accuracy_", np.nan))}
        t = time.perf_counter()
        lad.transform(Xb)
        fit["transform_seconds"] = time.perf_counter() - t
        out["fits"].append(fit)
        print(fit, flush=True)
    rows = [(f["method"], f["fit_seconds"], f["transform_seconds"], f["swap_active"], f["probe_accuracy"])
            for f in out["fits"]]
    write_results("b4_lad_swap_cost", out, "# LADDebiaser default fit: swap vs substitute (CPU)\n\n"
                  + __doc__.split("::")[0].strip() + f"\n\nCPU: {out['info']['device_name']}, commit "
                  f"{out['info']['commit'][:12]}.\n\n"
                  + markdown_table(("method", "fit s", "transform s", "swap on", "probe"), rows,
                                   floats=".2f") + "\n")


if __name__ == "__main__":
    main()
