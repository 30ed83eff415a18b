"""B5 side experiment: CPU time of the code ranking before and after issue 14's rewrite.

Issue 14 generalised the code ranking (any number of 64-bit words, a walk
for wide blocks, segments). This compares the CPU seconds of
``Ranker.topk`` (k=1000, the B5 mAP setting) of the current code with the
implementation at commit ``0700acd`` (read from git), on the B5 data
(10k x 60k, 64 bits; the first 4000 queries), one thread, interleaved
repeats, and checks that both return the same indices. CPU time, not wall
time, so that the other jobs of a shared machine matter less.

    python benchmarks/b5_code_rank_cpu.py     # about a minute

Writes ``benchmarks/results/b5_code_rank_cpu.json`` and ``.md``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import b5_retrieval as B5  # noqa: E402
from _common import git_commit  # noqa: E402

from sklproxy.neighbors._codes import codes_to_words  # noqa: E402
from sklproxy.neighbors._ranking import Ranker  # noqa: E402

BEFORE = "0700acd"


def load_before():
    src = subprocess.check_output(["git", "show", f"{BEFORE}:sklproxy/neighbors/_hamming.py"], cwd=ROOT)
    path = Path(tempfile.mkdtemp()) / "hamming_before.py"
    path.write_bytes(src)
    spec = importlib.util.spec_from_file_location("hamming_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> dict:
    before = load_before()
    rows = []
    for kind in ("realistic", "random"):
        data = B5.make_data(kind, 64, 60000, 10000, 0)
        db, q = codes_to_words(data["db"]), codes_to_words(data["q"][:4000])
        rankers = {"before": before.Ranker(db, 64, "code"), "after": Ranker(db, 64, "code")}
        cpu = {name: [] for name in rankers}
        for _ in range(5):
            for name, ranker in rankers.items():
                t = time.process_time()
                for a in range(0, len(q), 256):
                    ranker.topk(q[a : a + 256], 1000)
                cpu[name].append(time.process_time() - t)
        same = np.array_equal(rankers["before"].topk(q[:512], 1000)[1], rankers["after"].topk(q[:512], 1000)[1])
        rows.append({"codes": kind, "cpu_s_before": cpu["before"], "cpu_s_after": cpu["after"],
                     "median_before": statistics.median(cpu["before"]),
                     "median_after": statistics.median(cpu["after"]), "identical_indices": bool(same)})
        print(kind, rows[-1]["median_before"], rows[-1]["median_after"], same, flush=True)
    report = {"benchmark": "B5 code-ranking CPU time, before/after issue 14", "before_commit": BEFORE,
              "git_commit": git_commit(), "loadavg": os.getloadavg(), "k": 1000, "n_db": 60000,
              "n_queries": 4000, "n_bits": 64, "threads": 1, "repeats": 5, "rows": rows}
    out = ROOT / "benchmarks" / "results"
    (out / "b5_code_rank_cpu.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# B5 side experiment: code-ranking CPU time before/after issue 14", "",
             f"`Ranker.topk`, k=1000, 4000 queries x 60000 64-bit codes (B5 data), one thread, CPU seconds, "
             f"median of 5 interleaved runs; before = commit `{BEFORE}`, after = `{report['git_commit'][:10]}`; "
             f"load average {report['loadavg'][0]:.1f} (shared machine).", "",
             "| codes | CPU s before | CPU s after | identical indices |", "|---|---|---|---|"]
    lines += [f"| {r['codes']} | {r['median_before']:.3f} | {r['median_after']:.3f} | {r['identical_indices']} |"
              for r in rows]
    (out / "b5_code_rank_cpu.md").write_text("\n".join(lines) + "\n")
    return report


if __name__ == "__main__":
    main()
