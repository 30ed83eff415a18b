"""B4's result file and table."""

from __future__ import annotations

import statistics

from .._report import QUICK, bullet_list, heading, markdown_table, result_sections
from .._runner import write_results
from .run import RUNNERS


def merge(records: list[dict], stem: str) -> dict:
    record = records[0]
    info = {**record["info"], "seed": 0}
    result = {"info": info, **record["result"]}
    write_results(stem, result, markdown(result))
    return result


def title(result: dict) -> str:
    cfg, info = result["config"], result["info"]
    return (f"B4 training throughput, DDTL {cfg['backbone']} width {cfg['width']}, "
            f"{result['n_images']} images x {result['epochs']} epochs x 2 views, {info['device_name']}"
            f"{' (QUICK CPU smoke run)' if info.get('quick') else ''}")


def body(result: dict) -> str:
    """The table of the three runners and the two ratios."""
    rows = [[name, result["images_per_second"][name], statistics.median(result["seconds"][name])]
            for name in RUNNERS]
    return (markdown_table(["runner", "images/s", "median s"], rows)
            + f"\nfit time / minimal loop: {result['fit_time_over_minimal_loop']:.2f} "
            f"(target <= 1.15); speed-up over default skorch: "
            f"{result['speedup_over_default_skorch']:.2f}x (target >= 5x).\n")


def markdown(result: dict, level: int = 3) -> str:
    return f"{heading(level, title(result))}\n\n" + body(result)


# ------------------------------------------------------- the benchmarks page
ABOUT = """\
Images per second of `DDTLHasher.fit` against (a) a minimal hand-written
PyTorch loop training the same model with the same loss, augmentation and
precision on data already on the device (the practical limit) and (b) the
same model and loss trained by a plain skorch `NeuralNet` fed by its default
CPU `DataLoader` in float32 (what a user would write); median of repeats,
timed interleaved so that drift hits every runner alike."""

PAGE_TARGETS = ["fit time / minimal loop <= 1.15", "speed-up over default skorch >= 5x (on a GPU)"]


def page(load, figure, level: int = 2) -> str:
    """B4's section of ``docs/benchmarks.md``."""
    lines = [heading(level, "B4: training throughput"), "", ABOUT, "", "Targets:", "",
             bullet_list(PAGE_TARGETS), ""]
    runs = [("b4_throughput", "GPU headline", "python -m benchmarks.b4"),
            ("b4_throughput_quick", QUICK, "python -m benchmarks.b4 --quick")]
    lines += result_sections(load, level + 1, runs,
                             lambda result, command: [f"*{title(result)}.* `{command}`.", "", body(result)])
    return "\n".join(lines)
