"""The small colour trap of DHOG's CI test: does the push move later heads off colour?

8x8 digits on a background colour drawn independently of the digit
(``make_colour_biased(kind="background", test_mode="independent")``, all
1797 images). ``--views keep``: views that keep colour the same in every
view (the grey policy's geometry and brightness / contrast on the three
channels), so colour is the global optimum of IIC's objective (ln 10 nats)
and every head of ``alpha=0`` takes it; ``--views default``: DHOG's colour
policy (random channel order, grey with p = 0.5), under which views often
disagree on the colour. Per seed and alpha:
each head's digit accuracy on the training images (Hungarian) and its NMI
with the colour, DHOG beside ``alpha=0`` of the same seed. These figures set
the thresholds of
``tests/cluster/test_dhog.py::test_push_escapes_a_colour_trap_paired_with_alpha_zero``.

    python -m benchmarks.experiments.b2_colour_trap --seed 0 1 2 3 4 5 --alpha 0 0.2 \
        --out b2_colour_trap_calibration_alpha0.2
    python -m benchmarks.experiments.b2_colour_trap --seed 0 1 2 3 4 5 --alpha 0 0.4 \
        --out b2_colour_trap_calibration
    python -m benchmarks.experiments.b2_colour_trap --views keep --set n_heads=2 \
        max_epochs=150 --alpha 0 1 --seed 0 --out b2_colour_trap_keep

Writes ``benchmarks/results/<out>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import normalized_mutual_info_score

from sklproxy.cluster import DHOGClusterer
from sklproxy.datasets import make_colour_biased
from sklproxy.metrics import cluster_accuracy
from sklproxy.nn.augment import ViewPolicy, grey_policy

from .._report import markdown_table, seed_stats
from .._runner import run_info, write_results
from .b2_dhog_experiments import parse_pairs

#: the CI test's settings (about 37 CPU s per fit, one thread)
TRAP = dict(n_clusters=10, n_heads=3, max_epochs=60, device="cpu")
ALPHAS = (0.0, 0.2, 0.5, 1.0)


def colour_trap(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images ``(1797, 3, 8, 8)`` in [0, 1], digits and background colours."""
    X, y = load_digits(return_X_y=True)
    Xc, colour = make_colour_biased((X / 16.0).reshape(-1, 8, 8), y, kind="background",
                                    test_mode="independent", random_state=seed)
    return Xc.astype(np.float32), y, colour


def trap_views(kind: str = "default") -> ViewPolicy | str:
    """``"keep"``: geometry and brightness/contrast only (colour the same in every view)."""
    return ViewPolicy(**grey_policy(), value_range=(0.0, 1.0)) if kind == "keep" else "auto"


def fit_heads(alpha: float, seed: int, X: np.ndarray, y: np.ndarray, colour: np.ndarray,
              views: str = "default", **params) -> dict:
    t0 = time.process_time()
    est = DHOGClusterer(**{**TRAP, **params}, alpha=alpha, augment=trap_views(views),
                        random_state=seed).fit(X)
    return {"alpha": alpha, "seed": seed, "best_head": est.best_head_, "params": params,
            "selected_accuracy": cluster_accuracy(y, est.labels_),
            "accuracy": [cluster_accuracy(y, est.head_labels_[:, h]) for h in range(est.n_heads)],
            "colour_nmi": [float(normalized_mutual_info_score(colour, est.head_labels_[:, h]))
                           for h in range(est.n_heads)],
            "cpu_seconds": time.process_time() - t0}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b2_colour_trap",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--alpha", type=float, nargs="+", default=list(ALPHAS))
    parser.add_argument("--views", choices=("default", "keep"), default="default")
    parser.add_argument("--set", nargs="*", default=[], help="DHOGClusterer params key=json")
    parser.add_argument("--out", default="b2_colour_trap", help="results/<out>.json and .md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, y, colour = colour_trap()
    runs = []
    for seed in args.seed:
        for alpha in args.alpha:
            runs.append(fit_heads(alpha, seed, X, y, colour, args.views,
                                  **parse_pairs(args.set)))
            r = runs[-1]
            print(f"alpha {alpha} seed {seed}: chosen {r['selected_accuracy']:.3f} acc "
                  f"{np.round(r['accuracy'], 3)} colour NMI "
                  f"{np.round(r['colour_nmi'], 2)} best {r['best_head']} "
                  f"{r['cpu_seconds']:.0f} CPU s", flush=True)
    base = {r["seed"]: r for r in runs if r["alpha"] == 0.0}
    rows = []
    for alpha in args.alpha:
        rs = [r for r in runs if r["alpha"] == alpha]
        cells = [alpha]
        for key in ("selected_accuracy", "last"):
            get = (lambda r: r["accuracy"][-1]) if key == "last" else (lambda r: r[key])  # noqa: E731
            acc = [get(r) for r in rs]
            gain = [get(r) - get(base[r["seed"]]) for r in rs if r["seed"] in base]
            cells += [f"{seed_stats(acc)['mean']:.3f} +- {seed_stats(acc)['std']:.3f}",
                      f"{seed_stats(gain)['mean']:+.3f} (min {min(gain):+.3f}, "
                      f"{sum(g > 0 for g in gain)}/{len(gain)})" if gain else "-"]
        cells += [" ".join(f"{v:.2f}" for v in np.mean([r["colour_nmi"] for r in rs], axis=0)),
                  f"{np.mean([r['cpu_seconds'] for r in rs]):.0f}"]
        rows.append(cells)
    settings = {**TRAP, **parse_pairs(args.set)}
    table = (f"# DHOG colour trap (CI test calibration): {args.out}\n\n"
             f"Settings {settings}, views `{args.views}`; seeds {args.seed}, one thread. "
             "Digit accuracy on the 1797 training images (Hungarian) of the head chosen "
             "without labels and of the last head; gain: minus the same head of `alpha=0`, "
             "same seed (wins / seeds).\n\n"
             + markdown_table(["alpha", "chosen head acc", "gain", "last head acc", "gain",
                               "colour NMI per head", "CPU s"], rows) + "\n")
    write_results(args.out, {"info": run_info("cpu"), "settings": settings,
                             "views": args.views, "runs": runs}, table, indent=1)


if __name__ == "__main__":
    main()
