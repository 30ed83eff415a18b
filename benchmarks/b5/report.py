"""B5's result file and tables."""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from typing import Any

import numpy as np

from .._report import bullet_list, heading, result_sections
from .._runner import RESULTS, write_results
from .run import PARTS, sizes


def version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def merge(records: list[dict], stem: str, quick: bool, repeats: int, n_jobs: int) -> dict:
    """``results/<stem>.{json,md}``; sections without a part file come from the last JSON."""
    found = {r["part"]: r for r in records}
    results: dict[str, Any] = {p: found[p]["result"]["rows"] if p in found else [] for p in PARTS}
    previous = RESULTS / f"{stem}.json"
    kept = [p for p in PARTS if p not in found]
    if kept and previous.exists():
        old = json.loads(previous.read_text())["results"]
        results.update({p: old.get(p, []) for p in kept})
    first, last = records[0], records[-1]
    s = sizes(quick)
    target_map = [r for r in results["map"] if r["n_bits"] == 64]
    scale_rows = [row for r in results["scale"] for row in r["rows"]]
    ratios = [r["qps_ratio"] for r in results["qps"] if "qps_ratio" in r]
    report = {
        "benchmark": "B5 retrieval speed (CPU)",
        "quick": quick,
        "git_commit": first["info"]["commit"],
        "machine": {
            "cpu": first["info"]["cpu"],
            "n_cpus_available": len(os.sched_getaffinity(0)),
            "platform": platform.platform(),
            "loadavg_start": first["info"]["loadavg"],
            "loadavg_end": last["result"].get("loadavg_end", last["info"]["loadavg"]),
        },
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": version("torch"),
            "faiss": version("faiss-cpu"),
        },
        "seed": first["seed"],
        "n_jobs": n_jobs,
        "n_db": s["n_db"],
        "n_queries": s["n_q"],
        "repeats_map": repeats,
        "repeats_qps": max(1, repeats - 2),
        "results": results,
        "targets": {
            "map_64bit_max_s": 1.0,
            "map_64bit_worst_median_s": max(r["median_s"] for r in target_map) if target_map else None,
            "scale_ms_per_query_max": 1.0,
            "scale_worst_ms_per_query_batched": max((r["ms_per_query_batched"] for r in scale_rows), default=None),
            "scale_worst_ms_per_query_single": max((r["ms_per_query_single_median"] for r in scale_rows),
                                                   default=None),
            "scale_identical": all(r["identical_to_plain_scan"] for r in scale_rows),
            "qps_ratio_min": 1.0,
            "qps_ratio_worst": min(ratios) if ratios else None,
        },
        "wall_time_s": sum(r["wall_seconds"] for r in records),
        "parts": {r["part"]: {"commit": r["info"]["commit"], "complete": r["complete"],
                              "wall_seconds": r["wall_seconds"]} for r in records},
    }
    if kept and previous.exists():
        report["sections_from_previous_json"] = kept
    write_results(stem, report, markdown(report))
    return report


def intro(rep: dict[str, Any]) -> str:
    m = rep["machine"]
    return (f"{rep['n_queries']} queries x {rep['n_db']} database codes, {rep['n_jobs']} threads, "
            f"{m['cpu']} ({m['n_cpus_available']} CPUs), numpy {rep['versions']['numpy']}, "
            f"faiss {rep['versions']['faiss']}, seed {rep['seed']}, commit `{rep['git_commit'][:10]}`. "
            f"Load average at start/end: {m['loadavg_start'][0]:.2f} / {m['loadavg_end'][0]:.2f} "
            f"(other jobs on the machine slow every figure alike). Medians of "
            f"{rep['repeats_map']} (mAP) / {rep['repeats_qps']} (QPS) runs.")


def map_table(rep: dict[str, Any]) -> list[str]:
    lines = ["| codes | bits | ranking | k | median wall (s) | min wall (s) | median CPU (s, all threads) | mAP |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rep["results"]["map"]:
        lines.append(
            f"| {r['codes']} | {r['n_bits']} | {r['ranking']} | {r['k']} | "
            f"{r['median_s']:.3f} | {r['min_s']:.3f} | {r['median_cpu_s']:.3f} | {r['map']:.4f} |"
        )
    kernels = [r for r in rep["results"]["map"] if "kernels" in r]
    if kernels:
        lines += ["", "Hamming top-k kernels, 64 bits (the table above: compiled, numba installed):", "",
                  "| codes | compiled, wall (s) | NumPy only, wall (s) | same mAP | compiled, CPU (s) | "
                  "popcount floor, one thread (s) | CPU / floor |", "|---|---|---|---|---|---|---|"]
        for r in kernels:
            kern = r["kernels"]
            lines.append(f"| {r['codes']} | {r['median_s']:.3f} | {kern['numpy_median_s']:.3f} | "
                         f"{kern['numpy_map'] == r['map']} | {r['median_cpu_s']:.3f} | "
                         f"{kern['popcount_s']:.3f} | {r['median_cpu_s'] / kern['popcount_s']:.1f}x |")
        lines += ["", "The floor is the bare popcount of every query XOR item on one thread (numba): "
                  "the work no exact Hamming search can skip; the CPU seconds of the mAP include the "
                  "top-k selection and the average precision of the 1000 results per query."]
    return lines


def qps_table(rep: dict[str, Any]) -> list[str]:
    lines = ["| codes | bits | k | HammingIndex hamming QPS | faiss QPS (n_jobs threads / 1 thread) | "
             "ratio to best faiss | identical indices | HammingIndex code-order QPS |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rep["results"]["qps"]:
        ours = f"{r['hamming_index']['qps']:.0f}"
        code = f"{r['hamming_index_code_ranking']['qps']:.0f}"
        if "faiss_flat" in r:
            faiss_cols = (
                f"{r['faiss_flat']['qps']:.0f} / {r['faiss_flat_1thread']['qps']:.0f} | "
                f"{r['qps_ratio']:.2f} | {r['identical_indices']}"
            )
        else:
            faiss_cols = "- | - | -"
        lines.append(f"| {r['codes']} | {r['n_bits']} | {r['k']} | {ours} | {faiss_cols} | {code} |")
    return lines


def scale_table(rep: dict[str, Any]) -> list[str]:
    lines = ["| codes | bits | segments | build by add (s) | k | HammingIndex ms/query (1000 batched) | "
             "HammingIndex ms/query (single calls) | plain NumPy scan ms/query | faiss IndexBinaryFlat "
             "ms/query (Hamming, 1 thread) | identical to plain scan |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rep["results"]["scale"]:
        for row in r["rows"]:
            f = row.get("faiss_flat_hamming_ms_per_query_1thread")
            lines.append(
                f"| {r['n_db']:,} | {r['n_bits']} | {r['n_segments']} | {r['build_by_add_s']:.1f} | "
                f"{row['k']} | {row['ms_per_query_batched']:.3f} | {row['ms_per_query_single_median']:.3f} | "
                f"{row['plain_scan_ms_per_query']:.1f} | {'-' if f is None else f'{f:.1f}'} | "
                f"{row['identical_to_plain_scan']} ({row['n_checked']} queries) |"
            )
    return lines


def targets_lines(rep: dict[str, Any]) -> list[str]:
    t = rep["targets"]
    fmt = lambda v, d=3: "-" if v is None else f"{v:.{d}f}"  # noqa: E731
    return [
        f"Scale target: <= {t.get('scale_ms_per_query_max', 1.0)} ms per query; worst "
        f"{fmt(t.get('scale_worst_ms_per_query_batched'))} (batched) / "
        f"{fmt(t.get('scale_worst_ms_per_query_single'))} (single calls).",
        "",
        f"Targets: mAP 64-bit worst median {fmt(t['map_64bit_worst_median_s'])} s "
        f"(target <= {t['map_64bit_max_s']} s); worst QPS ratio "
        f"{t['qps_ratio_worst'] if t['qps_ratio_worst'] is None else round(t['qps_ratio_worst'], 2)} "
        f"(target >= {t['qps_ratio_min']}). Wall time {rep['wall_time_s']:.0f} s.",
    ]


def markdown(rep: dict[str, Any], level: int = 1) -> str:
    lines = [heading(level, f"B5 retrieval speed (CPU){' - quick' if rep['quick'] else ''}"), "",
             intro(rep), "", heading(level + 1, "mean_average_precision"), "", *map_table(rep), "",
             heading(level + 1, "kneighbors QPS: HammingIndex vs faiss IndexBinaryFlat (same codes, same run)"),
             "", *qps_table(rep)]
    if rep["results"].get("scale"):
        lines += ["", heading(level + 1, "Code order at scale: memory-mapped, grown by add "
                                         "(random codes, one thread)"), "", *scale_table(rep)]
    lines += ["", *targets_lines(rep), ""]
    return "\n".join(lines)


# ------------------------------------------------------- the benchmarks page
ABOUT = """\
Retrieval speed on the CPU (a CPU benchmark by design): the time of
`sklproxy.metrics.mean_average_precision` (10k queries against 60k codes,
realistic DDTL-like codes and uniformly random codes, both rankings),
queries per second of `HammingIndex.kneighbors` against faiss
`IndexBinaryFlat` on the same codes in the same run (and whether both
return the same indices), and code-order top-k on 1M and 10M codes,
memory-mapped and grown by `HammingIndex.add`, against a plain NumPy scan
that the results must equal. Timings move with the other jobs of a shared
machine: each table gives the load average of its run."""

PAGE_TARGETS = [
    "mAP@1000, 10k x 60k codes, 64 bits, 2 cores: <= 1 s in either ranking",
    "`HammingIndex` QPS / faiss `IndexBinaryFlat` QPS >= 1.0 at k = 100 and 1000, identical results",
    "code order at scale: <= 1 ms per query",
]


def body(rep: dict[str, Any], level: int) -> str:
    """Everything below the title, the sections' headings at ``level``."""
    return markdown(rep, level - 1).split("\n", 2)[2]


def page(load, figure, level: int = 2) -> str:
    """B5's section of ``docs/benchmarks.md``."""
    lines = [heading(level, "B5: retrieval speed (HammingIndex, CPU)"), "", ABOUT, "", "Targets:", "",
             bullet_list(PAGE_TARGETS), ""]
    runs = [("b5_retrieval", "Full size", "python -m benchmarks.b5"),
            ("b5_retrieval_quick", "Quick run (small sizes; not a reference figure)",
             "python -m benchmarks.b5 --quick")]
    lines += result_sections(load, level + 1, runs,
                             lambda rep, command: [f"`{command}`.", "", body(rep, level + 2)], missing=False)
    return "\n".join(lines)
