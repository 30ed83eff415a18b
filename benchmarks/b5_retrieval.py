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
* Scale: code-order top-k (k = 10 and 100) on 1M and 10M uniformly random
  codes of 64 and 128 bits, the database memory-mapped (``storage_dir``)
  and grown by ``HammingIndex.add`` in 1M-code steps (so it is searched as
  several sorted segments), per query: batched (1000 queries, one thread)
  and one query per call. Side by side in the same run: a plain NumPy scan
  in code order (XOR of every code, partial sort; the reference the results
  must equal) and faiss ``IndexBinaryFlat`` (a Hamming scan: the cost of
  touching every code, not the same ranking).

Writes ``benchmarks/results/b5_retrieval.json`` and ``.md``.

Usage::

    python benchmarks/b5_retrieval.py            # full size, a few minutes
    python benchmarks/b5_retrieval.py --quick    # small sizes, seconds
    python benchmarks/b5_retrieval.py --only scale   # one section; the others
                                                     # are kept from the last JSON
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
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
from sklproxy.neighbors._codes import codes_to_words  # noqa: E402
from sklproxy.neighbors._faiss import words_to_faiss  # noqa: E402

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


# ---------------------------------------------------------------------------
# Scale: code order on millions of codes
# ---------------------------------------------------------------------------


def words_to_codes(words: np.ndarray, n_bits: int) -> np.ndarray:
    return np.unpackbits(words.astype(">u8").view(np.uint8).reshape(len(words), -1), axis=1)[:, :n_bits]


def plain_scan_code_order(db_words: np.ndarray, q_words: np.ndarray, k: int) -> np.ndarray:
    """Reference: XOR with every code, a partial sort on the first word, lexsort of the rest."""
    out = np.empty((len(q_words), k), dtype=np.intp)
    for i, q in enumerate(q_words):
        x = db_words ^ q  # (N, W)
        t = np.partition(x[:, 0], k - 1)[k - 1]  # the top k have first words <= the k-th smallest
        cand = np.flatnonzero(x[:, 0] <= t)
        xc = x[cand]
        order = np.lexsort((cand, *[xc[:, w] for w in range(x.shape[1] - 1, -1, -1)]))[:k]
        out[i] = cand[order]
    return out


def bench_scale(n_db: int, n_bits: int, seed: int, ks: tuple[int, ...], faiss: Any, tmp: Path) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    n_words = -(-n_bits // 64)
    step = min(n_db, 1_000_000)
    index = HammingIndex(ranking="code", n_jobs=1, storage_dir=tmp / f"index_{n_db}_{n_bits}")
    t0 = time.perf_counter()
    db_words = np.empty((n_db, n_words), dtype=np.uint64)
    for a in range(0, n_db, step):
        w = rng.integers(0, 2**63, (step, n_words), dtype=np.uint64) << np.uint64(1)
        w |= rng.integers(0, 2, (step, n_words), dtype=np.uint64)
        if n_bits % 64:
            w[:, -1] &= np.uint64(((1 << (n_bits % 64)) - 1) << (64 - n_bits % 64))
        db_words[a : a + step] = w
        codes = words_to_codes(w, n_bits)
        index.partial_fit(codes)
    build_s = time.perf_counter() - t0
    q_codes = rng.integers(0, 2, (1000, n_bits), dtype=np.uint8)
    q_words = codes_to_words(q_codes)
    out: dict[str, Any] = {"n_db": n_db, "n_bits": n_bits, "build_by_add_s": build_s,
                           "n_segments": index.n_segments_, "memory_mapped": True, "rows": []}
    n_plain = 20 if n_db >= 5_000_000 else 50
    for k in ks:
        index.kneighbors(q_codes[:10], n_neighbors=k)  # warm the page cache
        med, times, (_, ind) = timed(lambda: index.kneighbors(q_codes, n_neighbors=k), 3)
        single = []
        for i in range(20):
            t = time.perf_counter()
            index.kneighbors(q_codes[i : i + 1], n_neighbors=k)
            single.append(time.perf_counter() - t)
        t = time.perf_counter()
        ref = plain_scan_code_order(db_words, q_words[:n_plain], k)
        plain_ms = (time.perf_counter() - t) / n_plain * 1e3
        row = {
            "k": k,
            "ms_per_query_batched": med / len(q_codes) * 1e3,
            "ms_per_query_batched_times": [x / len(q_codes) * 1e3 for x in times],
            "ms_per_query_single_median": statistics.median(single) * 1e3,
            "plain_scan_ms_per_query": plain_ms,
            "identical_to_plain_scan": bool(np.array_equal(ind[:n_plain], ref)),
            "n_checked": n_plain,
        }
        if faiss is not None:
            fidx = faiss.IndexBinaryFlat(8 * -(-n_bits // 8))
            for a in range(0, n_db, step):
                fidx.add(words_to_faiss(db_words[a : a + step], n_bits))
            faiss.omp_set_num_threads(1)
            qf = words_to_faiss(q_words[:100], n_bits)
            fidx.search(qf[:5], k)
            fmed, _, _ = timed(lambda: fidx.search(qf, k), 3)
            row["faiss_flat_hamming_ms_per_query_1thread"] = fmed / len(qf) * 1e3
            del fidx
        out["rows"].append(row)
        print(f"scale {n_db:>9d} x {n_bits:3d} bits k={k:3d}: {row['ms_per_query_batched']:.3f} ms/query "
              f"batched, {row['ms_per_query_single_median']:.3f} single; plain scan {plain_ms:.1f} ms; "
              f"faiss flat {row.get('faiss_flat_hamming_ms_per_query_1thread', float('nan')):.1f} ms; "
              f"identical={row['identical_to_plain_scan']} ({index.n_segments_} segments)", flush=True)
    shutil.rmtree(tmp / f"index_{n_db}_{n_bits}", ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, seconds")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-jobs", type=int, default=None, help="threads (default: all CPUs)")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--only", choices=["map", "qps", "scale"], default=None,
                    help="run one section; keep the others from the existing JSON")
    ap.add_argument("--scale-sizes", default=None, help="comma-separated database sizes for the scale rows")
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

    stem = "b5_retrieval_quick" if args.quick else "b5_retrieval"
    previous = args.out_dir / f"{stem}.json"
    results: dict[str, Any] = {"map": [], "qps": [], "scale": []}
    if args.only and previous.exists():
        results.update(json.loads(previous.read_text())["results"])
        results[args.only] = []
    run = (lambda section: args.only in (None, section))  # noqa: E731
    for kind in ("realistic", "random") if (run("map") or run("qps")) else ():
        for n_bits in (16, 64):
            data = make_data(kind, n_bits, n_db, n_q, args.seed)
            for ranking in ("code", "hamming") if run("map") else ():
                r = bench_map(data, ranking, k_map, repeats, n_jobs)
                r.update(codes=kind, n_bits=n_bits, ranking=ranking, k=k_map)
                results["map"].append(r)
                print(f"mAP@{k_map} {kind:9s} {n_bits:2d} bits {ranking:7s}: "
                      f"{r['median_s']:.3f} s  (mAP {r['map']:.4f})", flush=True)
            for k in ((100, 1000) if not args.quick else (10, 100)) if run("qps") else ():
                r = bench_qps(data, k, qps_repeats, n_jobs, faiss)
                r.update(codes=kind, n_bits=n_bits)
                results["qps"].append(r)
                f = r.get("faiss_best_qps", float("nan"))
                print(f"QPS k={k:4d} {kind:9s} {n_bits:2d} bits: HammingIndex "
                      f"{r['hamming_index']['qps']:.0f}, best faiss {f:.0f}, "
                      f"identical={r.get('identical_indices')}", flush=True)

    if run("scale"):
        sizes = ([int(x) for x in args.scale_sizes.split(",")] if args.scale_sizes
                 else [100_000] if args.quick else [1_000_000, 10_000_000])
        with tempfile.TemporaryDirectory(prefix="b5_scale_") as tmp:
            for size in sizes:
                for n_bits in (64, 128):
                    results["scale"].append(bench_scale(size, n_bits, args.seed, (10, 100), faiss, Path(tmp)))

    target_map = [r for r in results["map"] if r["n_bits"] == 64]
    scale_rows = [row for r in results["scale"] for row in r["rows"]]
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
            "map_64bit_worst_median_s": max(r["median_s"] for r in target_map) if target_map else None,
            "scale_ms_per_query_max": 1.0,
            "scale_worst_ms_per_query_batched": max((r["ms_per_query_batched"] for r in scale_rows), default=None),
            "scale_worst_ms_per_query_single": max((r["ms_per_query_single_median"] for r in scale_rows),
                                                   default=None),
            "scale_identical": all(r["identical_to_plain_scan"] for r in scale_rows),
            "qps_ratio_min": 1.0,
            "qps_ratio_worst": min(ratios) if ratios else None,
        },
        "wall_time_s": time.perf_counter() - t_start,
    }
    if args.only:
        report["only_rerun"] = args.only
    args.out_dir.mkdir(parents=True, exist_ok=True)
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
    if rep["results"].get("scale"):
        lines += [
            "",
            "## Code order at scale: memory-mapped, grown by add (random codes, one thread)",
            "",
            "| codes | bits | segments | build by add (s) | k | HammingIndex ms/query (1000 batched) | "
            "HammingIndex ms/query (single calls) | plain NumPy scan ms/query | faiss IndexBinaryFlat "
            "ms/query (Hamming, 1 thread) | identical to plain scan |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rep["results"]["scale"]:
            for row in r["rows"]:
                f = row.get("faiss_flat_hamming_ms_per_query_1thread")
                lines.append(
                    f"| {r['n_db']:,} | {r['n_bits']} | {r['n_segments']} | {r['build_by_add_s']:.1f} | "
                    f"{row['k']} | {row['ms_per_query_batched']:.3f} | {row['ms_per_query_single_median']:.3f} | "
                    f"{row['plain_scan_ms_per_query']:.1f} | {'-' if f is None else f'{f:.1f}'} | "
                    f"{row['identical_to_plain_scan']} ({row['n_checked']} queries) |"
                )
    t = rep["targets"]
    fmt = lambda v, d=3: "-" if v is None else f"{v:.{d}f}"  # noqa: E731
    lines += [
        "",
        f"Scale target: <= {t.get('scale_ms_per_query_max', 1.0)} ms per query; worst "
        f"{fmt(t.get('scale_worst_ms_per_query_batched'))} (batched) / "
        f"{fmt(t.get('scale_worst_ms_per_query_single'))} (single calls).",
    ]
    lines += [
        "",
        f"Targets: mAP 64-bit worst median {fmt(t['map_64bit_worst_median_s'])} s "
        f"(target <= {t['map_64bit_max_s']} s); worst QPS ratio "
        f"{t['qps_ratio_worst'] if t['qps_ratio_worst'] is None else round(t['qps_ratio_worst'], 2)} "
        f"(target >= {t['qps_ratio_min']}). Wall time {rep['wall_time_s']:.0f} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
