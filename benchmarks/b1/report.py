"""B1's result files and tables: the headline (and quick) run, the CPU reference."""

from __future__ import annotations

import numpy as np

from .._report import QUICK, heading, markdown_table, mean_sd, page_opening, result_sections
from .._runner import write_results
from .run import (
    BETA0,
    CPU_C2F_K,
    CPU_K,
    CPU_PER_CLASS,
    CPU_PREFIX_PATH_BITS,
    CPU_SETTINGS,
    EQUAL_SPREAD_BITS,
    PARTS,
)


# ------------------------------------------------------- headline and quick
def ks_of(result: dict) -> tuple[int, int]:
    return (100, 1000) if result["info"].get("quick") else (1000, 5000)


def merge_headline(records: list[dict], stem: str) -> dict:
    """``results/<stem>.{json,md}`` from the part files of one headline (or quick) run."""
    first = records[0]
    out = first["result"]
    info = {**first["info"], "seed": first["seed"], "n_train": out["n_train"], "n_test": out["n_test"],
            "parts": {r["part"]: {"complete": r["complete"], "wall_seconds": r["wall_seconds"]}
                      for r in records}}
    rows = [row for r in records for row in r["result"]["rows"]]
    extra = {k: v for r in records for k, v in r["result"]["extra"].items()}
    by_name = {r["model"]: r for r in rows}
    if "DDTL (defaults)" in by_name and BETA0 in by_name:
        extra["entropy_gain_over_beta0_bits"] = (by_name["DDTL (defaults)"]["entropy_bits"]
                                                 - by_name[BETA0]["entropy_bits"])
    result = {"info": info, "settings": out["settings"], "rows": rows, **extra}
    write_results(stem, result, headline_markdown(result))
    return result


def headline_notes(result: dict) -> list[str]:
    notes = []
    info = result["info"]
    if "entropy_gain_over_beta0_bits" in result:
        notes.append(f"Entropy gain of DDTL over beta=0: {result['entropy_gain_over_beta0_bits']:.2f} bits.")
    if "coarse_to_fine_fine_accuracy" in result:
        notes.append("Coarse-to-fine fine-class accuracy: " + ", ".join(
            f"{k} {v:.3f}" for k, v in result["coarse_to_fine_fine_accuracy"].items()) + ".")
    parts = info.get("parts", {})
    missing = [name for name in PARTS if name not in parts or not parts[name]["complete"]]
    if missing:
        notes.append(f"Parts not run or stopped before the end (time limit): {', '.join(missing)}.")
    if info.get("concurrent"):
        notes.append("Parts ran concurrently on the one card: fit times are upper bounds.")
    return notes


def headline_title(result: dict) -> str:
    info = result["info"]
    return (f"B1 hashing, Fashion-MNIST {'QUICK CPU subset' if info.get('quick') else 'full'} "
            f"({info['n_train']} train / {info['n_test']} test), {info['device_name']}, "
            f"commit {info['commit'][:8]}")


def headline_table(result: dict) -> str:
    ks = ks_of(result)
    k0 = ks[0]
    header = ["model", "bits", "test acc", f"mAP@{k0} code", f"mAP@{k0} hamming",
              f"mAP@{ks[1]} code", "entropy (ref)", "unique % (ref)", "mean collisions (ref)",
              "fit s"]

    def ref(r, key, fmt):
        value = format(r[key], fmt)
        return value if f"reference_{key}" not in r else f"{value} ({format(r[f'reference_{key}'], fmt)})"

    rows = [[r["model"], r["n_bits"], "-" if r["test_accuracy"] is None else r["test_accuracy"],
             r[f"map@{k0}_code"], r[f"map@{k0}_hamming"], r[f"map@{ks[1]}_code"],
             ref(r, "entropy_bits", ".2f"), ref(r, "unique_percent", ".1f"),
             ref(r, "mean_collisions", ".2f"), "-" if r["fit_seconds"] is None else r["fit_seconds"]]
            for r in result["rows"]]
    return markdown_table(header, rows)


def headline_markdown(result: dict, level: int = 3) -> str:
    return (f"{heading(level, headline_title(result))}\n\n" + headline_table(result) + "\n"
            + " ".join(headline_notes(result)) + "\n")


# ------------------------------------------------------------ CPU reference
def cpu_summary(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds of every numeric figure, per model."""
    out = []
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        summary = {"model": name, "n_seeds": len(mine)}
        for key, value in mine[0].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) or value is None:
                summary[key], summary[key + "_sd"] = mean_sd([r[key] for r in mine])
            elif isinstance(value, list) and value and isinstance(value[0], float):
                summary[key] = np.mean([r[key] for r in mine], axis=0).tolist()
                summary[key + "_sd"] = np.std([r[key] for r in mine], axis=0).tolist()
        out.append(summary)
    return out


def join_coarse(summary: list[dict], coarse: list[dict]) -> list[dict]:
    """The coarse-to-fine figures (``c2f_*``) beside the row of the same model; models
    only the coarse part has (the pixel reference) are appended."""
    by_name = {r["model"]: r for r in coarse}
    out = [{**r, **{k: v for k, v in by_name.get(r["model"], {}).items()
                    if k.startswith(("c2f_", "coarse_"))}} for r in summary]
    names = {r["model"] for r in summary}
    return out + [r for r in coarse if r["model"] not in names]


def merge_cpu(records: list[dict], stem: str = "b1_hashing_cpu") -> dict:
    """``results/b1_hashing_cpu.{json,md}`` from the part files (every seed found)."""
    first = records[0]
    seeds = sorted({r["seed"] for r in records})
    rows = [row for r in records if r["part"] != "coarse" for row in r["result"]["rows"]]
    coarse = [row for r in records if r["part"] == "coarse" for row in r["result"]["rows"]]
    info = {**first["info"], "seed": seeds[0], "quick": False,
            "n_train": first["result"]["n_train"], "n_test": first["result"]["n_test"],
            "seeds": seeds, "settings": str(CPU_SETTINGS),
            "wall_seconds": sum(r["wall_seconds"] for r in records),
            "parts": {f"{r['part']}.{r['seed']}": {"complete": r["complete"],
                                                    "commit": r["info"]["commit"],
                                                    "wall_seconds": r["wall_seconds"]}
                      for r in records}}
    summary = join_coarse(cpu_summary(rows), cpu_summary(coarse))
    result = {"info": info, "summary": summary, "rows": rows, "coarse_rows": coarse}
    write_results(stem, result, cpu_markdown(result))
    return result


def cpu_title(info: dict) -> str:
    return (f"B1 hashing, CPU reference setting: Fashion-MNIST {info['n_train']} train "
            f"({CPU_PER_CLASS} per class) / {info['n_test']} test, 4 + 12 bits, MLP, "
            f"{CPU_SETTINGS['max_epochs']} epochs, seeds {info['seeds']}, {info['device_name']}, "
            f"commit {info['commit'][:8]}")


#: (kind, strength) of the retention columns: the medium strength of each perturbation
RETENTION_COLUMNS = (("jitter", 0.2), ("occlusion", 0.2), ("noise", 0.05))


def _pm(row, key, scale=1.0, digits=2, index=None):
    """``mean ± sd`` of ``row[key]`` (``row[key][index]`` for curves); "-" when absent."""
    value, sd = row.get(key), row.get(key + "_sd")
    if value is None:
        return "-"
    if index is not None:
        value, sd = value[index], (sd or [0.0] * len(value))[index]
    return f"{scale * value:.{digits}f} ± {scale * (sd or 0.0):.{digits}f}"


def cpu_table(summary: list[dict]) -> str:
    """Spread, retrieval and invariance: one row per model."""
    def with_ref(row, key, ref_key, scale=1.0, digits=2):
        if row.get(key) is None:
            return "-"
        return f"{_pm(row, key, scale, digits)} ({scale * row[ref_key]:.{digits}f})"

    six = CPU_PREFIX_PATH_BITS.index(6)
    header = ["model", "test acc", f"mAP@{CPU_K} code", "train entropy (ref)", "unique % (ref)",
              "mean collisions (ref)", "test-code entropy (ref)", "kept under a view",
              f"kept under a view at {EQUAL_SPREAD_BITS:g} bits",
              *(f"kept: {kind} {s:g}" for kind, s in RETENTION_COLUMNS), "fit s"]
    lines = [[r["model"], _pm(r, "test_accuracy", digits=3), _pm(r, f"map@{CPU_K}_code", digits=3),
              with_ref(r, "entropy_bits", "reference_entropy_bits"),
              with_ref(r, "unique_percent", "reference_unique_percent", digits=1),
              with_ref(r, "mean_collisions", "reference_mean_collisions"),
              with_ref(r, "test_entropy_bits", "test_reference_entropy_bits"),
              _pm(r, "view_retention_half_path", digits=2),
              _pm(r, "view_retention_at_equal_spread", digits=2),
              *(_pm(r, f"retention_{kind}_{s:g}", digits=2, index=six)
                for kind, s in RETENTION_COLUMNS),
              _pm(r, "fit_seconds", digits=0)]
             for r in summary if "entropy_bits" in r]
    return markdown_table(header, lines, floats=None)


def c2f_table(summary: list[dict]) -> str:
    """Coarse-to-fine: each model fitted on the 5 super-classes, read with the 10 classes."""
    rows = [r for r in summary if r.get("c2f_knn_accuracy") is not None]
    if not rows:
        return ""
    lengths = (0, *CPU_PREFIX_PATH_BITS, CPU_SETTINGS["n_path_bits"])
    header = ["model (fitted on super-classes)", "super-class test acc",
              f"fine acc, {CPU_C2F_K}-NN in code order",
              *(f"fine acc, leaf at class + {l} path bits" for l in lengths)]
    lines = [[r["model"], _pm(r, "coarse_test_accuracy", digits=3),
              _pm(r, "c2f_knn_accuracy", digits=3),
              *(_pm(r, f"c2f_leaf_accuracy_path{l}", digits=3) for l in lengths)]
             for r in rows]
    return markdown_table(header, lines, floats=None)


def cpu_notes(info: dict) -> str:
    lengths = " and ".join(str(l) for l in CPU_PREFIX_PATH_BITS)
    return ("Mean ± standard deviation over seeds; (ref) is the random reference for the same "
            "labels and depth (each item of a class in a uniformly random leaf; exact "
            "expectation, `sklproxy.metrics.hash_spread`), for the training codes and for the "
            "test codes. 'kept under a view': share of test items whose class bits and first 6 "
            "path bits are unchanged when the image is replaced by one random training view; "
            f"'at {EQUAL_SPREAD_BITS:g} bits': the same for the shortest code prefix whose "
            f"training codes reach {EQUAL_SPREAD_BITS:g} bits of entropy (linear between "
            "prefixes; '-' when the whole code spreads less), so that codes of different "
            "spread are compared at the same spread; "
            "'kept: kind s': the same under one perturbation of strength s "
            "(`sklproxy.metrics.hash_retention_curves`: colour jitter of contrast and "
            "brightness in [1 - s, 1 + s], a square of side s x 28 px set to black, Gaussian "
            "pixel noise of sd s; the JSON holds strengths light/medium/strong at class + "
            f"{lengths} path bits). Coarse-to-fine (second table): every model refitted on "
            "Fashion-MNIST's 5 super-classes (3 class bits) and its training codes read with "
            "their 10 fine labels (`sklproxy.metrics.coarse_to_fine_accuracy`); leaves back off "
            "to their nearest populated ancestor. "
            f"Whole run: {info['wall_seconds'] / 60:.1f} min on a shared 2-core machine "
            f"({info['threads']} thread(s)).")


def cpu_markdown(result: dict, level: int = 3) -> str:
    info = result["info"]
    return (f"{heading(level, cpu_title(info))}\n\n" + cpu_table(result["summary"]) + "\n"
            + c2f_table(result["summary"]) + "\n" + cpu_notes(info) + "\n")


# ------------------------------------------------------- the benchmarks page
ABOUT = """\
DDTL (4 class bits + 12 path bits) against its own ablations and the
baselines: the published loss (`splits="learned"`, `tau=1`), the
supervised-only fit (`beta=0`: the tree head is never trained), the
thesis's supervised-only ablation (class-only codes: one code per
predicted class), CrPCA (the same classifier + repeated PCA on pixels), the
unsupervised mode (`alpha=0`) and ITQ / LSH on pixels. Figures: mAP@k of
the test queries against the training codes in code order (and Hamming
order), test accuracy of the class head, and the spread of the training
codes (entropy, share of unique codes, mean collisions), each beside the
random reference for the same labels and depth
(`sklproxy.metrics.hash_spread`: each item of a class in a uniformly random
leaf). What the codes mean, for every row of the CPU reference: the share of
codes kept under one training view and under colour jitter, occlusion and
pixel noise (`sklproxy.metrics.hash_retention_curves`), and coarse-to-fine
accuracy (fitted on 5 super-classes, read with the 10 classes;
`sklproxy.metrics.coarse_to_fine_accuracy`). The [methods page](methods.md)
(DDTL) discusses what the figures mean for the defaults."""

TARGETS = [
    "mAP@1000, 16 bits, code order (GPU headline): >= 0.95; headline fit time <= 5 min",
    "training-code entropy >= the random reference - 0.3 bits",
    "unique codes >= 90 %, mean collisions <= 2x the reference's",
    "CPU reference: code-order mAP@1000 unchanged by median splits (within 0.01); "
    "spread over class-only codes >= 8 bits",
    "CPU reference at the defaults: kept under a view (class + 6 path bits) >= the published "
    "loss's; coarse-to-fine 10-NN fine accuracy >= the published loss's + 3 points and >= "
    "CrPCA's + 3 points; mAP@1000 and test accuracy within 0.01 of the median splits'",
]


def page(load, figure, level: int = 2) -> str:
    """B1's section of ``docs/benchmarks.md``; ``load(stem)`` gives a result JSON or None."""
    head = load("b1_hashing")
    lines = page_opening(level, "B1: hashing (DDTLHasher)", ABOUT, TARGETS, head, "b1")
    if head is not None:
        lines += [f"*{headline_title(head)}.*", ""]
        if not any(r["model"] == "DDTL (defaults)" for r in head["rows"]):
            lines += ["This run predates the current headline settings: its rows carry the "
                      "names and defaults of its commit. Rerun it with `python -m benchmarks.b1` "
                      "on one GPU.", ""]
        lines += [headline_table(head), " ".join(headline_notes(head)), ""]
    cpu = load("b1_hashing_cpu")
    if cpu is not None:
        info = cpu["info"]
        lines += [heading(level + 1, "CPU reference: Fashion-MNIST 1500 images per class"), "",
                  f"*{cpu_title(info)}.* `python -m benchmarks.b1 --cpu`.", "",
                  cpu_table(cpu["summary"]), c2f_table(cpu["summary"]), cpu_notes(info), "",
                  figure("b1_level_bits_cpu.png",
                         "Bits gained within a class at each level of the tree (training codes, "
                         "mean over the seeds) for the models of the table above; dotted: the "
                         "random reference."), ""]
    lines += result_sections(load, level + 1, [("b1_hashing_quick", QUICK, "python -m benchmarks.b1 --quick")],
                             lambda quick, command: [
                                 f"*{headline_title(quick)}.* `{command}`: the headline pipeline on "
                                 "4000 / 1000 images with a small ConvNet, to show it runs.", "",
                                 headline_table(quick), " ".join(headline_notes(quick))], missing=False)
    return "\n".join(lines)
