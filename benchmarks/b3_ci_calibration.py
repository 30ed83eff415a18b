"""Calibrate the LAD quality tests (tests/debias/test_lad_quality.py) over seeds and palettes.

Runs the tests' own settings for seeds 0-2 with the ReBias palette and for
ten random palettes (drawn from fixed seeds here, so the figures rerun), and
prints raw and LAD accuracy on the independent test set. The figures in the
tests' docstrings come from this script (CPU, one thread).

    python benchmarks/b3_ci_calibration.py
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "debias"))
from test_lad_quality import _gain, random_palette  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    for seed in (0, 1, 2):
        t = time.perf_counter()
        raw, lad, est = _gain(seed=seed)
        print(f"ReBias palette seed {seed}: raw {raw:.3f} LAD {lad:.3f} gain {lad - raw:.3f} "
              f"colour {est.diagnostics_['colour_before']:.2f}->{est.diagnostics_['colour_after']:.2f} "
              f"({time.perf_counter() - t:.0f} s)", flush=True)
    for draw in range(10):
        palette = random_palette(np.random.default_rng(draw))
        raw, lad, _ = _gain(palette)
        print(f"random palette {draw}: raw {raw:.3f} LAD {lad:.3f} gain {lad - raw:.3f}", flush=True)


if __name__ == "__main__":
    main()
