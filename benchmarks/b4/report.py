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


def merge_defaults(records: list[dict]) -> dict:
    """``results/b4_defaults_cpu.{json,md}`` from the ``defaults`` and ``load`` part files."""
    result = {"parts": {r["part"]: {"info": r["info"], "complete": r["complete"], **r["result"]}
                        for r in records}}
    write_results("b4_defaults_cpu", result, defaults_markdown(result))
    return result


def _run_line(info: dict) -> str:
    load = ", ".join(f"{x:.2f}" for x in info["loadavg"])
    return (f"commit `{info['commit'][:10]}`, {info['date']}, {info['cpu']}, torch {info['torch']}, "
            f"load average before the part {load}")


def defaults_markdown(result: dict, level: int = 3) -> str:
    """The tables of the default fits and of the fits beside a competing process."""
    parts, lines = result["parts"], []
    if "defaults" in parts:
        d = parts["defaults"]
        rows = []
        for name, r in d.items():
            if not isinstance(r, dict) or "fit_seconds" not in r:
                continue
            quality = {"DDTLHasher": lambda r: f"test accuracy {r['test_accuracy']:.3f}, code-order "
                                               f"mAP@1000 {r['map@1000_code']:.3f} ({r['n_epochs']} epochs)",
                       "DHOGClusterer": lambda r: f"held-out accuracy {r['test_accuracy']:.3f} (k-means on "
                                                  f"pixels {r['kmeans_test_accuracy']:.3f}; {r['n_epochs']} "
                                                  f"epochs, best head {r['best_head']})",
                       "LADDebiaser": lambda r: f"{r['data']}: {r['spurious_codes']} spurious codes; "
                                                f"transform {r['transform_seconds']:.0f} s"}[name](r)
            rows.append([name, f"{r['fit_seconds']:.0f}", "yes" if r["fit_seconds"] <= 300 else "no", quality])
        lines += [heading(level, f"Default fits on {d['n_train']} Fashion-MNIST images (28x28), CPU"), "",
                  f"*{_run_line(d['info'])}; one fit each, `device=\"cpu\"`, `random_state=0`, "
                  "the estimators' defaults (1 torch thread).*", "",
                  markdown_table(["estimator", "fit s", "<= 5 min", f"what it reached ({d['n_test']} test images)"],
                                 rows), ""]
    if "load" in parts:
        d = parts["load"]
        rows = [[k, f"{v:.1f}"] for k, v in d["seconds"].items()]
        ratio = d.get("ratio_loaded_over_quiet", {})
        same = d.get("same_predictions_quiet_and_loaded", {})
        lines += [heading(level, "A fit beside another job (2 cores)"), "",
                  f"*{_run_line(d['info'])}; `DHOGClusterer(max_epochs={d['epochs']})` on scikit-learn's "
                  "8x8 digits, `n_threads` 1 (the default) and 2, alone and beside one competing "
                  "process (a 2-thread torch matrix-product loop).*", "",
                  markdown_table(["run", "fit s"], rows), ""]
        if ratio:
            lines += ["Loaded / quiet: " + "; ".join(f"{n}: {v:.2f}x" for n, v in ratio.items())
                      + " (target <= 2.5x at the default). Same predictions quiet and loaded: "
                      + "; ".join(f"{n}: {'yes' if v else 'no'}" for n, v in same.items()) + ".", ""]
    return "\n".join(lines)


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

PAGE_TARGETS = ["fit time / minimal loop <= 1.15", "speed-up over default skorch >= 5x (on a GPU)",
                "CPU: a default fit of 5000 28x28 images <= 5 min on 2 cores",
                "CPU: fit time beside one competing process <= 2.5x the quiet time"]


def page(load, figure, level: int = 2) -> str:
    """B4's section of ``docs/benchmarks.md``."""
    lines = [heading(level, "B4: training throughput"), "", ABOUT, "", "Targets:", "",
             bullet_list(PAGE_TARGETS), ""]
    runs = [("b4_throughput", "GPU headline", "python -m benchmarks.b4"),
            ("b4_throughput_quick", QUICK, "python -m benchmarks.b4 --quick")]
    lines += result_sections(load, level + 1, runs,
                             lambda result, command: [f"*{title(result)}.* `{command}`.", "", body(result)])
    lines += result_sections(load, level + 1, [("b4_defaults_cpu", "CPU: the default fits, quiet and "
                                                "loaded", "python -m benchmarks.b4 --defaults")],
                             lambda result, command: [f"`{command}`.", "",
                                                      defaults_markdown(result, level + 2)])
    return "\n".join(lines)
