"""B1: DDTL hashing on Fashion-MNIST (BENCHMARKS.md).

Fits DDTL (4 class bits + 12 path bits) on the 60k training images, the
supervised-only ablation (beta=0), the unsupervised mode (alpha=0, 16 path
bits), CrPCA (the same trained classifier + repeated PCA on pixels), ITQ and
LSH on pixels; reports mAP@1000/@5000 of the 10k test queries against the
training codes in code order and Hamming order, test accuracy, and entropy,
unique codes and mean collisions of the training codes. Also coarse-to-fine
(fit on 5 super-classes, classify the 10 fine classes by the majority fine
label of the nearest training code) and hash retention under brightness
jitter and occlusion.

    python benchmarks/b1_hashing.py            # headline, meant for one GPU
    python benchmarks/b1_hashing.py --quick    # CPU, a few minutes, small subset
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import load_fmnist, markdown_table, run_info, timed, write_results
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator

from sklproxy.datasets import fashion_mnist_superclasses
from sklproxy.hashing import CrPCA, DDTLHasher
from sklproxy.metrics import (
    hash_entropy,
    hash_retention,
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


def code_quality(name, db, queries, ytr, yte, acc=None, seconds=None, ks=(1000, 5000)):
    row = {"model": name, "n_bits": int(db.shape[1]), "test_accuracy": acc, "fit_seconds": seconds}
    for k in ks:
        for ranking in ("code", "hamming"):
            row[f"map@{k}_{ranking}"] = mean_average_precision(queries, db, yte, ytr, k=k,
                                                               ranking=ranking)
    row.update(entropy_bits=hash_entropy(db), unique_percent=100 * unique_code_ratio(db),
               mean_collisions=mean_collisions(db))
    print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CPU-sized subset and schedule")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if args.quick:
        data = load_fmnist(4000, 1000)
        common = dict(backbone="convnet", width=16, max_epochs=6, batch_size=128, lr=2e-3)
        ks = (100, 1000)
    else:
        data = load_fmnist()
        common = dict(backbone="resnet18", width=32, max_epochs=30, batch_size=512, lr=2e-3)
        ks = (1000, 5000)
    Xtr, ytr, Xte, yte = data
    common.update(device=device, random_state=args.seed, augment=ImageAugment(hflip=0.5),
                  temperature=0.1)
    info = run_info(args.seed, device, args.quick)
    rows, extra = [], {}

    def fit(y=ytr, **kw):
        hasher = DDTLHasher(**{**common, **kw})
        _, seconds = timed(hasher.fit, Xtr, y)
        return hasher, seconds

    ddtl, t = fit(n_path_bits=12, alpha=1.0, beta=0.1)
    db, q = ddtl.transform(Xtr), ddtl.transform(Xte)
    rows.append(code_quality("DDTL (beta=0.1)", db, q, ytr, yte,
                             float((ddtl.predict(Xte) == yte).mean()), t, ks))
    extra["retention"] = retention(ddtl, Xte, args.seed)

    sup, t = fit(n_path_bits=12, alpha=1.0, beta=0.0)
    rows.append(code_quality("supervised only (beta=0)", sup.transform(Xtr), sup.transform(Xte),
                             ytr, yte, float((sup.predict(Xte) == yte).mean()), t, ks))

    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    crpca, t = timed(CrPCA(n_path_bits=12, classifier=FrozenEstimator(sup)).fit, flat_tr, ytr)
    rows.append(code_quality("CrPCA (same classifier)", crpca.transform(flat_tr),
                             crpca.transform(flat_te), ytr, yte, None, t, ks))

    unsup, t = fit(n_path_bits=16, alpha=0.0, beta=1.0)
    rows.append(code_quality("unsupervised (alpha=0)", unsup.transform(Xtr), unsup.transform(Xte),
                             ytr, yte, None, t, ks))
    (itq_tr, itq_te), t = timed(itq_codes, flat_tr, flat_te, 16, args.seed)
    rows.append(code_quality("ITQ on pixels", itq_tr, itq_te, ytr, yte, None, t, ks))
    (lsh_tr, lsh_te), t = timed(lsh_codes, flat_tr, flat_te, 16, args.seed)
    rows.append(code_quality("LSH on pixels", lsh_tr, lsh_te, ytr, yte, None, t, ks))

    coarse_tr = fashion_mnist_superclasses(ytr)
    coarse = {}
    for beta in (0.1, 0.0):
        model, _ = fit(n_path_bits=12, alpha=1.0, beta=beta, y=coarse_tr)
        coarse[f"beta={beta}"] = coarse_to_fine(model, Xtr, ytr, Xte, yte)
    extra["coarse_to_fine_fine_accuracy"] = coarse
    print("coarse-to-fine", coarse, flush=True)

    d, s = rows[0], rows[1]
    extra["entropy_gain_over_beta0_bits"] = d["entropy_bits"] - s["entropy_bits"]
    k0 = ks[0]
    header = ["model", "bits", "test acc", f"mAP@{k0} code", f"mAP@{k0} hamming",
              f"mAP@{ks[1]} code", "entropy (bits)", "unique %", "mean collisions", "fit s"]
    table_rows = [[r["model"], r["n_bits"], "-" if r["test_accuracy"] is None else r["test_accuracy"],
                   r[f"map@{k0}_code"], r[f"map@{k0}_hamming"], r[f"map@{ks[1]}_code"],
                   r["entropy_bits"], r["unique_percent"], r["mean_collisions"], r["fit_seconds"]]
                  for r in rows]
    title = (f"B1 hashing, Fashion-MNIST {'QUICK CPU subset' if args.quick else 'full'} "
             f"({len(Xtr)} train / {len(Xte)} test), {info['device_name']}, commit {info['commit'][:8]}")
    table = (f"### {title}\n\n" + markdown_table(header, table_rows)
             + f"\nEntropy gain of DDTL over beta=0: {extra['entropy_gain_over_beta0_bits']:.2f} bits. "
             + "Coarse-to-fine fine-class accuracy: "
             + ", ".join(f"{k} {v:.3f}" for k, v in coarse.items()) + ".\n")
    write_results("b1_hashing_quick" if args.quick else "b1_hashing",
                  {"info": info, "settings": {k: str(v) for k, v in common.items()},
                   "rows": rows, **extra}, table)


if __name__ == "__main__":
    main()
