"""B2 recipe experiments for DHOGClusterer on CPU: what shaped the defaults.

Each call fits DHOG (and, paired by seed, its ``alpha=0`` ablation unless
``--no-iic``) on one CPU setting of B2 (``benchmarks._data.clustering_setting``)
with estimator parameters and view-policy settings overridden, and appends
one JSON line per fit to ``benchmarks/results/b2_dhog_experiments.jsonl``
(tag, setting, seed, overrides, per-head test accuracy, per-head NMI with
the nuisance, train NMI between views, CPU seconds). ``--summary`` prints
mean +- std per tag and setting from that log and writes
``benchmarks/results/b2_dhog_experiments.md``.

    python -m benchmarks.experiments.b2_dhog_experiments --tag w16-h4 --setting digits \\
        --seed 0 1 2 --set n_heads=4 --views crop_scale=[0.8,1.0]
    python -m benchmarks.experiments.b2_dhog_experiments --summary

Values of ``--set`` / ``--views`` are JSON (lists become tuples for views);
the head options (``hidden``, ``n_overcluster``, ``sobel``) go into
``heads=HeadOptions(...)``; ``--set flat=true`` carries every head on the
ConvNet's final features (no hierarchy); ``--image-augment key=json`` uses
``ImageAugment`` instead of the view policy. Jobs: (setting, method, seed),
one thread, one fit at a time (the machine is shared). What these runs
decided is on the methods page (DHOG) and in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from functools import partial

import numpy as np
import torch

from sklproxy.cluster import HeadOptions
from sklproxy.nn.augment import ImageAugment, dhog_augment

from .._data import CLUSTERING_SETTINGS, clustering_setting
from .._runner import RESULTS, Job, PartRunner, add_job_arguments, execute, git_commit, plan
from ..b2.run import run_dhog

LOG = RESULTS / "b2_dhog_experiments.jsonl"
HEAD_FIELDS = tuple(HeadOptions().get_params())


def parse_pairs(pairs: list[str] | None, tuples: bool = False) -> dict:
    out = {}
    for pair in pairs or []:
        key, value = pair.split("=", 1)
        try:
            v = json.loads(value)
        except json.JSONDecodeError:
            v = value
        out[key] = tuple(v) if tuples and isinstance(v, list) else v
    return out


def estimator_params(setting_data: dict, seed: int, params: dict, views: dict,
                     image_augment: dict | None) -> tuple[dict, dict]:
    """``(DHOGClusterer parameters, the views as logged)`` for one fit."""
    params = dict(params)
    base = {"n_clusters": 10, "device": "cpu", "random_state": seed}
    heads = {k: params.pop(k) for k in HEAD_FIELDS if k in params}
    flat = params.pop("flat", False)
    base.update(params)
    if heads:
        base["heads"] = HeadOptions(**heads)
    if views:
        base["augment"] = dhog_augment(torch.from_numpy(setting_data["X_train"]), **views)
    if flat:
        # the ConvNet without its stages: every head on the final features (no hierarchy)
        from sklproxy.nn.backbones import build_backbone
        net = build_backbone("convnet", setting_data["X_train"].shape[1:], params.get("width") or 16)
        base["backbone"] = torch.nn.Sequential(net.net)
        base["backbone"].out_features = net.out_features
    if image_augment is not None:
        base["augment"] = ImageAugment(**image_augment)
        views = {"ImageAugment": image_augment}
    return base, views


def work(tag: str, params: dict, views: dict, image_augment: dict | None, job: Job, save) -> dict:
    """One fit (DHOG or its alpha=0 ablation) and its log line."""
    data = clustering_setting(job.setting)
    base, logged_views = estimator_params(data, job.seed, params, views, image_augment)
    p = {**base, "alpha": 0.0} if job.part == "iic" else base
    t0 = time.perf_counter()
    run = run_dhog(p, data)
    row = {"tag": tag, "setting": job.setting, "seed": job.seed, "method": job.part,
           "set": params, "views": logged_views, "date": time.strftime("%Y-%m-%d %H:%M"),
           "selected_test_accuracy": run["selected"]["test_accuracy"],
           "posthoc_test_accuracy": run["posthoc"]["test_accuracy"],
           "clusters_used": run["selected"]["n_clusters_used_train"],
           "best_head": run["best_head"],
           "per_head_test_accuracy": [h["test_accuracy"] for h in run["heads"]],
           "per_head_nmi_nuisance": [h.get("train_nmi_nuisance") for h in run["heads"]],
           "train_nmi_between_views": run["train_nmi_between_views"],
           **{f"per_head_nmi_{k}": [h[f"train_nmi_{k}"] for h in run["heads"]]
              for k in ("brightness", "size", "earlier_heads")},
           "steps": run["steps"], "fit_cpu_seconds": run["fit_cpu_seconds"],
           "fit_seconds": time.perf_counter() - t0}
    print(f"{tag} {job.setting} seed {job.seed} {job.part}: acc {row['selected_test_accuracy']:.3f} "
          f"(head {row['best_head']}, posthoc {row['posthoc_test_accuracy']:.3f}, "
          f"{row['clusters_used']} clusters) heads "
          f"{[round(a, 3) for a in row['per_head_test_accuracy']]} nuisance "
          f"{[None if v is None else round(v, 2) for v in row['per_head_nmi_nuisance']]} "
          f"{row['fit_cpu_seconds']:.0f} CPU s", flush=True)
    return row


def append_log(records: list[dict], ran: set[str]) -> None:
    """The log lines of the jobs that ran now, in job order (``git_commit`` from the part file)."""
    with LOG.open("a") as fh:
        for r in records:
            if r["setting"] + "." + r["part"] + "." + str(r["seed"]) in ran and r["complete"]:
                row = dict(r["result"])
                row["git_commit"] = r["info"]["commit"]
                fh.write(json.dumps(row) + "\n")


def summary() -> None:
    rows = [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]
    groups: dict = defaultdict(list)
    for r in rows:
        groups[(r["tag"], r["setting"], r["method"])].append(r)
    lines = ["# B2 DHOG recipe experiments (CPU, one thread)", "",
             "From `benchmarks/results/b2_dhog_experiments.jsonl` "
             "(`python -m benchmarks.experiments.b2_dhog_experiments --summary`). Held-out accuracy of "
             "the chosen head, mean +- std over the seeds listed; paired: DHOG minus its "
             "alpha=0 run of the same seed. Exploratory runs: each line of the log names the "
             "commit its working tree started from (`+dirty`: the branch between commits, "
             "with the overrides listed in the log); the figures that back a default are "
             "rerun by `python -m benchmarks.b2 --cpu` on a clean commit.", "",
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b2_dhog_experiments",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="defaults")
    parser.add_argument("--set", nargs="*", default=[], help="estimator params key=json")
    parser.add_argument("--views", nargs="*", default=[], help="ViewPolicy overrides key=json")
    parser.add_argument("--image-augment", nargs="*", default=None,
                        help="use ImageAugment(key=json ...) instead of the view policy")
    parser.add_argument("--no-iic", action="store_true")
    parser.add_argument("--summary", action="store_true")
    add_job_arguments(parser, settings=CLUSTERING_SETTINGS, threads=1)
    args = parser.parse_args(argv)
    if args.summary:
        return summary()
    setting = (args.setting or ["digits"])[0]
    image = None if args.image_augment is None else parse_pairs(args.image_augment, tuples=True)
    methods = ("dhog",) if args.no_iic else ("dhog", "iic")
    jobs = plan({setting: args.seed or [0]}, methods, seed_major=True)
    runner = PartRunner(f"b2_dhog_experiments.{args.tag}",
                        partial(work, args.tag, parse_pairs(args.set),
                                parse_pairs(args.views, tuples=True), image),
                        threads=args.threads, info={"device": "cpu"})
    commit = git_commit()
    ran = set() if args.merge else {j.key for j in jobs
                                    if not (args.resume and runner.finished(j, commit))}
    execute(args, runner, jobs, partial(append_log, ran=ran))


if __name__ == "__main__":
    main()
