"""B2's result files and tables: the CPU reference (paired seeds) and the headline run."""

from __future__ import annotations

import json
import os
import platform

import torch

from sklproxy.cluster import DHOGClusterer, HeadOptions

from .._report import QUICK, heading, mean_pm_sd, page_opening, result_sections, seed_stats
from .._runner import RESULTS, write_results
from .run import HEADLINE_PARTS, METHODS, SETTINGS, TARGETS

NAMES = {"dhog": "DHOG", "iic": "IIC (alpha=0)", "kmeans": "k-means on pixels"}
MET = {True: "met", False: "NOT met", None: "incomplete"}


# ------------------------------------------------------------ CPU reference
def defaults() -> dict:
    """DHOGClusterer's defaults, the heads' options spelled out (``heads__hidden`` ...)."""
    params = {k: v for k, v in DHOGClusterer().get_params(deep=False).items()
              if k not in ("device", "random_state", "verbose", "heads")}
    params.update({f"heads__{k}": v for k, v in HeadOptions().get_params().items()})
    return dict(sorted(params.items()))


def summarise(records: list[dict], settings: list[str]) -> dict:
    """Mean and spread per setting and method, paired DHOG - alpha=0 differences, targets."""
    out = {}
    for setting in settings:
        by = {m: sorted((r for r in records if r["setting"] == setting and r["method"] == m),
                        key=lambda r: r["seed"]) for m in METHODS}
        summary: dict = {}
        for m, rs in by.items():
            if not rs:
                continue
            runs = [r["run"] for r in rs]
            entry = {"seeds": [r["seed"] for r in rs],
                     "test_accuracy": seed_stats(r["selected"]["test_accuracy"] for r in runs),
                     "test_nmi": seed_stats(r["selected"]["test_nmi"] for r in runs),
                     "clusters_used": seed_stats(r["selected"]["n_clusters_used_train"] for r in runs),
                     "fit_cpu_seconds": seed_stats(r["fit_cpu_seconds"] for r in runs)}
            if "heads" in runs[0]:
                n_heads = len(runs[0]["heads"])
                entry["posthoc_test_accuracy"] = seed_stats(r["posthoc"]["test_accuracy"] for r in runs)
                entry["best_head"] = [r["best_head"] for r in runs]
                entry["per_head_test_accuracy"] = [
                    seed_stats(r["heads"][h]["test_accuracy"] for r in runs) for h in range(n_heads)]
                entry["per_head_train_nmi_between_views"] = [
                    seed_stats(r["train_nmi_between_views"][h] for r in runs) for h in range(n_heads)]
                for key in ("brightness", "size", "earlier_heads"):
                    if f"train_nmi_{key}" in runs[0]["heads"][0]:
                        entry[f"per_head_train_nmi_{key}"] = [
                            None if runs[0]["heads"][h][f"train_nmi_{key}"] is None else
                            seed_stats(r["heads"][h][f"train_nmi_{key}"] for r in runs)
                            for h in range(n_heads)]
                if "train_nmi_nuisance" in runs[0]["heads"][0]:
                    entry["per_head_train_nmi_nuisance"] = [
                        seed_stats(r["heads"][h]["train_nmi_nuisance"] for r in runs)
                        for h in range(n_heads)]
                    entry["selected_train_nmi_nuisance"] = seed_stats(
                        r["heads"][r["best_head"]]["train_nmi_nuisance"] for r in runs)
            summary[m] = entry
        if by["dhog"] and by["iic"]:
            pairs = {r["seed"]: r["run"]["selected"]["test_accuracy"] for r in by["iic"]}
            diffs = [r["run"]["selected"]["test_accuracy"] - pairs[r["seed"]]
                     for r in by["dhog"] if r["seed"] in pairs]
            summary["dhog_minus_iic"] = {**seed_stats(diffs),
                                         "dhog_ahead": int(sum(d > 0 for d in diffs))}
        summary["target"] = TARGETS[setting]
        summary["target_met"] = target_met(setting, summary)
        out[setting] = summary
    return {"settings": out}


def target_met(setting: str, s: dict) -> bool | None:
    if not all(m in s for m in METHODS):
        return None
    dhog = s["dhog"]["test_accuracy"]["mean"]
    km = s["kmeans"]["test_accuracy"]["mean"]
    if setting == "digits-colour":
        return bool(s["dhog_minus_iic"]["mean"] >= 0.05 and dhog >= km)
    if setting == "fmnist-20k-28":
        d = s["dhog_minus_iic"]
        return bool(dhog >= 0.65 and d["mean"] >= 0.03 and d["dhog_ahead"] == len(d["values"]))
    return bool(dhog >= km + (0.02 if setting == "digits" else 0.05))


def merge_cpu(records: list[dict], stem: str, n_jobs: int) -> dict:
    """``results/<stem>.{json,md}`` from the part files (records as the old runner wrote them)."""
    old = [{"setting": r["setting"], "method": r["part"], "seed": r["seed"],
            "git_commit": r["info"]["commit"], "params": {}, "run": r["result"]} for r in records]
    previous = RESULTS / f"{stem}.json"
    if previous.exists():  # the fits of an earlier run without part files here stay in the table
        have = {(r["setting"], r["method"], r["seed"]) for r in old}
        old += [r for r in json.loads(previous.read_text()).get("records", [])
                if (r["setting"], r["method"], r["seed"]) not in have]
    settings = [s for s in SETTINGS if any(r["setting"] == s for r in old)]
    result = summarise(old, settings)
    result.update({
        "benchmark": "B2 clustering (DHOGClusterer), CPU reference",
        "git_commit": ", ".join(dict.fromkeys(r["git_commit"] for r in old)),
        "device": f"cpu ({platform.processor() or platform.machine()}), one thread per fit, "
                  f"{n_jobs} fits at a time, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "wall_seconds": sum(r["wall_seconds"] for r in records),
        "defaults": defaults(),
        "records": old,
    })
    write_results(stem, result, cpu_markdown(result), indent=1)
    return result


def cpu_intro(result: dict) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in result["defaults"].items()
                      if k not in ("augment", "image_shape", "use_amp"))
    return (f"commit {result['git_commit']}; {result['device']}; torch {result['torch']}; "
            f"DHOGClusterer defaults ({shown}); "
            "`alpha=0` is the IIC ablation with the same seed; k-means on pixels (n_init=10). "
            "Held-out accuracy of the unsupervised head choice under the Hungarian mapping "
            "fitted on the training set; mean +- std over seeds; CPU seconds per fit (one "
            "thread; the machine was shared, wall times are longer).")


def setting_markdown(setting: str, s: dict, level: int = 2) -> list[str]:
    """The tables of one setting: methods, the paired difference, the target, the heads."""
    lines = [heading(level, setting), "",
             "| method | test acc | posthoc head acc | test NMI | clusters used | "
             "nuisance NMI (chosen head) | CPU s |", "|---|---|---|---|---|---|---|"]
    for m in METHODS:
        if m not in s:
            continue
        e = s[m]
        post = mean_pm_sd(e["posthoc_test_accuracy"]) if "posthoc_test_accuracy" in e else "-"
        nuis = mean_pm_sd(e["selected_train_nmi_nuisance"]) if "selected_train_nmi_nuisance" in e \
            else "-"
        lines.append(f"| {NAMES[m]} | {mean_pm_sd(e['test_accuracy'])} | {post} | "
                     f"{mean_pm_sd(e['test_nmi'])} | {e['clusters_used']['mean']:.1f} | {nuis} | "
                     f"{e['fit_cpu_seconds']['mean']:.0f} |")
    if "dhog_minus_iic" in s:
        d = s["dhog_minus_iic"]
        lines += ["", f"DHOG - IIC, paired by seed: {mean_pm_sd(d)} "
                      f"(DHOG ahead on {d['dhog_ahead']} of {len(d['values'])} seeds; "
                      f"per seed {', '.join(f'{v:+.3f}' for v in d['values'])})."]
    lines += ["", f"Target: {s['target']}: {MET[s['target_met']]}.", ""]
    head_rows = []
    for m in ("dhog", "iic"):
        if m not in s or "per_head_test_accuracy" not in s[m]:
            continue
        e = s[m]
        head_rows.append(f"| {NAMES[m]} test acc | " + " | ".join(
            f"{x['mean']:.3f}" for x in e["per_head_test_accuracy"]) + " |")
        head_rows.append(f"| {NAMES[m]} train NMI between views | " + " | ".join(
            f"{x['mean']:.3f}" for x in e["per_head_train_nmi_between_views"]) + " |")
        if "per_head_train_nmi_nuisance" in e:
            head_rows.append(f"| {NAMES[m]} NMI with the colour | " + " | ".join(
                f"{x['mean']:.3f}" for x in e["per_head_train_nmi_nuisance"]) + " |")
        for key, label in (("brightness", "brightness deciles"), ("size", "size deciles"),
                           ("earlier_heads", "earlier heads (mean)")):
            if f"per_head_train_nmi_{key}" in e:
                head_rows.append(f"| {NAMES[m]} NMI with {label} | " + " | ".join(
                    "-" if x is None else f"{x['mean']:.3f}"
                    for x in e[f"per_head_train_nmi_{key}"]) + " |")
    if head_rows:
        n = head_rows[0].count("|") - 2
        lines += ["| per head (shallow to deep) | " + " | ".join(f"h{i}" for i in range(n)) + " |",
                  "|---|" + "---|" * n, *head_rows]
    lines.append("")
    return lines


def cpu_markdown(result: dict, level: int = 1) -> str:
    lines = [heading(level, "B2 clustering: CPU reference (paired seeds)"), "", cpu_intro(result), ""]
    for setting, s in result["settings"].items():
        lines += setting_markdown(setting, s, level + 1)
    return "\n".join(lines)


# ------------------------------------------------------- GPU headline run
def merge_headline(records: list[dict], stem: str) -> dict:
    """``results/<stem>.{json,md}`` from the parts that finished (DHOG, alpha=0, k-means)."""
    first = records[0]
    info = first["info"]
    result = {"benchmark": "B2 clustering (DHOGClusterer), Fashion-MNIST", "quick": info["quick"],
              "git_commit": info["commit"], "device": info["device_name"], "torch": info["torch"],
              "seed": first["seed"], "n_train": first["result"]["n_train"],
              "n_test": first["result"]["n_test"], "concurrent": info["concurrent"],
              "params": first["result"]["params"], "info": info,
              "wall_seconds_parts": {r["part"]: r["wall_seconds"] for r in records}}
    done = [r for r in records if r["complete"]]
    result["missing_parts"] = [p for p in HEADLINE_PARTS if p not in {r["part"] for r in done}]
    result["runs"] = [r["result"]["run"] for r in done]
    write_results(stem, result, headline_markdown(result), indent=1)
    return result


def headline_label(result: dict) -> str:
    return ("CPU QUICK RUN (3k-image subset, small ConvNet; not a headline figure)"
            if result["quick"] else "headline run")


def headline_body(result: dict) -> str:
    """The run line, the table of the runs and, for the runs with heads, the per-head table."""
    lines = [f"device: {result['device']}; torch {result['torch']}; commit "
             f"{result['git_commit']}; seed {result['seed']}; train n={result['n_train']}, "
             f"test n={result['n_test']}; epochs {result['params']['max_epochs']}", "",
             "| method | head | test acc | test NMI | test ARI | train NMI (views) | fit s |",
             "|---|---|---|---|---|---|---|"]
    for r in result["runs"]:
        s = r["selected"]
        nmi = f"{r['train_nmi_between_views'][r['best_head']]:.3f}" if "heads" in r else "-"
        lines.append(f"| {r['name']} | {r.get('best_head', '-')} | {s['test_accuracy']:.3f} | "
                     f"{s['test_nmi']:.3f} | {s['test_ari']:.3f} | {nmi} | "
                     f"{r['fit_seconds']:.0f} |")
    heads = [r for r in result["runs"] if r.get("heads")]
    if heads:  # only runs that have heads (DHOG, alpha=0): k-means has none
        n = len(heads[0]["heads"])
        lines += ["", "Test accuracy per head (shallow to deep):", "",
                  "| method | " + " | ".join(f"h{i}" for i in range(n)) + " |", "|---|" + "---|" * n]
        lines += [f"| {r['name']} | " + " | ".join(f"{h['test_accuracy']:.3f}" for h in r["heads"])
                  + " |" for r in heads]
    if result["missing_parts"]:
        lines += ["", f"Runs not finished (time limit): {', '.join(result['missing_parts'])}"
                      + ("; no per-head table without them." if not heads else ".")]
    if result.get("concurrent"):
        lines += ["", "The runs shared the one card concurrently: fit times are upper bounds."]
    return "\n".join(lines) + "\n"


def headline_markdown(result: dict, level: int = 1) -> str:
    return (heading(level, f"B2 clustering, Fashion-MNIST: {headline_label(result)}") + "\n\n"
            + headline_body(result))


# ------------------------------------------------------- the benchmarks page
ABOUT = """\
DHOG fitted without labels, beside its `alpha=0` ablation (IIC on the same
network and seed) and k-means on pixels. Clusters are mapped to classes by
the Hungarian method on the training set; the tables give the held-out
accuracy, NMI and ARI of the head DHOG picks without labels (`best_head_`),
the best head posthoc, every head's accuracy (shallow to deep) and, where
the data carry a nuisance (a background colour drawn independently of the
digit), every head's NMI with it. The [methods page](methods.md) (DHOG)
discusses the view policy and the push term."""

PAGE_TARGETS = [
    "GPU headline (full Fashion-MNIST): DHOG test accuracy >= 0.70, >= 3 points above `alpha=0`",
    *[f"CPU reference, {setting}: {target}" for setting, target in TARGETS.items()],
]


def page(load, figure, level: int = 2) -> str:
    """B2's section of ``docs/benchmarks.md``."""
    head = load("b2_clustering")
    lines = page_opening(level, "B2: clustering (DHOGClusterer)", ABOUT, PAGE_TARGETS, head, "b2")
    if head is not None:
        lines += [headline_body(head), ""]
    cpu = load("b2_clustering_cpu")
    if cpu is not None:
        lines += [heading(level + 1, "CPU reference: paired seeds at the defaults"), "",
                  cpu_intro(cpu) + " `python -m benchmarks.b2 --cpu`.", ""]
        for setting, s in cpu["settings"].items():
            lines += setting_markdown(setting, s, level + 2)
        lines += [figure("b2_clustering_cpu_per_head.png",
                         "Mean test accuracy of every head (shallow to deep) in each CPU setting, "
                         "DHOG against `alpha=0`; error bars: standard deviation over the seeds; "
                         "dashed: k-means on pixels."), ""]
    lines += result_sections(load, level + 1,
                             [("b2_clustering_quick_cpu", QUICK, "python -m benchmarks.b2 --quick")],
                             lambda quick, command: [
                                 f"`{command}`: the headline pipeline on 3000 / 1000 images with a "
                                 "small ConvNet and 4 heads, to show it runs.", "", headline_body(quick)],
                             missing=False)
    return "\n".join(lines)
