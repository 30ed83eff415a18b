"""B1: DDTL hashing on Fashion-MNIST (BENCHMARKS.md).

Fits DDTL (4 class bits + 12 path bits) on the 60k training images at its
defaults and with the published loss (``gamma=0``, ``tau=1``, no median
splits), the supervised-only fit (``beta=0``: an untrained tree) and the
class-only codes of its classifier (the thesis's supervised-only ablation),
the unsupervised mode (alpha=0, 16 path bits), CrPCA (the same trained
classifier + repeated PCA on pixels), ITQ and LSH on pixels; reports
mAP@1000/@5000 of the 10k test queries against the training codes in code
order and Hamming order, test accuracy, and entropy, unique codes and mean
collisions of the training codes, each beside the random reference
(:func:`sklproxy.metrics.hash_spread`). Also coarse-to-fine
(fit on 5 super-classes, classify the 10 fine classes by the majority fine
label of the nearest training code) and hash retention under brightness
jitter and occlusion.

    python benchmarks/b1_hashing.py            # headline, meant for one GPU
    python benchmarks/b1_hashing.py --quick    # CPU, a few minutes, small subset
    python benchmarks/b1_hashing.py --cpu      # the CPU reference setting (below)

The CPU reference setting (``--cpu``, BENCHMARKS.md): a stratified
Fashion-MNIST subset of 1500 training images per class (15,000; drawn with
seed 0) against the 10k test images, 4 class bits + 12 path bits, the MLP
backbone, 10 epochs at batch 256, seeds 0, 1, 2. Side by side in the same
run, per seed: DDTL at its defaults; the published loss (``gamma=0``, the
thesis temperature ``tau=1``, no median splits) and the same network with
median splits; the supervised-only fit (``beta=0``: a class head and a tree
head that is never trained, whose batch-normalised node logits act as
random hyperplanes through the data); class-only codes (the thesis's
supervised-only ablation: every item of a predicted class gets the same
code; the default model's class bits with constant path bits); CrPCA on
the default model's classifier; and the random reference
(:func:`sklproxy.metrics.hash_spread`: each item of a class in a uniformly
random leaf). Spread is reported for the training codes (the database, as
in the thesis) and for the test codes, each beside its own reference.
Results: ``results/b1_hashing_cpu.{json,md}`` and ``docs/b1_level_bits_cpu.png``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import PARTS as PARTS_DIR
from _common import (
    add_part_arguments,
    load_fmnist,
    markdown_table,
    read_parts,
    run_info,
    timed,
    write_part,
    write_results,
)
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator

from sklproxy.datasets import fashion_mnist_superclasses
from sklproxy.hashing import CrPCA, DDTLHasher
from sklproxy.metrics import (
    hash_entropy,
    hash_retention,
    hash_spread,
    mean_average_precision,
    mean_collisions,
    unique_code_ratio,
)
from sklproxy.neighbors import HammingIndex
from sklproxy.nn import ImageAugment


def itq_codes(Xtr, Xte, n_bits, seed, n_iter=50):
    """Iterative quantisation (Gong & Lazebnik): PCA, then a rotation minimising quantisation error."""
    pca = PCA(n_bits, random_state=seed).fit(Xtr)
    V, W = pca.transform(Xtr), pca.transform(Xte)
    R = np.linalg.qr(np.random.default_rng(seed).normal(size=(n_bits, n_bits)))[0]
    for _ in range(n_iter):
        B = np.sign(V @ R)
        U, _, Vt = np.linalg.svd(B.T @ V)
        R = (U @ Vt).T
    return [(Z @ R > 0).astype(np.uint8) for Z in (V, W)]


def lsh_codes(Xtr, Xte, n_bits, seed):
    """Random hyperplanes through the data mean."""
    P = np.random.default_rng(seed).normal(size=(Xtr.shape[1], n_bits))
    mu = Xtr.mean(axis=0)
    return [((Z - mu) @ P > 0).astype(np.uint8) for Z in (Xtr, Xte)]


def code_quality(name, db, queries, ytr, yte, acc=None, seconds=None, ks=(1000, 5000),
                 n_class_bits=4):
    row = {"model": name, "n_bits": int(db.shape[1]), "test_accuracy": acc, "fit_seconds": seconds}
    for k in ks:
        for ranking in ("code", "hamming"):
            row[f"map@{k}_{ranking}"] = mean_average_precision(queries, db, yte, ytr, k=k,
                                                               ranking=ranking)
    row.update(entropy_bits=hash_entropy(db), unique_percent=100 * unique_code_ratio(db),
               mean_collisions=mean_collisions(db))
    spread = hash_spread(db, ytr, n_class_bits=n_class_bits).as_dict()
    row.update({k: v for k, v in spread.items() if k.startswith("reference_") or "level" in k})
    print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()
           if not isinstance(v, list)}, flush=True)
    return row


def coarse_to_fine(hasher, Xtr, ytr, Xte, yte):
    """Fine accuracy from majority fine labels per training code (nearest code in code order)."""
    db, queries = hasher.transform(Xtr), hasher.transform(Xte)
    _, code_id = np.unique(db, axis=0, return_inverse=True)
    code_id = code_id.ravel()
    majority = np.zeros(code_id.max() + 1, dtype=np.int64)
    counts = np.zeros((code_id.max() + 1, 10), dtype=np.int64)
    np.add.at(counts, (code_id, ytr), 1)
    majority = counts.argmax(axis=1)
    nearest = HammingIndex(ranking="code").fit(db).kneighbors(queries, 1, return_distance=False)
    return float((majority[code_id[nearest[:, 0]]] == yte).mean())


def retention(hasher, Xte, seed):
    """Hash retention (% unchanged prefix per length t) under brightness jitter and occlusion."""
    gen = torch.Generator().manual_seed(seed)
    clean = hasher.transform(Xte)
    out = {}
    for strength in (0.1, 0.2, 0.4):
        factor = 1 + strength * (2 * torch.rand(len(Xte), 1, 1, 1, generator=gen).numpy() - 1)
        jittered = np.clip(Xte * factor, 0, 1).astype(np.float32)
        occluded = torch.from_numpy(Xte).clone()
        side = int(round(strength * 28))
        ys = torch.randint(0, 28 - side + 1, (len(Xte),), generator=gen)
        xs = torch.randint(0, 28 - side + 1, (len(Xte),), generator=gen)
        for i, (a, b) in enumerate(zip(ys.tolist(), xs.tolist())):
            occluded[i, :, a:a + side, b:b + side] = 0
        out[f"jitter_{strength}"] = (100 * hash_retention(clean, hasher.transform(jittered))).tolist()
        out[f"occlusion_{strength}"] = (100 * hash_retention(clean, hasher.transform(occluded.numpy()))).tolist()
    return out


PARTS = ("main", "sup", "unsup", "coarse")


def settings(quick: bool, device: str, seed: int) -> tuple[dict, tuple]:
    if quick:
        common = dict(backbone="convnet", width=16, max_epochs=6, batch_size=128, lr=2e-3)
        ks = (100, 1000)
    else:
        # 20 epochs took 37 s on an H100 (beside other parts, an upper bound) and
        # gave entropy 12.8 bits; longer schedules spread the codes more (CPU,
        # 6k Fashion-MNIST subset, ConvNet: a 40-epoch fit at batch 256 reached
        # entropy 9.8 bits and mAP@1000 0.68, a 10-epoch fit 8.4 and 0.59), so
        # the headline trains 60 epochs (about 2 minutes if it scales; not yet run)
        common = dict(backbone="resnet18", width=32, max_epochs=60, batch_size=512, lr=2e-3)
        ks = (1000, 5000)
    common.update(device=device, random_state=seed, augment=ImageAugment(hflip=0.5),
                  temperature=0.1)
    return common, ks


def run_part(part: str, data, common: dict, ks: tuple, seed: int, save) -> None:
    """One part of B1; ``save(rows, extra)`` is called after every measurement."""
    Xtr, ytr, Xte, yte = data
    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    rows, extra = [], {}

    def fit(y=ytr, **kw):
        hasher = DDTLHasher(**{**common, **kw})
        _, seconds = timed(hasher.fit, Xtr, y)
        return hasher, seconds

    def add(name, model, seconds, with_accuracy=True, codes=None, n_class_bits=4):
        db, q = codes if codes is not None else (model.transform(Xtr), model.transform(Xte))
        acc = float((model.predict(Xte) == yte).mean()) if with_accuracy else None
        rows.append(code_quality(name, db, q, ytr, yte, acc, seconds, ks, n_class_bits))
        save(rows, extra)

    if part == "main":  # the headline model, its retention, and the published loss beside it
        ddtl, t = fit(n_path_bits=12)
        add("DDTL (defaults)", ddtl, t)
        extra["retention"] = retention(ddtl, Xte, seed)
        save(rows, extra)
        published, t = fit(n_path_bits=12, gamma=0.0, temperature=1.0, median_splits=False)
        add("published loss (gamma=0, tau=1, no median splits)", published, t)
    elif part == "sup":  # the supervised-only ablation, class-only codes, CrPCA on its classifier
        sup, t = fit(n_path_bits=12, alpha=1.0, beta=0.0, median_splits=False)
        add("beta=0: class head + untrained tree (random hyperplanes)", sup, t)
        db, q = sup.transform(Xtr), sup.transform(Xte)
        add("class-only codes (thesis supervised-only ablation)", sup, None,
            codes=(class_only(db, 4), class_only(q, 4)))
        crpca, t = timed(CrPCA(n_path_bits=12, classifier=FrozenEstimator(sup)).fit, flat_tr, ytr)
        add("CrPCA (same classifier)", None, t, False,
            (crpca.transform(flat_tr), crpca.transform(flat_te)))
    elif part == "unsup":  # the unsupervised mode and the pixel baselines
        unsup, t = fit(n_path_bits=16, alpha=0.0, beta=1.0)
        add("unsupervised (alpha=0)", unsup, t, False, n_class_bits=0)
        codes, t = timed(itq_codes, flat_tr, flat_te, 16, seed)
        add("ITQ on pixels", None, t, False, codes, n_class_bits=0)
        codes, t = timed(lsh_codes, flat_tr, flat_te, 16, seed)
        add("LSH on pixels", None, t, False, codes, n_class_bits=0)
    elif part == "coarse":  # fit on 5 super-classes, classify the 10 fine classes
        coarse_tr = fashion_mnist_superclasses(ytr)
        extra["coarse_to_fine_fine_accuracy"] = {}
        for beta in (0.1, 0.0):
            model, _ = fit(n_path_bits=12, alpha=1.0, beta=beta, y=coarse_tr)
            extra["coarse_to_fine_fine_accuracy"][f"beta={beta}"] = coarse_to_fine(
                model, Xtr, ytr, Xte, yte)
            save(rows, extra)
        print("coarse-to-fine", extra["coarse_to_fine_fine_accuracy"], flush=True)
    else:
        raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")


def merge(stem: str, quick: bool, ks: tuple) -> None:
    """The result files from whichever parts finished (rows in part order)."""
    parts = read_parts(stem, PARTS)
    if not parts:
        raise SystemExit(f"no parts of {stem} found in {PARTS_DIR}")
    rows = [row for p in parts.values() for row in p["rows"]]
    extra = {k: v for p in parts.values() for k, v in p["extra"].items()}
    first = next(iter(parts.values()))
    info, settings_ = first["info"], first["settings"]
    info["parts"] = {name: {"complete": p["complete"], "wall_seconds": p["wall_seconds"]}
                     for name, p in parts.items()}
    by_name = {r["model"]: r for r in rows}
    notes = []
    base = "beta=0: class head + untrained tree (random hyperplanes)"
    if "DDTL (defaults)" in by_name and base in by_name:
        extra["entropy_gain_over_beta0_bits"] = (by_name["DDTL (defaults)"]["entropy_bits"]
                                                 - by_name[base]["entropy_bits"])
        notes.append(f"Entropy gain of DDTL over beta=0: {extra['entropy_gain_over_beta0_bits']:.2f} bits.")
    if "coarse_to_fine_fine_accuracy" in extra:
        notes.append("Coarse-to-fine fine-class accuracy: " + ", ".join(
            f"{k} {v:.3f}" for k, v in extra["coarse_to_fine_fine_accuracy"].items()) + ".")
    missing = [name for name in PARTS if name not in parts or not parts[name]["complete"]]
    if missing:
        notes.append(f"Parts not run or stopped before the end (time limit): {', '.join(missing)}.")
    if info.get("concurrent"):
        notes.append("Parts ran concurrently on the one card: fit times are upper bounds.")
    k0 = ks[0]
    header = ["model", "bits", "test acc", f"mAP@{k0} code", f"mAP@{k0} hamming",
              f"mAP@{ks[1]} code", "entropy (ref)", "unique % (ref)", "mean collisions (ref)",
              "fit s"]

    def ref(r, key, fmt):
        value = format(r[key], fmt)
        return value if f"reference_{key}" not in r else f"{value} ({format(r[f'reference_{key}'], fmt)})"

    table_rows = [[r["model"], r["n_bits"], "-" if r["test_accuracy"] is None else r["test_accuracy"],
                   r[f"map@{k0}_code"], r[f"map@{k0}_hamming"], r[f"map@{ks[1]}_code"],
                   ref(r, "entropy_bits", ".2f"), ref(r, "unique_percent", ".1f"),
                   ref(r, "mean_collisions", ".2f"), "-" if r["fit_seconds"] is None else r["fit_seconds"]]
                  for r in rows]
    title = (f"B1 hashing, Fashion-MNIST {'QUICK CPU subset' if quick else 'full'} "
             f"({info['n_train']} train / {info['n_test']} test), {info['device_name']}, "
             f"commit {info['commit'][:8]}")
    table = f"### {title}\n\n" + markdown_table(header, table_rows) + "\n" + " ".join(notes) + "\n"
    write_results(stem, {"info": info, "settings": settings_, "rows": rows, **extra}, table)


# ---------------------------------------------------------------------------
# The CPU reference setting
# ---------------------------------------------------------------------------

CPU_PER_CLASS = 1500
CPU_SETTINGS = dict(n_path_bits=12, backbone="mlp", max_epochs=10, batch_size=256, device="cpu")
CPU_K = 1000


def fmnist_subset(per_class: int, seed: int = 0):
    """A stratified Fashion-MNIST training subset (``per_class`` images per class,
    drawn with ``seed``) and the 10k test images, float32 in [0, 1], (n, 1, 28, 28)."""
    Xtr, ytr, Xte, yte = load_fmnist()
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(ytr == c), per_class, replace=False)
                                   for c in range(10)]))
    return Xtr[keep], ytr[keep], Xte, yte


def class_only(codes: np.ndarray, n_class_bits: int) -> np.ndarray:
    """The class bits with constant (zero) path bits: one code per predicted class."""
    out = codes.copy()
    out[:, n_class_bits:] = 0
    return out


def view_retention(hasher: DDTLHasher, X: np.ndarray, seed: int) -> float:
    """Share of test items whose class bits + first half of the path survive one random
    training view of the item (the fit's own augmentation)."""
    gen = torch.Generator().manual_seed(seed)
    Xt = torch.from_numpy(X)
    views = torch.cat([hasher.net_.augmented(Xt[i:i + 1024], gen) for i in range(0, len(Xt), 1024)])
    t = hasher.n_class_bits_ + hasher.n_path_bits // 2
    return float(hash_retention(hasher.transform(X), hasher.transform(views.numpy()), [t])[0])


def spread_row(name, db, q, ytr, yte, n_class_bits, acc=None, seconds=None, retention=None):
    """Quality of one set of codes: mAP, spread of the training and of the test codes."""
    train = hash_spread(db, ytr, n_class_bits=n_class_bits)
    test = hash_spread(q, yte, n_class_bits=n_class_bits)
    row = {"model": name, "test_accuracy": acc, "fit_seconds": seconds,
           "view_retention_half_path": retention,
           f"map@{CPU_K}_code": mean_average_precision(q, db, yte, ytr, k=CPU_K, ranking="code"),
           f"map@{CPU_K}_hamming": mean_average_precision(q, db, yte, ytr, k=CPU_K,
                                                          ranking="hamming"),
           **train.as_dict(),
           **{f"test_{k}": v for k, v in test.as_dict().items()}}
    print(f"{name:48s} mAP {row[f'map@{CPU_K}_code']:.3f} H {train.codes.entropy:.2f}/"
          f"{train.reference.entropy:.2f} uniq {100 * train.codes.unique_ratio:.1f}/"
          f"{100 * train.reference.unique_ratio:.1f} coll {train.codes.mean_collisions:.2f}/"
          f"{train.reference.mean_collisions:.2f} test H {test.codes.entropy:.2f}/"
          f"{test.reference.entropy:.2f}", flush=True)
    return row


def run_cpu_seed(data, seed: int) -> list[dict]:
    """Every row of the CPU reference setting for one seed."""
    Xtr, ytr, Xte, yte = data
    common = {**CPU_SETTINGS, "random_state": seed}
    rows = []

    def fit(**kw):
        return timed(DDTLHasher(**{**common, **kw}).fit, Xtr, ytr)

    def add(name, h, seconds, codes=None):
        db, q = codes if codes is not None else (h.transform(Xtr), h.transform(Xte))
        acc = float((h.predict(Xte) == yte).mean())
        retention = view_retention(h, Xte, seed) if codes is None else None
        rows.append(spread_row(name, db, q, ytr, yte, h.n_class_bits_, acc, seconds, retention))
        return db, q

    ddtl, t = fit()
    db, q = add("DDTL (defaults)", ddtl, t)
    add("class-only codes (thesis supervised-only ablation)", ddtl, None,
        (class_only(db, ddtl.n_class_bits_), class_only(q, ddtl.n_class_bits_)))
    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    crpca, t = timed(CrPCA(n_path_bits=CPU_SETTINGS["n_path_bits"],
                           classifier=FrozenEstimator(ddtl)).fit, flat_tr, ytr)
    add("CrPCA (DDTL's classifier, PCA on pixels)", ddtl, t,
        (crpca.transform(flat_tr), crpca.transform(flat_te)))
    published, t = fit(gamma=0.0, temperature=1.0, median_splits=False, refit_tree_epochs=0)
    add("published loss (gamma=0, tau=1, no median splits)", published, t)
    split, t2 = timed(_with_median_splits, published, Xtr)
    add("published loss + median splits", split, t + t2)
    sup, t = fit(beta=0.0, gamma=0.0, median_splits=False, refit_tree_epochs=0)
    add("beta=0: class head + untrained tree (random hyperplanes)", sup, t)
    return rows


def _with_median_splits(hasher: DDTLHasher, X: np.ndarray) -> DDTLHasher:
    """A copy of a fitted hasher with per-class median splits set on ``X``."""
    import copy

    from sklproxy.hashing._net import set_median_splits

    h = copy.deepcopy(hasher)
    set_median_splits(h.net_, torch.from_numpy(h._validate_fitted_input(X)))
    return h


def _mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return float(np.mean(values)), float(np.std(values))


def cpu_summary(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds of every numeric figure, per model."""
    out = []
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        summary = {"model": name, "n_seeds": len(mine)}
        for key, value in mine[0].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) or value is None:
                summary[key], summary[key + "_sd"] = _mean_sd([r[key] for r in mine])
            elif isinstance(value, list) and value and isinstance(value[0], float):
                summary[key] = np.mean([r[key] for r in mine], axis=0).tolist()
        out.append(summary)
    return out


def cpu_table(summary: list[dict], info: dict) -> str:
    def pm(row, key, scale=1.0, digits=2):
        if row.get(key) is None:
            return "-"
        sd = row.get(key + "_sd") or 0.0
        return f"{scale * row[key]:.{digits}f} ± {scale * sd:.{digits}f}"

    def with_ref(row, key, ref_key, scale=1.0, digits=2):
        return f"{pm(row, key, scale, digits)} ({scale * row[ref_key]:.{digits}f})"

    header = ["model", "test acc", f"mAP@{CPU_K} code", "train entropy (ref)", "unique % (ref)",
              "mean collisions (ref)", "test-code entropy (ref)", "kept under a view", "fit s"]
    lines = []
    for r in summary:
        lines.append([
            r["model"], pm(r, "test_accuracy", digits=3), pm(r, f"map@{CPU_K}_code", digits=3),
            with_ref(r, "entropy_bits", "reference_entropy_bits"),
            with_ref(r, "unique_percent", "reference_unique_percent", digits=1),
            with_ref(r, "mean_collisions", "reference_mean_collisions"),
            with_ref(r, "test_entropy_bits", "test_reference_entropy_bits"),
            pm(r, "view_retention_half_path", digits=2), pm(r, "fit_seconds", digits=0)])
    title = (f"### B1 hashing, CPU reference setting: Fashion-MNIST {info['n_train']} train "
             f"(1500 per class) / {info['n_test']} test, 4 + 12 bits, MLP, "
             f"{CPU_SETTINGS['max_epochs']} epochs, seeds {info['seeds']}, {info['device_name']}, "
             f"commit {info['commit'][:8]}")
    notes = ("Mean ± standard deviation over seeds; (ref) is the random reference for the same "
             "labels and depth (each item of a class in a uniformly random leaf; exact "
             "expectation, `sklproxy.metrics.hash_spread`), for the training codes and for the "
             "test codes. 'kept under a view': share of test items whose class bits and first 6 "
             "path bits are unchanged when the image is replaced by one random training view. "
             f"Whole run: {info['wall_seconds'] / 60:.1f} min on a shared 2-core machine "
             f"({info['threads']} thread(s)).")
    return f"{title}\n\n" + _table(header, lines) + "\n" + notes + "\n"


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def level_plot(summary: list[dict], path) -> None:
    """Bits gained at each tree level (within a class, training codes), with the reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    levels = np.arange(1, len(summary[0]["reference_level_bits"]) + 1)
    styles = iter(["-", "--", "-.", ":", (0, (5, 1))] * 3)
    for r in summary:
        if "class-only" in r["model"]:
            continue
        ax.plot(levels, r["level_bits"], marker="o", ms=3, ls=next(styles), label=r["model"],
                lw=3 if r["model"] == "DDTL (defaults)" else 1.5, alpha=0.85)
    ax.plot(levels, summary[0]["reference_level_bits"], color="k", ls=":", lw=2.5,
            label="random reference")
    ax.set_xlabel("tree level (root = 1)")
    ax.set_ylabel("bits gained within a class")
    ax.set_ylim(0, 1.05)
    ax.set_title("B1 CPU reference: bits per tree level, training codes (mean of seeds)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def replot_cpu() -> None:
    """The per-level plot again from ``results/b1_hashing_cpu.json``."""
    import json
    from pathlib import Path

    from _common import RESULTS

    summary = json.loads((RESULTS / "b1_hashing_cpu.json").read_text())["summary"]
    level_plot(summary, Path(__file__).resolve().parents[1] / "docs" / "b1_level_bits_cpu.png")


def run_cpu(seeds, threads: int) -> None:
    import json
    from pathlib import Path

    torch.set_num_threads(threads)
    start = time.perf_counter()
    data = fmnist_subset(CPU_PER_CLASS)
    info = {**run_info(seeds[0], "cpu", False), "n_train": len(data[0]), "n_test": len(data[2]),
            "seeds": list(seeds), "threads": threads, "settings": str(CPU_SETTINGS)}
    partial = PARTS_DIR / "b1_hashing_cpu.rows.json"
    rows = json.loads(partial.read_text()) if partial.exists() else []
    for seed in seeds:
        if any(r["seed"] == seed for r in rows):
            continue
        new = run_cpu_seed(data, seed)
        for r in new:
            r["seed"] = seed
        rows += new
        PARTS_DIR.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(rows, default=float))
    rows = [r for r in rows if r["seed"] in seeds]
    info["wall_seconds"] = time.perf_counter() - start
    summary = cpu_summary(rows)
    write_results("b1_hashing_cpu", {"info": info, "summary": summary, "rows": rows},
                  cpu_table(summary, info))
    level_plot(summary, Path(__file__).resolve().parents[1] / "docs" / "b1_level_bits_cpu.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CPU-sized subset and schedule")
    parser.add_argument("--cpu", action="store_true",
                        help="the CPU reference setting (15k Fashion-MNIST, 3 seeds)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds of the --cpu run")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the --cpu run")
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the --cpu per-level plot from its JSON")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    add_part_arguments(parser, PARTS)
    args = parser.parse_args()
    if args.replot:
        return replot_cpu()
    if args.cpu:
        return run_cpu(args.seeds, args.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    stem = "b1_hashing_quick" if args.quick else "b1_hashing"
    common, ks = settings(args.quick, device, args.seed)
    if args.merge:
        return merge(stem, args.quick, ks)
    data = load_fmnist(4000, 1000) if args.quick else load_fmnist()
    info = {**run_info(args.seed, device, args.quick), "n_train": len(data[0]),
            "n_test": len(data[2]), "concurrent": args.concurrent}
    for part in args.part or PARTS:
        start = time.perf_counter()

        def save(rows, extra, complete=False, part=part, start=start):
            write_part(stem, part, {"info": info, "settings": {k: str(v) for k, v in common.items()},
                                    "rows": rows, "extra": extra, "complete": complete,
                                    "wall_seconds": time.perf_counter() - start})

        run_part(part, data, common, ks, args.seed, save)
        parts = read_parts(stem, [part])[part]
        save(parts["rows"], parts["extra"], complete=True)
    if not args.part:
        merge(stem, args.quick, ks)


if __name__ == "__main__":
    main()
