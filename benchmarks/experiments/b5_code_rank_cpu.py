"""B5 side experiment: CPU time of the code ranking after issue 14's rewrite, against the one before.

Issue 14 generalised the code ranking (any number of 64-bit words, a walk
for wide blocks, segments). This measures the CPU seconds of
``Ranker.topk`` (k=1000, the B5 mAP setting) of the current code on the B5
data (10k x 60k, 64 bits; the first 4000 queries), one thread, repeats, and
checks that it returns the same indices as the implementation before the
rewrite (commit ``0700acd``). That implementation is not run: its CPU
seconds and a SHA-256 digest of its indices on the first 512 queries were
measured once, interleaved with the rewrite (at commit ``ae662ca``, load
average 6.7), and are committed in ``b5_code_rank_before.json`` beside this
module with the rewrite's figure of that run; the report shows both beside
the current code's figure. CPU time, not wall time, so that the other jobs
of a shared machine matter less (it still grows with the load).

    python -m benchmarks.experiments.b5_code_rank_cpu     # about a minute

Jobs: (codes kind, ``topk``, seed 0). Writes
``benchmarks/results/b5_code_rank_cpu.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from sklproxy.neighbors._codes import codes_to_words
from sklproxy.neighbors._ranking import Ranker

from .._runner import RESULTS, Job, PartRunner, add_job_arguments, execute, plan, write_json
from ..b5.run import make_data

BEFORE = json.loads((Path(__file__).with_name("b5_code_rank_before.json")).read_text())
KINDS = ("realistic", "random")
K, N_DB, N_QUERIES, N_CHECK, REPEATS = 1000, 60000, 4000, 512, 5


def indices_digest(indices: np.ndarray) -> str:
    """SHA-256 of the top-k indices as little-endian int64 (what the before figure recorded)."""
    return hashlib.sha256(np.ascontiguousarray(indices, dtype="<i8").tobytes()).hexdigest()


def work(job: Job, save) -> dict:
    data = make_data(job.setting, 64, N_DB, 10000, job.seed)
    db, q = codes_to_words(data["db"]), codes_to_words(data["q"][:N_QUERIES])
    ranker = Ranker(db, 64, "code")
    cpu = []
    for _ in range(REPEATS):
        t = time.process_time()
        for a in range(0, len(q), 256):
            ranker.topk(q[a : a + 256], K)
        cpu.append(time.process_time() - t)
    digest = indices_digest(ranker.topk(q[:N_CHECK], K)[1])
    before = BEFORE["rows"][job.setting]
    row = {"codes": job.setting, "cpu_s_after": cpu, "median_after": statistics.median(cpu),
           "cpu_s_before": before["cpu_s_before"], "median_before": before["median_before"],
           "median_after_same_run_as_before": before["median_after_same_run"],
           "indices_sha256": digest, "identical_indices": digest == before["indices_sha256"]}
    print(job.setting, row["median_before"], row["median_after"], row["identical_indices"], flush=True)
    return row


def merge(records: list[dict]) -> None:
    rows = [r["result"] for r in records]
    info = records[0]["info"]
    report = {"benchmark": "B5 code-ranking CPU time, after issue 14, against the figure before it",
              "before_commit": BEFORE["before_commit"], "before_measured_at": BEFORE["measured_at"],
              "before_loadavg": BEFORE["loadavg"], "git_commit": info["commit"],
              "loadavg": info["loadavg"], "loadavg_end": list(os.getloadavg()), "k": K, "n_db": N_DB,
              "n_queries": N_QUERIES, "n_checked": N_CHECK, "n_bits": 64, "threads": info["threads"],
              "repeats": REPEATS, "rows": rows}
    write_json(RESULTS / "b5_code_rank_cpu.json", report, indent=2)
    lines = ["# B5 side experiment: code-ranking CPU time before/after issue 14", "",
             f"`Ranker.topk`, k={K}, {N_QUERIES} queries x {N_DB} 64-bit codes (B5 data), "
             f"{info['threads']} thread(s), CPU seconds, median of {REPEATS} runs; after = commit "
             f"`{report['git_commit'][:10]}` (load average {report['loadavg'][0]:.1f}, shared machine); "
             f"before = commit `{BEFORE['before_commit']}`, the figure measured once at "
             f"`{BEFORE['measured_at'][:7]}` (load average {BEFORE['loadavg'][0]:.1f}; "
             "`benchmarks/experiments/b5_code_rank_before.json`, with the rewrite's figure of that same "
             "interleaved run: compare those two; CPU time also grows with the machine's load). "
             f"Identical indices: the digest of the top-{K} indices of the first {N_CHECK} queries equals "
             "the one the code before gave.", "",
             "| codes | CPU s before | CPU s after, same run as before | CPU s now (current code) | "
             "identical indices |", "|---|---|---|---|---|"]
    lines += [f"| {r['codes']} | {r['median_before']:.3f} | {r['median_after_same_run_as_before']:.3f} | "
              f"{r['median_after']:.3f} | {r['identical_indices']} |" for r in rows]
    (RESULTS / "b5_code_rank_cpu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b5_code_rank_cpu",
                                     description=__doc__.splitlines()[0])
    add_job_arguments(parser, settings=KINDS, threads=1)
    args = parser.parse_args(argv)
    jobs = plan({kind: [0] for kind in KINDS}, ("topk",))
    execute(args, PartRunner("b5_code_rank_cpu", work, threads=args.threads, info={"device": "cpu"}),
            jobs, merge)


if __name__ == "__main__":
    main()
