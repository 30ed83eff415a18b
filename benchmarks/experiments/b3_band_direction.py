"""Which part of the spectrum to swap: a LeNet trained with per-batch spectral swaps (issue 18).

Gate before any LAD row: the final classifier of B3 trained on images whose
fine band, coarse band, amplitudes, or everything but the coarse phase
(``all``, :func:`sklproxy.nn.spectral.spectral_swap`) come from another
image of the batch, every batch, on the non-colour settings and on clean
digits28 (what the swap costs when there is nothing to remove). Test images
are raw. Rows are named ``band cutoff`` (the old name ``hybrid`` of the
first run is ``all``). Rerun:
``python -m benchmarks.experiments.b3_band_direction --seeds 0 --out b3_band_direction``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.base import clone
from torch import nn

from sklproxy.classification import ImageClassifier
from sklproxy.datasets import load_digits28
from sklproxy.nn.spectral import SpectralSwap

from .._data import biased_setting
from ..b3.run import CLF

SETTINGS = ("corrupt-type0", "corrupt-type1", "texture", "patch", "clean")


class _Then(nn.Module):
    def __init__(self, first: nn.Module, second: nn.Module) -> None:
        super().__init__()
        self.first, self.second = first, second

    def forward(self, x, generator=None):
        return self.second(self.first(x, generator), generator)


def load(setting: str, seed: int):
    if setting == "clean":
        Xtr, ytr, Xte, yte = load_digits28(random_state=seed, return_X_y=True)
        Xtr = (Xtr / 255.0).astype(np.float32)[:, None]
        Xte = (Xte / 255.0).astype(np.float32)[:, None]
        return Xtr, ytr, Xtr, {"independent": (Xte, yte)}
    return biased_setting(setting, seed)


def run(setting: str, seed: int, swaps) -> dict:
    torch.set_num_threads(1)
    Xb, y, Xo, tests = load(setting, seed)
    clf = ImageClassifier(**CLF, random_state=seed)
    rows = {}
    t = time.perf_counter()
    rows["vanilla"] = clone(clf).fit(Xb, y).score(*tests["independent"])
    if setting != "clean":
        rows["oracle"] = clone(clf).fit(Xo, y).score(*tests["independent"])
    for band, cutoff in swaps:
        if band == "amplitude":  # every frequency's amplitude, the recipient's phase
            swap = SpectralSwap(float("inf"))
        else:  # "all" (spectral_swap), "fine" or "coarse" (band_swap)
            swap = SpectralSwap(cutoff, band)
        aug = _Then(swap, CLF["augment"])
        rows[f"{band} {cutoff}"] = clone(clf).set_params(augment=aug).fit(Xb, y).score(*tests["independent"])
    return {"setting": setting, "seed": seed, "rows": rows, "wall_s": time.perf_counter() - t}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--settings", nargs="+", default=list(SETTINGS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--swaps", nargs="+", default=["fine:4", "coarse:4", "all:4", "amplitude:0"])
    p.add_argument("--out", required=True)
    a = p.parse_args()
    swaps = [(s.split(":")[0], float(s.split(":")[1])) for s in a.swaps]
    with open(a.out, "a") as fh:
        for setting in a.settings:
            for seed in a.seeds:
                rec = run(setting, seed, swaps)
                print(json.dumps(rec), flush=True)
                fh.write(json.dumps(rec) + "\n")
                fh.flush()


if __name__ == "__main__":
    main()
