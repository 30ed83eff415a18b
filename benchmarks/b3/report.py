"""B3's result files and tables: per setting, rows x test sets, gates, the gradient-ratio curve."""

from __future__ import annotations

from .._report import heading, page_opening, range_stats
from .._runner import write_results
from .run import SETTINGS

TARGETS = {
    "background": "LAD >= 85 and >= oracle - 8 / >= 85",
    "foreground": "LAD >= 80 / >= 80",
    "fmnist": "LAD >= oracle - 15",
    "palette": "report (no target); a palette nobody tuned for",
    "pixel": "report, better than vanilla",
}
LABELS = {"cpu": "CPU reference", "quick": "CPU quick run (NOT a reference figure)",
          "headline": "GPU headline"}


def summarise(parts: list[dict]) -> dict:
    """Mean and spread (min, max) over seeds of every figure, per setting."""
    by_setting: dict = {}
    for p in parts:
        by_setting.setdefault(p["setting"], []).append(p)
    summary = {}
    for setting, runs in by_setting.items():
        rows = {}
        for row in runs[0]["rows"]:
            vals = [r["rows"][row] for r in runs if row in r["rows"]]
            rows[row] = {k: range_stats([v[k] for v in vals if k in v]) for k in vals[0]}
            rows[row]["seeds"] = sorted(r["seed"] for r in runs if row in r["rows"])
        gate = {}
        for key in runs[0].get("gates", {}):
            vals = [r["gates"][key] for r in runs if key in r.get("gates", {})]
            gate[key] = {k: range_stats([v[k] for v in vals if k in v]) for k in vals[0]}
        summary[setting] = {"seeds": sorted(r["seed"] for r in runs), "rows": rows, "gates": gate}
    return summary


def assemble(records: list[dict], mode: str) -> dict:
    """The result of every part file found: run information, the parts, their summary."""
    info = records[0]["info"]
    key = lambda r: f"{r['setting']}.{r['seed']}"  # noqa: E731
    res = {"mode": mode, "commit": info["commit"], "device": info["device"], "torch": info["torch"],
           "device_name": info["device_name"], "info": info,
           "parts": [r["result"] for r in records],
           "wall_s_parts": {key(r): r["wall_seconds"] for r in records},
           "commit_parts": {key(r): r["info"]["commit"] for r in records}}
    res["summary"] = summarise(res["parts"])
    return res


def merge(records: list[dict], name: str, mode: str) -> dict:
    """``results/<name>.{json,md}`` from every part file found (all settings and seeds)."""
    res = assemble(records, mode)
    write_results(name, res, markdown(res), indent=1)
    return res


def fmt(s: dict | None, pct: bool = True) -> str:
    if not s:
        return ""
    scale = 100 if pct else 1
    if len(s["values"]) == 1:
        return f"{scale * s['mean']:.1f}"
    return f"{scale * s['mean']:.1f} ({scale * s['min']:.1f}-{scale * s['max']:.1f})"


def intro(res: dict) -> str:
    commits = sorted({c[:12] for c in res.get("commit_parts", {"": res["commit"]}).values()})
    which = (f"commit {commits[0]}" if len(commits) == 1
             else f"commits {', '.join(commits)} (per part in the JSON)")
    return (f"{which}, {res['device_name']}, torch {res['torch']}; "
            "test accuracy in %, mean over seeds (min-max); one CPU thread per part.")


def setting_markdown(res: dict, setting: str, level: int = 2) -> list[str]:
    """The table of one setting (rows x test sets and gates) and its fidelity line."""
    s = res["summary"][setting]
    lines = [heading(level, f"{setting} (seeds {', '.join(map(str, s['seeds']))}; "
                            f"target: {TARGETS[setting]})"), "",
             "| row | independent | conditioned | min single colour | shape kept | colour decodable |",
             "|---|---|---|---|---|---|"]
    for row, v in s["rows"].items():
        g = s["gates"].get(row, {})
        label = row if v["seeds"] == s["seeds"] else f"{row} (seeds {', '.join(map(str, v['seeds']))})"
        lines.append(f"| {label} | {fmt(v.get('independent'))} | {fmt(v.get('conditioned'))} | "
                     f"{fmt(v.get('min_single_colour'))} | {fmt(g.get('shape'))} | {fmt(g.get('colour'))} |")
    fid = s["gates"].get("fidelity", {})
    floor = s["gates"].get("LAD", {}).get("colour_floor")
    lines += ["", f"Fidelity gate: reference accuracy on VQ-VAE reconstructions "
              f"{fmt(fid.get('reconstruction'))} vs originals {fmt(fid.get('original'))}."
              + (f" Colour probe floor (independently coloured images): {fmt(floor)}; chance 10."
                 if floor else ""), ""]
    return lines


def gradient_ratio_part(res: dict) -> dict | None:
    px = [p for p in res["parts"] if p["setting"] == "pixel" and "gradient_ratio" in p]
    return px[0] if px else None


def gradient_ratio_markdown(res: dict) -> list[str]:
    """The one-pixel gradient-ratio curve: when it falls below 1, and every 12th point."""
    part = gradient_ratio_part(res)
    if part is None:
        return []
    gr = part["gradient_ratio"]
    below = gr["first_iteration_below_1"]
    last_it, last = gr["curve"][-1]
    when = (f"first below 1 at iteration {below}" if below is not None
            else f"did not fall below 1 within {last_it} iterations (last value {last:.3f})")
    lines = [f"One-pixel gradient ratio (plain LeNet, seed {part['seed']}): {when}.", "",
             "| iteration | GR |", "|---|---|"]
    lines += [f"| {it} | {v:.3f} |" for it, v in gr["curve"][:: max(1, len(gr["curve"]) // 12)]]
    return lines


def markdown(res: dict, level: int = 1) -> str:
    lines = [heading(level, f"B3 debiasing at 100 % bias ({LABELS[res['mode']]})"), "", intro(res), ""]
    for setting in SETTINGS:
        if setting in res["summary"]:
            lines += setting_markdown(res, setting, level + 1)
    lines += gradient_ratio_markdown(res)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------- the benchmarks page
ABOUT = """\
LAD against the classifier trained on the biased images (`vanilla`) and on
the same images with the spurious signal drawn independently of the label
(`oracle`: the ceiling), all rows with the same final classifier (a LeNet
with batch norm). `LAD`: `LADClassifier` (code substitution drawn anew for
every batch); `LAD pipeline`: `make_pipeline(LADDebiaser(), classifier)`
(one substituted copy); `qe-walk`: the thesis's Algorithm 1, literally;
`walk`: the accumulated walk. The walks run on the same fitted VQ-VAE as
LAD. Test sets: `independent` (colour of a random class), `conditioned`
(grey; binarised for ReBias) and the weakest single colour. Gates on the
training images, with the oracle classifier as a colour-blind reference:
*shape kept* (its accuracy on the debiased images), *colour decodable*
(`sklproxy.metrics.colour_decodability` of the debiased images) and
*fidelity* (its accuracy on the VQ-VAE's reconstructions). The
[methods page](methods.md) (LAD) explains the settings and the choices."""

PAGE_TARGETS = [
    "GPU headline (full MNIST): LAD >= 85 % (background colour) / >= 80 % (foreground colour)",
    "CPU reference, test accuracy on the independent / conditioned test sets: background "
    "LAD >= 85 % and >= oracle - 8 points / >= 85 %; foreground LAD >= 80 % / >= 80 %; "
    "Fashion-MNIST LAD >= oracle - 15 points; one-pixel code: better than vanilla; palette: "
    "reported (a palette nobody tuned for, no target)",
    "gates: fidelity >= 0.85 of the originals' accuracy; colour decodable <= chance + 10 points; "
    "shape kept >= 80 %",
]
GRID = ("One training image per class (seed 0) as the final classifier sees it: biased, after "
        "LAD's code substitution, after the thesis's QE-walk.")


def page(load, figure, level: int = 2) -> str:
    """B3's section of ``docs/benchmarks.md``."""
    head = load("b3_debias")
    lines = page_opening(level, "B3: debiasing (LADDebiaser)", ABOUT, PAGE_TARGETS, head, "b3",
                         headline="GPU headline: full sizes")
    if head is not None:
        lines += [intro(head), "", *runs_markdown(head, level + 2, figure, "")]
    cpu = load("b3_debias_cpu")
    if cpu is not None:
        lines += [heading(level + 1, "CPU reference: digits28 and Fashion-MNIST 5k, 100 % bias"), "",
                  intro(cpu) + " `python -m benchmarks.b3 --cpu`.", "",
                  figure("b3_accuracy_cpu.png",
                         "Independent-test accuracy of every row in every setting (mean over the "
                         "seeds; bars: min-max)."), "",
                  *runs_markdown(cpu, level + 2, figure, "_cpu", grids=True)]
    generic = load("b3_generic_cpu")
    if generic is not None:
        from .generic_report import ABOUT_GENERIC, setting_markdown as generic_markdown
        from .generic import COLOUR_SETTINGS, GENERIC_SETTINGS

        lines += [heading(level + 1, "CPU reference beyond pixel colours: corruptions, texture, "
                                     "patch, 99.5 % bias"), "", intro(generic) + " `python -m "
                  "benchmarks.b3 --cpu --generic`.", "", ABOUT_GENERIC, ""]
        for setting in GENERIC_SETTINGS + COLOUR_SETTINGS:
            if setting in generic["summary"]:
                lines += generic_markdown(generic, setting, level + 2)
    quick = load("b3_debias_quick")
    if quick is not None:
        lines += [heading(level + 1, "Quick CPU smoke run (not a reference figure)"), "",
                  intro(quick) + " `python -m benchmarks.b3 --quick`: 5 epochs per fit, seed 0, "
                  "to show the pipeline runs.", "", *runs_markdown(quick, level + 2, None, "")]
    return "\n".join(lines)


def runs_markdown(res: dict, level: int, figure, suffix: str, grids: bool = False) -> list[str]:
    """Every setting's table (with its image grid) and the gradient-ratio curve (with its plot)."""
    lines = []
    for setting in SETTINGS:
        if setting not in res["summary"]:
            continue
        lines += setting_markdown(res, setting, level)
        if grids and figure is not None:
            lines += [figure(f"b3_grid_{setting}.png", f"B3 {setting}. {GRID}"), ""]
    gr = gradient_ratio_markdown(res)
    if gr:
        lines += [heading(level, "One-pixel code: gradient ratio of a plain LeNet"), "", *gr, ""]
        if figure is not None and suffix:
            lines += [figure(f"b3_gr_curve{suffix}.png",
                             "Gradient ratio (causal pixels over the one-pixel code) of a plain "
                             "LeNet on the one-pixel images during training (log scale); dashed: 1."),
                      ""]
    return lines
