"""Does the ConvNet's first-block stride on 28x28 images cost DDTL quality? (issue 22).

``DDTLHasher`` at its defaults (``device="cpu"``, 30 epochs, ConvNet width 32)
on the first 5000 Fashion-MNIST training images (``load_fmnist``), test
accuracy and code-order mAP@1000 of 2000 test queries against the training
codes, and the fit's CPU seconds, with the first block at stride 2 (the rule
``build_backbone`` applies from ``LARGE_IMAGE_SIDE`` = 16 px on) and at
stride 1 (the rule switched off by raising ``LARGE_IMAGE_SIDE``). The DHOG
side of the decision (0.576 against 0.500 held-out accuracy on
Fashion-MNIST 10k at half the CPU time, one seed) is the issue 20 research.

    python -m benchmarks.experiments.b4_convnet_stride --seed 0

Results: ``results/b4_convnet_stride.json`` (one row per stride and seed).
"""

from __future__ import annotations

import argparse
import time

from sklproxy.hashing import DDTLHasher
from sklproxy.metrics import mean_average_precision
from sklproxy.nn import backbones

from .._data import load_fmnist
from .._runner import RESULTS, run_info, write_json


def row(stride: int, seed: int) -> dict:
    X, y, Xt, yt = load_fmnist(5000, 2000)
    saved = backbones.LARGE_IMAGE_SIDE
    backbones.LARGE_IMAGE_SIDE = 16 if stride == 2 else 10**6
    try:
        start = time.process_time()
        hasher = DDTLHasher(device="cpu", random_state=seed).fit(X, y)
        cpu = time.process_time() - start
    finally:
        backbones.LARGE_IMAGE_SIDE = saved
    mean_ap = mean_average_precision(hasher.transform(Xt), hasher.transform(X), yt, y, k=1000,
                                     ranking="code")
    return {"stride": stride, "seed": seed, "fit_cpu_s": cpu,
            "test_accuracy": float((hasher.predict(Xt) == yt).mean()), "map@1000_code": float(mean_ap)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b4_convnet_stride",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    rows = []
    for seed in args.seed:
        for stride in (2, 1):
            rows.append(row(stride, seed))
            print(rows[-1], flush=True)
    write_json(RESULTS / "b4_convnet_stride.json", {"info": run_info("cpu"), "rows": rows})


if __name__ == "__main__":
    main()
