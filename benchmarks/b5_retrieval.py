"""B5: retrieval speed on CPU.

* Time of ``sklproxy.metrics.mean_average_precision`` at k=1000 for 10k
  queries against 60k database codes, at 16 and 64 bits, under both rankings
  (``code``: XOR order; ``hamming``), on realistic DDTL-like codes (10
  classes; 4 class bits then tree-path bits correlated with the label) and on
  uniformly random codes. Median of repeats.
* Queries per second of ``HammingIndex(ranking="hamming").kneighbors``
  against ``faiss.IndexBinaryFlat.search`` on the same codes, same run, same
  thread count, k=100 and k=1000, with a check that both return identical
  indices (faiss also breaks ties by index).

Writes ``benchmarks/results/b5_retrieval.json`` and ``.md``.

Usage::

    python benchmarks/b5_retrieval.py            # full size, a few minutes
    python benchmarks/b5_retrieval.py --quick    # small sizes, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import git_commit  # noqa: E402

from sklproxy.metrics import mean_average_precision  # noqa: E402
from sklproxy.neighbors import HammingIndex, pack_codes_faiss  # noqa: E402

N_CLASSES = 10
CLASS_BITS = 4

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def realistic_codes(
    rng: np.random.Generator, labels: np.ndarray, n_bits: int, centres: np.ndarray,
    proj: np.ndarray, accuracy: float = 0.95,
) -> np.ndarray:
    """DDTL-like codes: predicted class in 4 bits, then sign-projection path bits.

    The class part is the true label with probability ``accuracy`` (else a
    random class); the path bits are signs of random projections of a latent
    vector drawn around a per-class centre, so they correlate with the label
    and split each class into many codes.
    """
    n = labels.shape[0]
    pred = np.where(rng.random(n) < accuracy, labels, rng.integers(0, N_CLASSES, n))
    class_bits = (pred[:, None] >> np.arange(CLASS_BITS - 1, -1, -1)) & 1
    latent = centres[labels] + rng.normal(size=(n, centres.shape[1]))
    path_bits = (latent @ proj[: n_bits - CLASS_BITS].T) > 0
    return np.hstack([class_bits, path_bits]).astype(np.uint8)


def make_data(kind: str, n_bits: int, n_db: int, n_q: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    yd = rng.integers(0, N_CLASSES, n_db)
    yq = rng.integers(0, N_CLASSES, n_q)
    if kind == "random":
        db = rng.integers(0, 2, (n_db, n_bits), dtype=np.uint8)
        q = rng.integers(0, 2, (n_q, n_bits), dtype=np.uint8)
    else:
        dim = 32
        centres = rng.normal(scale=1.0, size=(N_CLASSES, dim))
        proj = rng.normal(size=(64, dim))
        db = realistic_codes(rng, yd, n_bits, centres, proj)
        q = realistic_codes(rng, yq, n_bits, centres, proj)
    return {"db": db, "q": q, "yd": yd, "yq": yq}


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


CPU_TIMES: list[float] = []  # process CPU seconds of the last timed() calls


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    """Median wall time over ``repeats`` calls, all times, last output.

    Also leaves the process CPU time of each call (all threads) in
    ``CPU_TIMES``: on a shared machine it shows the work done regardless of
    what other processes take (faiss' spinning OpenMP threads inflate it).
    """
    times, out = [], None
    CPU_TIMES.clear()
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        CPU_TIMES.append(time.process_time() - c0)
    return statistics.median(times), times, out




def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


# ---------------------------------------------------------------------------
# Benchmark
# ---------------------------------------------------------------------------


def bench_map(data: dict[str, np.ndarray], ranking: str, k: int, repeats: int, n_jobs: int) -> dict[str, Any]:
    def run() -> float:
        return mean_average_precision(
            data["q"], data["db"], data["yq"], data["yd"], k=k, ranking=ranking, n_jobs=n_jobs
        )

    run()  # warm-up (imports, page faults)
    med, times, value = timed(run, repeats)
    cpu = statistics.median(CPU_TIMES)
    return {"median_s": med, "min_s": min(times), "times_s": times, "median_cpu_s": cpu, "map": value}


def bench_qps(data: dict[str, np.ndarray], k: int, repeats: int, n_jobs: int, faiss: Any) -> dict[str, Any]:
    q, db = data["q"], data["db"]
    n_q = q.shape[0]
    out: dict[str, Any] = {"k": k}
    index = HammingIndex(ranking="hamming", n_jobs=n_jobs).fit(db)
    index.kneighbors(q[:100], n_neighbors=k)
    med, times, (d_ours, i_ours) = timed(lambda: index.kneighbors(q, n_neighbors=k), repeats)
    out["hamming_index"] = {
        "median_s": med, "times_s": times, "qps": n_q / med,
        "median_cpu_s": statistics.median(CPU_TIMES),
    }
    code_index = HammingIndex(ranking="code", n_jobs=n_jobs).fit(db)
    med, times, _ = timed(lambda: code_index.kneighbors(q, n_neighbors=k), repeats)
    out["hamming_index_code_ranking"] = {"median_s": med, "times_s": times, "qps": n_q / med}
    if faiss is not None:
        fidx = index.to_faiss()
        qf = pack_codes_faiss(q)
        # faiss' OpenMP threads spin at barriers and suffer badly when other
        # processes share the cores, so also time it on one thread and
        # compare against the better of the two
        for name, threads in (("faiss_flat", n_jobs), ("faiss_flat_1thread", 1)):
            faiss.omp_set_num_threads(threads)
            fidx.search(qf[:100], k)
            med, times, (d_f, i_f) = timed(lambda: fidx.search(qf, k), repeats)
            out[name] = {
                "median_s": med, "times_s": times, "qps": n_q / med, "threads": threads,
                "median_cpu_s": statistics.median(CPU_TIMES),
            }
            out[f"{name}_identical_indices"] = bool(np.array_equal(i_f, i_ours))
            out[f"{name}_identical_distances"] = bool(np.array_equal(d_f, d_ours))
        faiss.omp_set_num_threads(n_jobs)
        best = max(out["faiss_flat"]["qps"], out["faiss_flat_1thread"]["qps"])
        out["faiss_best_qps"] = best
        out["qps_ratio"] = out["hamming_index"]["qps"] / best
        out["identical_indices"] = (
            out["faiss_flat_identical_indices"] and out["faiss_flat_1thread_identical_indices"]
        )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, seconds")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-jobs", type=int, default=None, help="threads (default: all CPUs)")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    load_start = os.getloadavg()
    n_db, n_q = (6000, 1000) if args.quick else (60000, 10000)
    repeats = args.repeats or (3 if args.quick else 5)
    qps_repeats = max(1, repeats - 2)
    n_jobs = args.n_jobs or len(os.sched_getaffinity(0))
    k_map = 1000 if not args.quick else 100
    try:
        import faiss  # noqa: PLC0415
    except ImportError:
        faiss = None

    results: dict[str, Any] = {"map": [], "qps": []}
    for kind in ("realistic", "random"):
        for n_bits in (16, 64):
            data = make_data(kind, n_bits, n_db, n_q, args.seed)
            for ranking in ("code", "hamming"):
                r = bench_map(data, ranking, k_map, repeats, n_jobs)
                r.update(codes=kind, n_bits=n_bits, ranking=ranking, k=k_map)
                results["map"].append(r)
                print(f"mAP@{k_map} {kind:9s} {n_bits:2d} bits {ranking:7s}: "
                      f"{r['median_s']:.3f} s  (mAP {r['map']:.4f})", flush=True)
            for k in (100, 1000) if not args.quick else (10, 100):
                r = bench_qps(data, k, qps_repeats, n_jobs, faiss)
                r.update(codes=kind, n_bits=n_bits)
                results["qps"].append(r)
                f = r.get("faiss_best_qps", float("nan"))
                print(f"QPS k={k:4d} {kind:9s} {n_bits:2d} bits: HammingIndex "
                      f"{r['hamming_index']['qps']:.0f}, best faiss {f:.0f}, "
                      f"identical={r.get('identical_indices')}", flush=True)

    target_map = [r for r in results["map"] if r["n_bits"] == 64]
    ratios = [r["qps_ratio"] for r in results["qps"] if "qps_ratio" in r]
    report = {
        "benchmark": "B5 retrieval speed (CPU)",
        "quick": args.quick,
        "git_commit": git_commit(),
        "machine": {
            "cpu": cpu_model(),
            "n_cpus_available": len(os.sched_getaffinity(0)),
            "platform": platform.platform(),
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
        },
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": version("torch"),
            "faiss": version("faiss-cpu"),
        },
        "seed": args.seed,
        "n_jobs": n_jobs,
        "n_db": n_db,
        "n_queries": n_q,
        "repeats_map": repeats,
        "repeats_qps": qps_repeats,
        "results": results,
        "targets": {
            "map_64bit_max_s": 1.0,
            "map_64bit_worst_median_s": max(r["median_s"] for r in target_map),
            "qps_ratio_min": 1.0,
            "qps_ratio_worst": min(ratios) if ratios else None,
        },
        "wall_time_s": time.perf_counter() - t_start,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = "b5_retrieval_quick" if args.quick else "b5_retrieval"
    (args.out_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out_dir / f"{stem}.md").write_text(markdown(report))
    print(f"wrote {args.out_dir / stem}.json/.md in {report['wall_time_s']:.0f} s")
    return report


def markdown(rep: dict[str, Any]) -> str:
    m = rep["machine"]
    lines = [
        f"# B5 retrieval speed (CPU){' - quick' if rep['quick'] else ''}",
        "",
        f"{rep['n_queries']} queries x {rep['n_db']} database codes, {rep['n_jobs']} threads, "
        f"{m['cpu']} ({m['n_cpus_available']} CPUs), numpy {rep['versions']['numpy']}, "
        f"faiss {rep['versions']['faiss']}, seed {rep['seed']}, commit `{rep['git_commit'][:10]}`. "
        f"Load average at start/end: {m['loadavg_start'][0]:.2f} / {m['loadavg_end'][0]:.2f} "
        f"(other jobs on the machine slow every figure alike). Medians of "
        f"{rep['repeats_map']} (mAP) / {rep['repeats_qps']} (QPS) runs.",
        "",
        "## mean_average_precision",
        "",
        "| codes | bits | ranking | k | median wall (s) | min wall (s) | median CPU (s, all threads) | mAP |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rep["results"]["map"]:
        lines.append(
            f"| {r['codes']} | {r['n_bits']} | {r['ranking']} | {r['k']} | "
            f"{r['median_s']:.3f} | {r['min_s']:.3f} | {r['median_cpu_s']:.3f} | {r['map']:.4f} |"
        )
    lines += [
        "",
        "## kneighbors QPS: HammingIndex vs faiss IndexBinaryFlat (same codes, same run)",
        "",
        "| codes | bits | k | HammingIndex hamming QPS | faiss QPS (n_jobs threads / 1 thread) | ratio to best faiss | identical indices | HammingIndex code-order QPS |",
        "|---|---|---|---|---|---|---|---|",
    ]
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
        lines.append(
            f"| {r['codes']} | {r['n_bits']} | {r['k']} | {ours} | {faiss_cols} | {code} |"
        )
    t = rep["targets"]
    lines += [
        "",
        f"Targets: mAP 64-bit worst median {t['map_64bit_worst_median_s']:.3f} s "
        f"(target <= {t['map_64bit_max_s']} s); worst QPS ratio "
        f"{t['qps_ratio_worst'] if t['qps_ratio_worst'] is None else round(t['qps_ratio_worst'], 2)} "
        f"(target >= {t['qps_ratio_min']}). Wall time {rep['wall_time_s']:.0f} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
