"""The experiments behind LADDebiaser's design choices (digits28, 100 % colour bias, CPU).

Three parts, each deciding one choice; every part reports every seed:

* ``latent``: which VQ-VAE keeps the object and lets the colour be
  separated from it. Variants: a 7x7 grid (``latent_stride=4``, 20 codes:
  the earlier default), per-pixel with a 3x3 receptive field (64 codes),
  per-pixel from the pixel alone with 20 codes (the thesis's codebook) and
  with 64 codes (the default). Gates: *fidelity* (a colour-blind reference
  classifier, the LeNet trained on independently coloured images, on
  reconstructions of the training images / on the originals), *colour*
  (:func:`sklproxy.metrics.colour_decodability` after substitution; floor:
  the independently coloured images) and *shape* (the reference on the
  substituted images).
* ``classifier``: the final classifier, on independently coloured images
  (the oracle setting): ``ImageClassifier`` with the small ConvNet (global
  average pooling) against the LeNet (spatial layout kept), same schedule.
* ``endpoints``: what the final classifier trains on. *canonical*: every
  image moved to one group (its spurious codes swapped for group 0's), test
  images too; *random once*: a random group per image, one copy
  (``make_pipeline(LADDebiaser(), clf)``); *random per batch*:
  :class:`~sklproxy.debias.LADClassifier`.

    python -m benchmarks.experiments.b3_lad_design [--part latent] [--setting background] [--seed S ...]

Jobs: (setting, part, seed), settings ``background`` and ``foreground``,
seeds 0 and 1. Writes ``benchmarks/results/b3_lad_design.json`` and ``.md``
(runs of earlier calls are kept; a rerun job replaces its own).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.base import clone

from sklproxy.classification import ImageClassifier
from sklproxy.debias import LADClassifier, LADDebiaser, VQVAEOptions
from sklproxy.exceptions import DivergenceError
from sklproxy.metrics import colour_decodability
from sklproxy.nn.substitute import substitute

from .._runner import RESULTS, Job, PartRunner, add_job_arguments, execute, plan, write_json
from ..b3.run import CLF, load_setting, reconstruct

VARIANTS = {
    "7x7 grid, 20 codes": VQVAEOptions(latent_stride=4, n_codes=20),
    "per pixel, 3x3 field, 64 codes": VQVAEOptions(kernel_size=3),
    "per pixel, 1x1, 20 codes": VQVAEOptions(n_codes=20),
    "per pixel, 1x1, 64 codes (default)": None,
}
SETTINGS = ("background", "foreground")
PARTS = ("latent", "classifier", "endpoints")


def canonical(lad: LADDebiaser, X: np.ndarray) -> np.ndarray:
    """Every image moved to the first group (a fixed end point)."""
    with torch.no_grad():
        q, idx = lad._quantise(lad._encode(torch.from_numpy(X)))
        sub = lad._substitution()
        idx = substitute(idx, targets=torch.zeros(len(X), dtype=torch.long), **sub)
        return lad._decode(lad.net_.module_.codebook.detach()[idx].movedim(-1, 1)).numpy()


def part_latent(setting: str, seed: int) -> dict:
    Xb, y, Xo, tests = load_setting(setting, seed, "cpu")
    common = dict(device="cpu", random_state=seed)
    reference = ImageClassifier(**CLF, **common).fit(Xo, y)
    out = {"reference_original": float(reference.score(Xb, y)),
           "colour_floor": colour_decodability(Xo, y), "variants": {}}
    for name, vqvae in VARIANTS.items():
        t = time.perf_counter()
        try:
            lad = LADDebiaser(vqvae=clone(vqvae) if vqvae is not None else None, **common).fit(Xb, y)
        except DivergenceError as err:  # an outcome too: this VQ-VAE does not train
            out["variants"][name] = {"diverged": str(err).split(": ", 1)[-1][:120]}
            print(setting, seed, name, out["variants"][name], flush=True)
            continue
        Xd = lad.transform(Xb)
        out["variants"][name] = {
            "fidelity": float(reference.score(reconstruct(lad, Xb), y)),
            "colour": colour_decodability(Xd, y),
            "shape": float(reference.score(Xd, y)),
            "spurious_codes": int(lad.spurious_codes_.sum()), "groups": len(lad.groups_),
            "fit_s": time.perf_counter() - t,
        }
        print(setting, seed, name, out["variants"][name], flush=True)
    return out


def part_classifier(setting: str, seed: int) -> dict:
    _, y, Xo, tests = load_setting(setting, seed, "cpu")
    out = {}
    for name, params in (("convnet", dict(backbone="convnet", width=32)), ("lenet", dict())):
        clf = ImageClassifier(**{**CLF, **params}, device="cpu", random_state=seed).fit(Xo, y)
        out[name] = {"independent": float(clf.score(*tests["independent"])),
                     "conditioned": float(clf.score(*tests["conditioned"]))}
        print(setting, seed, name, out[name], flush=True)
    return out


def part_endpoints(setting: str, seed: int) -> dict:
    Xb, y, _, tests = load_setting(setting, seed, "cpu")
    common = dict(device="cpu", random_state=seed)
    clf = ImageClassifier(**CLF, **common)
    per_batch = LADClassifier(LADDebiaser(**common), clone(clf)).fit(Xb, y)
    lad = per_batch.debiaser_
    Xi, yi = tests["independent"]
    Xc, yc = tests["conditioned"]
    out = {"random per batch": {"independent": float(per_batch.score(Xi, yi)),
                                "conditioned": float(per_batch.score(Xc, yc))}}
    once = clone(clf).fit(lad.transform(Xb), y)
    out["random once"] = {"independent": float(once.score(lad.transform(Xi), yi)),
                          "conditioned": float(once.score(lad.transform(Xc), yc))}
    canon = clone(clf).fit(canonical(lad, Xb), y)
    out["canonical"] = {"independent": float(canon.score(canonical(lad, Xi), yi)),
                        "conditioned": float(canon.score(canonical(lad, Xc), yc))}
    print(setting, seed, out, flush=True)
    return out


WORK = {"latent": part_latent, "classifier": part_classifier, "endpoints": part_endpoints}


def work(job: Job, save) -> dict:
    torch.set_num_threads(1)
    return WORK[job.part](job.setting, job.seed)


def merge(records: list[dict]) -> None:
    """The runs into ``results/b3_lad_design.{json,md}``, keeping the other runs of earlier calls."""
    path = RESULTS / "b3_lad_design.json"
    res = json.loads(path.read_text()) if path.exists() else {"parts": {}}
    res["commit"] = records[-1]["info"]["commit"]
    for part in PARTS:
        runs = [{"setting": r["setting"], "seed": r["seed"],
                 **(r["result"] if part == "latent" else {"result": r["result"]})}
                for r in records if r["part"] == part]
        if not runs:
            continue
        rerun = {(r["setting"], r["seed"]) for r in runs}  # keep the other seeds' runs
        kept = [r for r in res["parts"].get(part, []) if (r["setting"], r["seed"]) not in rerun]
        res["parts"][part] = sorted(kept + runs, key=lambda r: (SETTINGS.index(r["setting"]), r["seed"]))
    write_json(path, res)
    md = markdown(res)
    (RESULTS / "b3_lad_design.md").write_text(md)
    print(md)


def markdown(res: dict) -> str:
    lines = ["# LAD design experiments (digits28, 100 % bias, CPU)", "",
             f"commit `{res['commit'][:12]}`; each cell lists the seeds in order.", ""]
    fmt = lambda vals: " / ".join(f"{v:.2f}" for v in vals)  # noqa: E731
    if "latent" in res["parts"]:
        lines += ["## Latent: fidelity, colour removal, shape kept", "",
                  "| setting | VQ-VAE | fidelity | colour after | shape kept | groups |", "|---|---|---|---|---|---|"]
        for setting in SETTINGS:
            runs = [r for r in res["parts"]["latent"] if r["setting"] == setting]
            if not runs:
                continue
            lines.append(f"| {setting} | originals | {fmt([r['reference_original'] for r in runs])} | "
                         f"floor {fmt([r['colour_floor'] for r in runs])} | | |")
            for name in VARIANTS:
                v = [r["variants"][name] for r in runs]
                cell = lambda key, v=v: " / ".join("diverged" if "diverged" in x else f"{x[key]:.2f}"  # noqa: E731
                                                   for x in v)
                lines.append(f"| {setting} | {name} | {cell('fidelity')} | {cell('colour')} | "
                             f"{cell('shape')} | {' / '.join(str(x.get('groups', '-')) for x in v)} |")
        lines.append("")
    for part, title in (("classifier", "Final classifier on independently coloured images"),
                        ("endpoints", "End points: what the final classifier trains on")):
        if part not in res["parts"]:
            continue
        lines += [f"## {title}", "", "| setting | row | independent | conditioned |", "|---|---|---|---|"]
        for setting in SETTINGS:
            runs = [r for r in res["parts"][part] if r["setting"] == setting]
            for row in (runs[0]["result"] if runs else {}):
                lines.append(f"| {setting} | {row} | {fmt([r['result'][row]['independent'] for r in runs])} | "
                             f"{fmt([r['result'][row]['conditioned'] for r in runs])} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.b3_lad_design",
                                     description=__doc__.splitlines()[0])
    add_job_arguments(parser, parts=PARTS, settings=SETTINGS, threads=1)
    args = parser.parse_args(argv)
    jobs = plan({s: args.seed or (0, 1) for s in SETTINGS}, PARTS)
    jobs.sort(key=lambda j: PARTS.index(j.part))  # part by part, as the experiments were run
    chosen = {j.key for j in jobs if (not args.setting or j.setting in args.setting)
              and (not args.part or j.part in args.part)}
    runner = PartRunner("b3_lad_design", work, threads=args.threads, info={"device": "cpu"})
    execute(args, runner, jobs, lambda records: merge(
        [r for r in records if f"{r['setting']}.{r['part']}.{r['seed']}" in chosen]))


if __name__ == "__main__":
    main()
