"""What every benchmark script shares: run metadata, data, and result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = RESULTS / "parts"  # per-part results of split runs (git-ignored)


def git_commit() -> str:
    """HEAD's hash, with ``+dirty`` when the work tree has uncommitted changes.

    ``$SKLPROXY_COMMIT`` overrides it, for copies of the tree that carry no ``.git``.
    """
    if os.environ.get("SKLPROXY_COMMIT"):  # a copy of the tree without .git (the GPU machine)
        return os.environ["SKLPROXY_COMMIT"]
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=root, text=True,
                                      stderr=subprocess.DEVNULL).strip()
        dirty = subprocess.check_output(["git", "status", "--porcelain"], cwd=root, text=True)
        return sha + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_info(seed: int, device: str, quick: bool) -> dict:
    """Commit, device name, versions, seed: recorded with every result."""
    commit = git_commit()
    dev = torch.device(device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else (
        f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    return {
        "commit": commit or "unknown",
        "device": str(dev),
        "device_name": name,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "seed": seed,
        "quick": quick,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def load_fmnist(n_train: int | None = None, n_test: int | None = None):
    """Fashion-MNIST as float32 images in [0, 1] of shape (n, 1, 28, 28)."""
    from sklproxy.datasets import load_fashion_mnist

    Xtr, ytr = load_fashion_mnist(subset="train", return_X_y=True)
    Xte, yte = load_fashion_mnist(subset="test", return_X_y=True)
    Xtr, ytr, Xte, yte = Xtr[:n_train], ytr[:n_train], Xte[:n_test], yte[:n_test]
    prep = lambda X: (X.astype(np.float32) / 255.0)[:, None]  # noqa: E731
    return prep(Xtr), ytr, prep(Xte), yte


def timed(fn, *args, **kwargs):
    """``(result, seconds)``; synchronises CUDA so GPU work is counted."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def median(values):
    return float(statistics.median(values))


def write_results(name: str, result: dict, table: str) -> None:
    """``results/<name>.json`` and ``results/<name>.md`` (the table docs include)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    (RESULTS / f"{name}.md").write_text(table)
    print(table)


def markdown_table(header: list[str], rows: list[list]) -> str:
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def add_part_arguments(parser, parts) -> None:
    """``--part`` (repeatable), ``--merge`` and ``--concurrent``: running a benchmark in parts."""
    parser.add_argument("--part", choices=parts, action="append",
                        help="run only these parts (repeatable) and write their part files")
    parser.add_argument("--merge", action="store_true",
                        help="only assemble the result files from existing part files")
    parser.add_argument("--concurrent", action="store_true",
                        help="record that other parts share the device (fit times are upper bounds)")


def write_part(stem: str, part: str, data: dict) -> None:
    """``results/parts/<stem>.<part>.json``: one part of a benchmark, rewritten as it grows.

    A benchmark can run its parts in separate processes (``--part``, as the GPU
    session does, several at once on one card); ``--merge`` then assembles the
    parts that finished into the result files. Writing after every step keeps
    what was measured when a part is stopped by a time limit.
    """
    PARTS.mkdir(parents=True, exist_ok=True)
    tmp = PARTS / f"{stem}.{part}.json.tmp"
    tmp.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    tmp.replace(PARTS / f"{stem}.{part}.json")


def read_parts(stem: str, parts) -> dict:
    """The parts of ``stem`` that exist, by name, in the order given."""
    out = {}
    for part in parts:
        path = PARTS / f"{stem}.{part}.json"
        if path.exists():
            out[part] = json.loads(path.read_text())
    return out


def _jsonable(value):
    """NumPy scalars as numbers, anything else JSON cannot hold as its ``str``."""
    return value.item() if hasattr(value, "item") else str(value)
