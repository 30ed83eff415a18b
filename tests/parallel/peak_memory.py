"""Peak memory of ``DDTLHasher.transform`` on a memory-mapped file.

Used by ``test_batched_inference.py``; also a script,
``python peak_memory.py DIR N_ROWS WORKING_MEMORY_MIB``, that prints JSON with
the peak growth of anonymous memory (``RssAnon``, sampled every millisecond;
the memory-mapped pages are file pages, not counted) and of NumPy's
allocations (``tracemalloc``) during the call, in MiB.
"""

import json
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import sklearn
import torch

from sklproxy.hashing import DDTLHasher

N_FEATURES = 784


def rss_anon_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no RssAnon in /proc/self/status")


def write_memmap(path: Path, n_rows: int) -> np.memmap:
    """uint8 images (n_rows, 784), written block by block from a small random block."""
    rng = np.random.default_rng(0)
    block = rng.integers(0, 256, (4096, N_FEATURES), dtype=np.uint8)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n_rows, N_FEATURES))
    for a in range(0, n_rows, len(block)):
        X[a : a + len(block)] = block[: n_rows - a]
    X.flush()
    del X
    return np.load(path, mmap_mode="r")


def main(directory: str, n_rows: int, working_memory: float) -> dict:
    torch.set_num_threads(1)
    X = write_memmap(Path(directory) / "X.npy", n_rows)
    est = DDTLHasher(n_path_bits=4, width=16, max_epochs=1, batch_size=256, device="cpu",
                     random_state=0).fit(np.asarray(X[:512], dtype=np.float32))
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_anon_mib())
            time.sleep(0.001)

    base = rss_anon_mib()
    sampler = threading.Thread(target=sample)
    sampler.start()
    tracemalloc.start()
    t0 = time.perf_counter()
    with sklearn.config_context(working_memory=working_memory):
        codes = est.transform(X)
    seconds = time.perf_counter() - t0
    _, np_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    done.set()
    sampler.join()
    return {
        "n_rows": n_rows, "input_mib": X.nbytes / 2**20, "float32_copy_mib": X.size * 4 / 2**20,
        "rss_anon_peak_growth_mib": max(peak[0], rss_anon_mib()) - base,
        "tracemalloc_peak_mib": np_peak / 2**20, "seconds": seconds,
        "codes_shape": list(codes.shape), "codes_checksum": int(codes.astype(np.int64).sum()),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))))
