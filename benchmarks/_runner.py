"""The part runner every benchmark and experiment shares.

A benchmark is a list of *jobs*, each a ``(setting, part, seed)``: what is
fitted and measured on which data with which seed. :class:`PartRunner` runs
jobs one after another (or several at once in worker processes) and writes
each job's result to ``results/parts/<stem>.<setting>.<part>.<seed>.json``
as it grows (a job may call ``save`` after every measurement, so a job
stopped by a time limit keeps what it measured) and once more when it
finishes. ``--resume`` skips the jobs that finished on the same commit;
``--merge`` only assembles the result files from the part files there are.
Every part file carries the run information (:func:`run_info`: commit,
device name, torch version, threads, load average).

The command line of every benchmark shares the options of
:func:`add_job_arguments`; :func:`execute` runs the selected jobs and then
merges.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
# ``$SKLPROXY_BENCHMARK_OUT`` sends results and figures elsewhere (``<out>/results``,
# ``<out>/docs``): for smoke tests that must not touch the committed files
_OUT = Path(os.environ["SKLPROXY_BENCHMARK_OUT"]) if os.environ.get("SKLPROXY_BENCHMARK_OUT") else None
RESULTS = _OUT / "results" if _OUT else BENCHMARKS / "results"
PARTS = RESULTS / "parts"  # per-job results (git-ignored)
DOCS = _OUT / "docs" if _OUT else ROOT / "docs"


# ------------------------------------------------------------ run information
def git_commit() -> str:
    """HEAD's hash, with ``+dirty`` when the work tree has uncommitted changes.

    ``$SKLPROXY_COMMIT`` overrides it, for copies of the tree that carry no ``.git``.
    """
    if os.environ.get("SKLPROXY_COMMIT"):  # a copy of the tree without .git (the GPU machine)
        return os.environ["SKLPROXY_COMMIT"]
    try:
        sha = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True,
                                      stderr=subprocess.DEVNULL).strip()
        dirty = subprocess.check_output(["git", "status", "--porcelain"], cwd=ROOT, text=True)
        return sha + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def resolve_device(device: str = "auto") -> str:
    """``"auto"``: CUDA when available, else the CPU."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def device_name(device: str, threads: int | None = None) -> str:
    """The card's name, or ``CPU: <arch>, <n> threads`` (the wording of every result so far)."""
    dev = torch.device(resolve_device(device))
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    threads = torch.get_num_threads() if threads is None else threads
    return f"CPU: {platform.processor() or platform.machine()}, {threads} threads"


def run_info(device: str = "cpu", **extra: Any) -> dict:
    """Commit, device, versions, threads, load average and date: recorded with every result."""
    dev = resolve_device(device)
    return {
        "commit": git_commit(),
        "device": str(torch.device(dev)),
        "device_name": device_name(dev),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "loadavg": list(os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        **extra,
    }


def timed(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``(result, seconds)``; synchronises CUDA so GPU work is counted."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def jsonable(value: Any) -> Any:
    """NumPy scalars as numbers, anything else JSON cannot hold as its ``str``."""
    return value.item() if hasattr(value, "item") else str(value)


def write_json(path: Path, data: Any, indent: int | None = 1) -> None:
    """``path`` written through a temporary file (a stopped run leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=indent, default=jsonable) + "\n")
    tmp.replace(path)


def figure_path(name: str) -> Path:
    """``docs/<name>`` (the folder made if needed): where the benchmark figures go."""
    DOCS.mkdir(parents=True, exist_ok=True)
    return DOCS / name


def write_results(stem: str, result: dict, table: str, indent: int | None = 2) -> None:
    """``results/<stem>.json`` and ``results/<stem>.md``; prints the table."""
    write_json(RESULTS / f"{stem}.json", result, indent=indent)
    (RESULTS / f"{stem}.md").write_text(table)
    print(table)


# ---------------------------------------------------------------------- jobs
@dataclass(frozen=True)
class Job:
    """One unit of a benchmark: a setting (data), a part (what is fitted and measured), a seed."""

    setting: str
    part: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.setting}.{self.part}.{self.seed}"


def plan(settings: dict[str, Sequence[int]], parts: Sequence[str],
         seeds: Sequence[int] | None = None, seed_major: bool = False) -> list[Job]:
    """Every job: each setting with its seeds (or ``seeds``), each part.

    Order: setting, then seed, then part (``seed_major``: seed, setting, part).
    """
    jobs = [Job(setting, part, seed) for setting, own in settings.items()
            for seed in (own if seeds is None else seeds) for part in parts]
    if seed_major:
        order = {s: i for i, s in enumerate(settings)}
        jobs.sort(key=lambda j: (j.seed, order[j.setting]))
    return jobs


def select(jobs: Iterable[Job], settings=None, parts=None, seeds=None) -> list[Job]:
    """The jobs matching every filter given (None: no filter)."""
    return [j for j in jobs if (not settings or j.setting in settings)
            and (not parts or j.part in parts) and (not seeds or j.seed in seeds)]


Save = Callable[[dict], None]
Work = Callable[[Job, Save], dict]


class PartRunner:
    """Runs the jobs of one result file (``stem``); one part file per job.

    ``work(job, save)`` fits and measures one job and returns its result (a
    JSON-able dict); it may call ``save(partial)`` after each measurement.
    ``info`` is merged into the run information of every part file.
    """

    def __init__(self, stem: str, work: Work, info: dict | None = None,
                 threads: int | None = None) -> None:
        self.stem = stem
        self.work = work
        self.info = info or {}
        self.threads = threads

    def path(self, job: Job) -> Path:
        return PARTS / f"{self.stem}.{job.key}.json"

    def load(self, job: Job) -> dict | None:
        path = self.path(job)
        return json.loads(path.read_text()) if path.exists() else None

    def finished(self, job: Job, commit: str) -> bool:
        record = self.load(job)
        return bool(record and record["complete"] and record["info"]["commit"] == commit)

    def records(self, jobs: Iterable[Job]) -> list[dict]:
        """The part files there are of ``jobs``, in the order of ``jobs``."""
        return [r for r in (self.load(j) for j in jobs) if r is not None]

    def run(self, jobs: Sequence[Job], resume: bool = False, n_jobs: int = 1) -> list[dict]:
        """Run ``jobs`` (``resume``: not those finished on this commit); their records."""
        commit = git_commit()
        todo = [j for j in jobs if not (resume and self.finished(j, commit))]
        for job in jobs:
            if job not in todo:
                print(f"{self.stem} {job.key}: finished on this commit, skipped", flush=True)
        if n_jobs > 1 and len(todo) > 1:
            with ProcessPoolExecutor(n_jobs) as pool:
                list(pool.map(self.run_one, todo))
        else:
            for job in todo:
                self.run_one(job)
        return self.records(jobs)

    def run_one(self, job: Job) -> dict:
        if self.threads:
            torch.set_num_threads(self.threads)
        extra = {k: v for k, v in self.info.items() if k != "device"}
        info = run_info(self.info.get("device", "cpu"), **extra)
        start = time.perf_counter()

        def save(result: dict, complete: bool = False) -> None:
            record = {"stem": self.stem, "setting": job.setting, "part": job.part,
                      "seed": job.seed, "info": info, "complete": complete,
                      "wall_seconds": time.perf_counter() - start, "result": result}
            write_json(self.path(job), record)

        result = self.work(job, save)
        save(result, complete=True)
        print(f"{self.stem} {job.key}: done in {time.perf_counter() - start:.0f} s", flush=True)
        return self.load(job)


# -------------------------------------------------------------- command line
def benchmark_parser(name: str, description: str | None, cpu: bool = True,
                     **job_options: Any) -> argparse.ArgumentParser:
    """The parser of ``python -m benchmarks.<name>``: its modes (:func:`add_mode_arguments`) and
    the shared job options (:func:`add_job_arguments` with ``job_options``)."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_mode_arguments(parser, cpu=cpu)
    add_job_arguments(parser, **job_options)
    return parser


def add_mode_arguments(parser: argparse.ArgumentParser, cpu: bool = True) -> None:
    """``--quick`` (a CPU smoke run on a subset) and ``--cpu`` (the CPU reference setting)."""
    parser.add_argument("--quick", action="store_true",
                        help="CPU smoke run on a small subset (checks the pipeline; not a figure)")
    if cpu:
        parser.add_argument("--cpu", action="store_true", help="the CPU reference setting")


def mode(args: argparse.Namespace) -> str:
    """``"quick"``, ``"cpu"`` or ``"headline"`` (the default: meant for one GPU)."""
    return "quick" if args.quick else "cpu" if getattr(args, "cpu", False) else "headline"


def add_job_arguments(parser: argparse.ArgumentParser, parts: Sequence[str] = (),
                      settings: Sequence[str] = (), jobs: int = 1,
                      threads: int | None = None) -> None:
    """The options every benchmark shares: which jobs, resume/merge, devices and threads."""
    group = parser.add_argument_group("jobs (see benchmarks/README.md)")
    if settings:
        group.add_argument("--setting", choices=list(settings), action="append",
                           help="run only these settings (repeatable)")
    if parts:
        group.add_argument("--part", choices=list(parts), action="append",
                           help="run only these parts (repeatable)")
    group.add_argument("--seed", "--seeds", type=int, nargs="+", action="extend", dest="seed",
                       help="run these seeds (default: the mode's seeds)")
    group.add_argument("--resume", action="store_true",
                       help="skip the jobs whose part file finished on this commit")
    group.add_argument("--merge", action="store_true",
                       help="only assemble the result files from the part files there are")
    group.add_argument("--concurrent", action="store_true",
                       help="record that other jobs share the device (fit times are upper bounds)")
    group.add_argument("--jobs", type=int, default=jobs, help=f"jobs at a time (default {jobs})")
    group.add_argument("--threads", type=int, default=threads,
                       help="torch threads per job" + (f" (default {threads})" if threads else ""))
    group.add_argument("--device", default="auto")


def execute(args: argparse.Namespace, runner: PartRunner, jobs: Sequence[Job],
            merge: Callable[[list[dict]], Any]) -> Any:
    """Run the jobs ``--setting``/``--part``/``--seed`` select from ``jobs`` (all by default), then merge.

    The merge sees the part files of every job of ``jobs`` that exist, so
    jobs run in separate calls (or on separate machines) come together.
    """
    if not args.merge:
        chosen = select(jobs, getattr(args, "setting", None), getattr(args, "part", None),
                        args.seed)
        runner.run(chosen, resume=args.resume, n_jobs=args.jobs)
    records = runner.records(jobs)
    if not records:
        raise SystemExit(f"no part files of {runner.stem} in {PARTS}")
    return merge(records)


def plan_seeds(args: argparse.Namespace, default: Sequence[int], single: bool = False) -> list[int]:
    """The seeds of the plan: ``default`` and the ``--seed`` values.

    ``single``: a benchmark of one seed (the GPU headlines, the quick runs),
    whose seed is ``--seed`` when given.
    """
    if single:
        return list(args.seed[:1]) if args.seed else list(default)
    return list(dict.fromkeys([*default, *(args.seed or [])]))
