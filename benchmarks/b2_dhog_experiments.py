"""B2 recipe experiments for DHOGClusterer on CPU: what shaped the defaults.

Each call fits DHOG (and, paired by seed, its ``alpha=0`` ablation unless
``--no-iic``) on one CPU reference setting of ``b2_clustering.py`` with
estimator parameters and view-policy settings overridden, and appends one
JSON line per fit to ``benchmarks/results/b2_dhog_experiments.jsonl``
(tag, setting, seed, overrides, per-head test accuracy, per-head NMI with
the nuisance, train NMI between views, CPU seconds). ``--summary`` prints
mean +- std per tag and setting from that log and writes
``benchmarks/results/b2_dhog_experiments.md``.

    python benchmarks/b2_dhog_experiments.py --tag w16-h4 --setting digits \\
        --seeds 0 1 2 --set n_heads=4 --views crop_scale=[0.8,1.0]
    python benchmarks/b2_dhog_experiments.py --summary

Values of ``--set`` / ``--views`` are JSON (lists become tuples for views);
``--set flat=true`` carries every head on the ConvNet's final features (no
hierarchy); ``--image-augment key=json`` uses ``ImageAugment`` instead of the
view policy. One thread, one fit at a time (the machine is shared).

What these runs decided (8x8 digits, 70/30 split, DHOG only, seeds 0-2,
2026-11-30; tags in the log): the view policy's crops with border padding
(``V1-geo``, 0.831 +- 0.040) beat the same geometry drawn by ImageAugment
(``A-leadgeom-hier4``, 0.760 +- 0.068) and the AutoAugment operations hurt
on digits (``V2-geo-aa``, 0.638 +- 0.017); the hierarchy with 4 heads was
within noise of all heads on the final features (``A-leadgeom-flat4``,
0.777 +- 0.024); width 32 helped at twice the cost (``A-hier4-w32``,
0.806 +- 0.055 with ImageAugment views), batch 64 lost what width gained
(``A-hier4-w32-bs64``, 0.780). On colour-independent coloured digits
(DHOG and alpha=0 paired): channel order + grey 0.5 (``C3-shuffle-grey-geo``)
left alpha=0 on the colour (NMI with the colour 0.48-0.81 per head) while
DHOG's pushed heads left it (0.24), DHOG 0.367 +- 0.114 against 0.268 +-
0.035 (ahead on 2 of 3 seeds); adding any hue (``C1-colour-geo``) removed
the colour for both and both found little (0.273 vs 0.267).
The colour runs (``C1``, ``C3``) predate commit 8f740bc, which fixed
ViewPolicy on colour images: before it, the hue draw overwrote the crop
rotation, so ``C3`` views were not rotated and ``C1`` views were rotated by
the hue angle (up to +-180 deg). ``b2_clustering.py --cpu`` reran the chosen
colour policy after the fix.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from _common import git_commit
from b2_clustering import load_setting, run_dhog

from sklproxy.nn.augment import ImageAugment, dhog_augment

LOG = Path(__file__).resolve().parent / "results" / "b2_dhog_experiments.jsonl"


def _parse(pairs: list[str], tuples: bool = False) -> dict:
    out = {}
    for pair in pairs or []:
        key, value = pair.split("=", 1)
        try:
            v = json.loads(value)
        except json.JSONDecodeError:
            v = value
        out[key] = tuple(v) if tuples and isinstance(v, list) else v
    return out


def fit(setting: str, seed: int, params: dict, views: dict, iic: bool, tag: str,
        image_augment: dict | None = None) -> None:
    data = load_setting(setting)
    base = {"n_clusters": 10, "device": "cpu", "random_state": seed, **params}
    if views:
        base["augment"] = dhog_augment(torch.from_numpy(data["X_train"]), **views)
    if params.pop("flat", False):
        # the ConvNet without its stages: every head on the final features (no hierarchy)
        from sklproxy.nn.backbones import build_backbone
        net = build_backbone("convnet", data["X_train"].shape[1:], params.get("width") or 16)
        base.pop("flat", None)
        base["backbone"] = torch.nn.Sequential(net.net)
        base["backbone"].out_features = net.out_features
        tag_params = {**params, "flat": True}
    else:
        tag_params = params
    if image_augment is not None:
        base["augment"] = ImageAugment(**image_augment)
        views = {"ImageAugment": image_augment}
    for method in (("dhog", "iic") if iic else ("dhog",)):
        p = {**base, "alpha": 0.0} if method == "iic" else base
        t0 = time.perf_counter()
        run = run_dhog(p, data)
        row = {"tag": tag, "setting": setting, "seed": seed, "method": method,
               "set": tag_params, "views": views, "git_commit": git_commit(),
               "date": time.strftime("%Y-%m-%d %H:%M"),
               "selected_test_accuracy": run["selected"]["test_accuracy"],
               "posthoc_test_accuracy": run["posthoc"]["test_accuracy"],
               "clusters_used": run["selected"]["n_clusters_used_train"],
               "best_head": run["best_head"],
               "per_head_test_accuracy": [h["test_accuracy"] for h in run["heads"]],
               "per_head_nmi_nuisance": [h.get("train_nmi_nuisance") for h in run["heads"]],
               "train_nmi_between_views": run["train_nmi_between_views"],
               "steps": run["steps"], "fit_cpu_seconds": run["fit_cpu_seconds"],
               "fit_seconds": time.perf_counter() - t0}
        with LOG.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"{tag} {setting} seed {seed} {method}: acc {row['selected_test_accuracy']:.3f} "
              f"(head {row['best_head']}, posthoc {row['posthoc_test_accuracy']:.3f}, "
              f"{row['clusters_used']} clusters) heads "
              f"{[round(a, 3) for a in row['per_head_test_accuracy']]} nuisance "
              f"{[None if v is None else round(v, 2) for v in row['per_head_nmi_nuisance']]} "
              f"{row['fit_cpu_seconds']:.0f} CPU s", flush=True)


def summary() -> None:
    rows = [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]
    groups: dict = defaultdict(list)
    for r in rows:
        groups[(r["tag"], r["setting"], r["method"])].append(r)
    lines = ["# B2 DHOG recipe experiments (CPU, one thread)", "",
             "From `benchmarks/results/b2_dhog_experiments.jsonl` "
             "(`python benchmarks/b2_dhog_experiments.py --summary`). Held-out accuracy of "
             "the chosen head, mean +- std over the seeds listed; paired: DHOG minus its "
             "alpha=0 run of the same seed. Exploratory runs: each line of the log names the "
             "commit its working tree started from (`+dirty`: the branch between commits, "
             "with the overrides listed in the log); the figures that back a default are "
             "rerun by `b2_clustering.py --cpu` on a clean commit.", "",
             "| tag | setting | method | seeds | test acc | posthoc | paired diff | "
             "per-head acc | per-head nuisance NMI | CPU s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (tag, setting, method), rs in groups.items():
        acc = [r["selected_test_accuracy"] for r in rs]
        post = [r["posthoc_test_accuracy"] for r in rs]
        ms = lambda v: f"{statistics.fmean(v):.3f} +- {statistics.stdev(v) if len(v) > 1 else 0:.3f}"  # noqa: E731
        diff = "-"
        if method == "dhog":
            pair = {r["seed"]: r["selected_test_accuracy"]
                    for r in groups.get((tag, setting, "iic"), [])}
            d = [r["selected_test_accuracy"] - pair[r["seed"]] for r in rs if r["seed"] in pair]
            if d:
                diff = f"{ms(d)} ({sum(x > 0 for x in d)}/{len(d)})"
        heads = np.mean([r["per_head_test_accuracy"] for r in rs], axis=0)
        nuis = [r["per_head_nmi_nuisance"] for r in rs]
        nuis_s = "-" if nuis[0][0] is None else " ".join(
            f"{v:.2f}" for v in np.mean(nuis, axis=0))
        lines.append(f"| {tag} | {setting} | {method} | {','.join(str(r['seed']) for r in rs)} | "
                     f"{ms(acc)} | {ms(post)} | {diff} | {' '.join(f'{h:.2f}' for h in heads)} | "
                     f"{nuis_s} | {statistics.fmean(r['fit_cpu_seconds'] for r in rs):.0f} |")
    md = "\n".join(lines) + "\n"
    LOG.with_suffix(".md").write_text(md)
    print(md)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="defaults")
    parser.add_argument("--setting", default="digits")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--set", nargs="*", default=[], help="estimator params key=json")
    parser.add_argument("--views", nargs="*", default=[], help="ViewPolicy overrides key=json")
    parser.add_argument("--image-augment", nargs="*", default=None,
                        help="use ImageAugment(key=json ...) instead of the view policy")
    parser.add_argument("--no-iic", action="store_true")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    if args.summary:
        summary()
        return
    torch.set_num_threads(1)
    for seed in args.seeds:
        image = None if args.image_augment is None else _parse(args.image_augment, tuples=True)
        fit(args.setting, seed, _parse(args.set), _parse(args.views, tuples=True),
            not args.no_iic, args.tag, image)


if __name__ == "__main__":
    main()
