"""B5's data and timed sections: mAP time, kneighbors QPS against faiss, code order at scale."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sklproxy.metrics import mean_average_precision
from sklproxy.neighbors import HammingIndex, _hamming_rank, pack_codes_faiss
from sklproxy.neighbors._codes import codes_to_words
from sklproxy.neighbors._faiss import words_to_faiss
from sklproxy.neighbors._kernels import HAVE_NUMBA, popcount_sum

from .._runner import Job

N_CLASSES = 10
CLASS_BITS = 4
PARTS = ("map", "qps", "scale")


# ---------------------------------------------------------------------- data
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


# -------------------------------------------------------------------- timing
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


# ------------------------------------------------------------------ sections
def bench_map(data: dict[str, np.ndarray], ranking: str, k: int, repeats: int, n_jobs: int) -> dict[str, Any]:
    def run() -> float:
        return mean_average_precision(
            data["q"], data["db"], data["yq"], data["yd"], k=k, ranking=ranking, n_jobs=n_jobs
        )

    run()  # warm-up (imports, page faults)
    med, times, value = timed(run, repeats)
    cpu = statistics.median(CPU_TIMES)
    return {"median_s": med, "min_s": min(times), "times_s": times, "median_cpu_s": cpu, "map": value}


def bench_hamming_kernels(data: dict[str, np.ndarray], k: int, repeats: int) -> dict[str, Any]:
    """The Hamming mAP with the NumPy top-k (numba switched off) beside the bare popcount work.

    ``popcount_s``: the median time of summing the popcounts of every query XOR
    item (numba), the floor of any exact Hamming search over these codes.
    """
    _hamming_rank.HAVE_NUMBA = False
    try:
        numpy = bench_map(data, "hamming", k, repeats, 1)
    finally:
        _hamming_rank.HAVE_NUMBA = HAVE_NUMBA
    q, db = codes_to_words(data["q"]), codes_to_words(data["db"])
    popcount_sum(q[:2], db[:2])  # compiled before the timing
    popcount, _, _ = timed(lambda: popcount_sum(q, db), repeats)
    return {"numpy_median_s": numpy["median_s"], "numpy_map": numpy["map"], "popcount_s": popcount}


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


# ---------------------------------------------------------------------- jobs
def sizes(quick: bool) -> dict:
    """Database and query sizes, k of mAP, k of QPS, scale sizes of a run."""
    if quick:
        return dict(n_db=6000, n_q=1000, k_map=100, k_qps=(10, 100), scale=[100_000])
    return dict(n_db=60000, n_q=10000, k_map=1000, k_qps=(100, 1000),
                scale=[1_000_000, 10_000_000])


def _faiss():
    try:
        import faiss  # noqa: PLC0415
    except ImportError:
        return None
    return faiss


def section_work(quick: bool, repeats: int, n_jobs: int, scale_sizes: list[int] | None,
                 job: Job, save) -> dict:
    """One section (``map``, ``qps`` or ``scale``) of B5 with ``job.seed``."""
    s = sizes(quick)
    faiss = _faiss()
    rows: list[dict] = []
    if job.part in ("map", "qps"):
        for kind in ("realistic", "random"):
            for n_bits in (16, 64):
                data = make_data(kind, n_bits, s["n_db"], s["n_q"], job.seed)
                if job.part == "map":
                    for ranking in ("code", "hamming"):
                        r = bench_map(data, ranking, s["k_map"], repeats, n_jobs)
                        r.update(codes=kind, n_bits=n_bits, ranking=ranking, k=s["k_map"],
                                 numba=HAVE_NUMBA and ranking == "hamming")
                        if r["numba"] and n_bits == 64:
                            r["kernels"] = bench_hamming_kernels(data, s["k_map"], repeats)
                        rows.append(r)
                        print(f"mAP@{s['k_map']} {kind:9s} {n_bits:2d} bits {ranking:7s}: "
                              f"{r['median_s']:.3f} s  (mAP {r['map']:.4f})", flush=True)
                else:
                    for k in s["k_qps"]:
                        r = bench_qps(data, k, max(1, repeats - 2), n_jobs, faiss)
                        r.update(codes=kind, n_bits=n_bits)
                        rows.append(r)
                        f = r.get("faiss_best_qps", float("nan"))
                        print(f"QPS k={k:4d} {kind:9s} {n_bits:2d} bits: HammingIndex "
                              f"{r['hamming_index']['qps']:.0f}, best faiss {f:.0f}, "
                              f"identical={r.get('identical_indices')}", flush=True)
                save({"rows": rows})
    elif job.part == "scale":
        with tempfile.TemporaryDirectory(prefix="b5_scale_") as tmp:
            for size in scale_sizes or s["scale"]:
                for n_bits in (64, 128):
                    rows.append(bench_scale(size, n_bits, job.seed, (10, 100), faiss, Path(tmp)))
                    save({"rows": rows})
    else:
        raise ValueError(f"unknown part {job.part!r}; expected one of {PARTS}")
    return {"rows": rows, "loadavg_end": list(os.getloadavg())}
