"""Compare the figures of two sets of result files, timing aside: does a change reproduce them?

    python -m benchmarks.compare OLD_RESULTS_DIR NEW_RESULTS_DIR --stem b1_hashing_quick ... \\
        --out benchmarks/results/issue17_quick_reproduction --title "..."

Every quality figure of each result file (mAP, entropy, unique codes,
collisions, accuracies, NMI, gates, identical-index checks, ...) is compared
exactly, path by path; run information (commit, device, date, load
average) and timings (seconds, images or queries per second, ms per query
and the ratios made of them) are left out, since they move with the
machine. Writes ``<out>.json`` (every figure, old and new) and ``<out>.md``
(per result file: figures compared, identical, and the headline figures side
by side).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

#: the sections of each result file that hold figures (the rest is run information)
SECTIONS = {
    "b1": ("rows", "retention", "coarse_to_fine_fine_accuracy", "entropy_gain_over_beta0_bits",
           "summary"),
    "b2": ("runs", "settings"),
    "b3": ("parts", "summary"),
    "b4": (),
    "b5": ("results", "targets"),
}
#: keys (or key fragments) of timings and run information, left out
TIMING = ("seconds", "time", "qps", "ms_per", "images_per_second", "over_minimal_loop",
          "speedup", "loadavg", "date", "commit", "wall", "device")


def is_timing(key: str) -> bool:
    return key.endswith("_s") or "_s_" in key or any(t in key for t in TIMING)


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """``{path: leaf}`` of the figures in ``value`` (dict keys joined by ``/``, list items by ``[i]``)."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if not is_timing(str(k)):
                out.update(flatten(v, f"{path}/{k}"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{path}[{i}]"))
    else:
        out[path] = value
    return out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                             and not isinstance(a, bool) and a == b)


def compare(old: dict, new: dict, stem: str) -> dict:
    sections = SECTIONS[stem.split("_", 1)[0]]
    a = flatten({k: old[k] for k in sections if k in old})
    b = flatten({k: new[k] for k in sections if k in new})
    rows = [{"figure": p, "old": a.get(p), "new": b.get(p),
             "identical": p in a and p in b and same(a[p], b[p])} for p in dict.fromkeys([*a, *b])]
    return {"stem": stem, "old_commit": commit(old), "new_commit": commit(new),
            "n_figures": len(rows), "n_identical": sum(r["identical"] for r in rows),
            "differences": [r for r in rows if not r["identical"]], "figures": rows}


def commit(result: dict) -> str:
    for where in (result.get("info", {}), result):
        for key in ("commit", "git_commit"):
            if key in where:
                return str(where[key])
    return "unknown"


def headline_rows(stem: str, old: dict, new: dict) -> list[tuple[str, Any, Any]]:
    """The figures a reader checks first, side by side."""
    out = []
    if stem.startswith("b1"):
        for r_old, r_new in zip(old["rows"], new["rows"]):
            for key in ("test_accuracy", *[k for k in r_old if k.startswith("map@")], "entropy_bits",
                        "unique_percent", "mean_collisions"):
                out.append((f"{r_old['model']}: {key}", r_old.get(key), r_new.get(key)))
        for k, v in old.get("coarse_to_fine_fine_accuracy", {}).items():
            out.append((f"coarse-to-fine fine accuracy, {k}", v, new["coarse_to_fine_fine_accuracy"].get(k)))
    elif stem.startswith("b2"):
        for r_old, r_new in zip(old["runs"], new["runs"]):
            for key in ("test_accuracy", "test_nmi", "test_ari", "n_clusters_used_train"):
                out.append((f"{r_old['name']}: {key}", r_old["selected"][key], r_new["selected"][key]))
            if "heads" in r_old:
                out.append((f"{r_old['name']}: best head", r_old["best_head"], r_new["best_head"]))
                out.append((f"{r_old['name']}: per-head test accuracy",
                            [h["test_accuracy"] for h in r_old["heads"]],
                            [h["test_accuracy"] for h in r_new["heads"]]))
    elif stem.startswith("b3"):
        for p_old, p_new in zip(old["parts"], new["parts"]):
            for row, v in p_old["rows"].items():
                for key in ("independent", "conditioned", "min_single_colour"):
                    if key in v:
                        out.append((f"{p_old['setting']} {row}: {key}", v[key], p_new["rows"][row].get(key)))
            for gate, v in p_old.get("gates", {}).items():
                for key, x in v.items():
                    out.append((f"{p_old['setting']} gate {gate}: {key}", x, p_new["gates"][gate].get(key)))
    elif stem.startswith("b5"):
        for r_old, r_new in zip(old["results"]["map"], new["results"]["map"]):
            out.append((f"mAP@{r_old['k']} {r_old['codes']} {r_old['n_bits']} bits {r_old['ranking']}",
                        r_old["map"], r_new["map"]))
        for r_old, r_new in zip(old["results"]["qps"], new["results"]["qps"]):
            out.append((f"identical to faiss, {r_old['codes']} {r_old['n_bits']} bits k={r_old['k']}",
                        r_old.get("identical_indices"), r_new.get("identical_indices")))
        for r_old, r_new in zip(old["results"]["scale"], new["results"]["scale"]):
            for x, y in zip(r_old["rows"], r_new["rows"]):
                out.append((f"scale {r_old['n_db']} x {r_old['n_bits']} bits k={x['k']}: identical to plain scan",
                            x["identical_to_plain_scan"], y["identical_to_plain_scan"]))
    return out


def cell(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(cell(x) for x in v) + "]"
    return str(v)


def markdown(title: str, intro: str, reports: list[dict], sides: dict) -> str:
    lines = [f"# {title}", "", intro, "",
             "| result file | old commit | new commit | figures compared | identical |",
             "|---|---|---|---|---|"]
    for r in reports:
        lines.append(f"| `{r['stem']}` | `{r['old_commit'][:12]}` | `{r['new_commit'][:12]}` | "
                     f"{r['n_figures']} | {r['n_identical']} |")
    for r in reports:
        lines += ["", f"## {r['stem']}", ""]
        if r["differences"]:
            lines += [f"{len(r['differences'])} figures differ:", "", "| figure | old | new |", "|---|---|---|"]
            lines += [f"| `{d['figure']}` | {cell(d['old'])} | {cell(d['new'])} |" for d in r["differences"]]
            lines.append("")
        else:
            lines += [f"All {r['n_figures']} figures identical (exact comparison). The headline "
                      "figures side by side:", ""]
        lines += ["| figure | old | new | same |", "|---|---|---|---|"]
        lines += [f"| {name} | {cell(a)} | {cell(b)} | {'yes' if same(a, b) else '**no**'} |"
                  for name, a, b in sides[r["stem"]]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="folder of the old result files")
    parser.add_argument("new", type=Path, help="folder of the new result files")
    parser.add_argument("--stem", action="append", required=True, help="result files to compare")
    parser.add_argument("--out", type=Path, required=True, help="<out>.json and <out>.md")
    parser.add_argument("--title", default="Reproduction of the result files")
    parser.add_argument("--intro", default="")
    args = parser.parse_args(argv)
    reports, sides = [], {}
    for stem in args.stem:
        old = json.loads((args.old / f"{stem}.json").read_text())
        new = json.loads((args.new / f"{stem}.json").read_text())
        reports.append(compare(old, new, stem))
        sides[stem] = headline_rows(stem, old, new)
    args.out.with_suffix(".json").write_text(json.dumps(
        {"title": args.title, "old": str(args.old), "new": str(args.new), "reports": reports},
        indent=1) + "\n")
    md = markdown(args.title, args.intro, reports, sides)
    args.out.with_suffix(".md").write_text(md)
    for r in reports:
        print(f"{r['stem']}: {r['n_identical']} / {r['n_figures']} figures identical")


if __name__ == "__main__":
    main()
