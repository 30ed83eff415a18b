"""B3 beyond pixel colours: result files and tables (``python -m benchmarks.b3 --cpu --generic``)."""

from __future__ import annotations

import json
from pathlib import Path

from .._report import heading, range_stats
from .._runner import write_results
from .generic import COLOUR_SETTINGS, GENERIC_SETTINGS
from .report import LABELS, assemble, fmt, intro

TARGETS = {
    "corrupt-type0": "LAD >= vanilla + 30 and >= redrawn oracle - 20",
    "corrupt-type1": "LAD >= vanilla + 30 and >= redrawn oracle - 20",
    "fmnist-corrupt": "LAD >= vanilla + 20",
    "texture": "LAD >= vanilla + 30",
    "patch": "LAD >= vanilla + 30",
    "background-99.5": "LAD >= 85",
    "background": "no more than 2 points below today's LAD",
    "foreground": "no more than 2 points below today's LAD",
    "fmnist": "no more than 2 points below today's LAD",
    "palette": "no more than 2 points below today's LAD",
}
ROWS_WITH_RAW = ("LAD", "LAD swap", "LAD swap forced")
ABOUT_GENERIC = """\
The signals `LADDebiaser`'s code substitution cannot see: one corruption
type per class (`make_corrupted`, LfF's Type0 and Type1 lists, severity 5)
on digits28 and on Fashion-MNIST 5k, a class grating behind the digit
(`texture`) or a class patch whose position jitters by 2 px (`patch`,
`make_spatial_biased`), all at 100 % bias, and the background colour at
99.5 % bias. Rows: `vanilla`, `oracle` (the signal drawn once, independently
of the label), `oracle redrawn` (ten independent draws, a tenth of the
epochs each: a fresh draw about every epoch), `LAD` (`method="substitute"`,
the default before this round) and `LAD swap` (`method="swap"`, the default
now, on the same VQ-VAE and `f`), both trained as `LADClassifier` (a new draw every batch) and
tested as its `predict`: through `transform` (`LAD`), raw images when the
swap is on (`LAD swap`); *raw independent*: the classifier on raw test
images; the JSON also has `LAD swap` on swapped and on substituted test
images. `LAD swap forced`, where the swap stays off: the same step with its
bar at 0 (what it would have done). *Shape kept*: the oracle classifier on
the debiased training images. Below each table: what
two simple classifiers read on held-out halves of the training images,
before and after the step: the amplitude-spectrum probe that decides the
swap, and a classifier of `f`'s kind asked about swapped images (does it
give the donor's label?). On the 100 %-bias colour settings only the
redrawn oracle and the swap's decision run: where it stays off, `method="swap"`
is the `LAD` row of the colour table above, bit for bit."""


def _swap_summary(runs: list[dict]) -> dict:
    out = {"active": sum(bool(r["swap"].get("active")) for r in runs), "n": len(runs)}
    for when in ("before", "after", "after_forced"):
        vals = [r["swap"][when] for r in runs if when in r.get("swap", {})]
        if vals:
            out[when] = {"probe_accuracy": range_stats([v["probe_accuracy"] for v in vals]),
                         "follow": {k: range_stats([v["follow"][k] for v in vals])
                                    for k in vals[0]["follow"]}}
    return out


def merge_generic(records: list[dict], name: str, mode: str) -> dict:
    """``results/<name>.{json,md}`` from the part files found."""
    res = assemble(records, mode)
    by_setting: dict = {}
    for p in res["parts"]:
        by_setting.setdefault(p["setting"], []).append(p)
    for setting, runs in by_setting.items():
        res["summary"][setting]["swap"] = _swap_summary(runs)
    write_results(name, res, markdown(res), indent=1)
    return res


def _today(setting: str) -> dict | None:
    """Today's LAD row of a colour setting from the B3 CPU reference (results/b3_debias_cpu.json)."""
    path = Path(__file__).resolve().parents[1] / "results" / "b3_debias_cpu.json"
    if not path.exists():
        return None
    summary = json.loads(path.read_text())["summary"].get(setting)
    return None if summary is None else summary["rows"].get("LAD")


def _probes(s: dict | None) -> str:
    if not s:
        return "-"
    f = s["follow"]
    return (f"amplitude probe {fmt(s['probe_accuracy'])} %; a classifier of f's kind follows the "
            f"donor in {fmt(f['follow'])} % of its decided swaps (donor {fmt(f['donor'])}, recipient "
            f"{fmt(f['recipient'])}; unswapped accuracy {fmt(f['accuracy'])})")


def setting_markdown(res: dict, setting: str, level: int) -> list[str]:
    s = res["summary"][setting]
    lines = [heading(level, f"{setting} (seeds {', '.join(map(str, s['seeds']))}; "
                            f"target: {TARGETS.get(setting, 'report')})"), "",
             "| row | independent | conditioned | raw independent | shape kept |", "|---|---|---|---|---|"]
    today = _today(setting) if setting in COLOUR_SETTINGS else None
    if today is not None:
        lines.append(f"| LAD (today: b3_debias_cpu) | {fmt(today.get('independent'))} | "
                     f"{fmt(today.get('conditioned'))} | | |")
    for row, v in s["rows"].items():
        g = s["gates"].get(row, {})
        label = row if v["seeds"] == s["seeds"] else f"{row} (seeds {', '.join(map(str, v['seeds']))})"
        raw = fmt(v.get("raw_independent")) if row in ROWS_WITH_RAW else ""
        lines.append(f"| {label} | {fmt(v.get('independent'))} | {fmt(v.get('conditioned'))} | "
                     f"{raw} | {fmt(g.get('shape'))} |")
    sw = s.get("swap", {})
    lines += ["", f"What simple classifiers read (held-out halves of the training images): the swap "
              f"is on in {sw.get('active', 0)} of {sw.get('n', 0)} seeds. Before (substituted "
              f"images): {_probes(sw.get('before'))}."
              + (f" After (the debiased images, fresh probes): {_probes(sw.get('after'))}."
                 if sw.get("after") else "")
              + (f" After the forced swap: {_probes(sw.get('after_forced'))}."
                 if sw.get("after_forced") else ""), ""]
    if today is not None and not sw.get("active"):
        lines += ["The swap stays off here, so `method=\"swap\"` gives that LAD row bit for bit.", ""]
    return lines


def _mean(s: dict, row: str, key: str = "independent") -> float | None:
    v = s["rows"].get(row, {}).get(key)
    return None if v is None else v["mean"]


def _met(setting: str, s: dict) -> str:
    swap, vanilla = _mean(s, "LAD swap"), _mean(s, "vanilla")
    if swap is None:
        return "not run"
    if setting == "background-99.5":
        return "met" if swap >= 0.85 else "missed"
    gain = 0.20 if setting == "fmnist-corrupt" else 0.30
    ok = vanilla is not None and swap >= vanilla + gain
    if setting.startswith("corrupt-"):
        ok = ok and swap >= _mean(s, "oracle redrawn") - 0.20
    return "met" if ok else "missed"


def summary_table(res: dict) -> list[str]:
    """One row per non-colour setting: independent-test accuracy of every row, mean (min-max)."""
    lines = ["| setting | seeds | vanilla | oracle | oracle redrawn | LAD (substitute) | LAD swap "
             "| swap on | target |", "|---|---|---|---|---|---|---|---|---|"]
    for setting in GENERIC_SETTINGS:
        s = res["summary"].get(setting)
        if s is None:
            continue
        cell = lambda row: fmt(s["rows"].get(row, {}).get("independent"))  # noqa: E731
        sw = s.get("swap", {})
        lines.append(f"| {setting} | {len(s['seeds'])} | {cell('vanilla')} | {cell('oracle')} | "
                     f"{cell('oracle redrawn')} | {cell('LAD')} | **{cell('LAD swap')}** | "
                     f"{sw.get('active', 0)}/{sw.get('n', 0)} | {TARGETS[setting]}: "
                     f"{_met(setting, s)} |")
    return lines


def markdown(res: dict, level: int = 1) -> str:
    lines = [heading(level, f"B3 beyond pixel colours ({LABELS[res['mode']]})"), "",
             intro(res) + " Rows: see benchmarks/b3/generic.py; raw independent: the LAD row's classifier on raw "
             "(not transformed) test images; shape kept: the oracle classifier on the debiased "
             "training images.", "", *summary_table(res), ""]
    for setting in GENERIC_SETTINGS + COLOUR_SETTINGS:
        if setting in res["summary"]:
            lines += setting_markdown(res, setting, level + 1)
    return "\n".join(lines) + "\n"
