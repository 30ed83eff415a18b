"""B1's settings and jobs: what is fitted and measured.

Jobs of the headline and quick runs: setting ``fmnist``, parts ``main``,
``sup``, ``unsup``, ``coarse``, one seed. Jobs of the CPU reference: setting
``fmnist-15k``, parts ``defaults``, ``published``, ``beta0`` (every row with
its hash-retention curves) and ``coarse`` (the same rows fitted on the 5
super-classes, read with the 10 fine classes), seeds 0-2.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.neighbors import KNeighborsClassifier

from sklproxy.datasets import fashion_mnist_superclasses
from sklproxy.hashing import CrPCA, DDTLHasher
from sklproxy.hashing._net import set_median_splits
from sklproxy.metrics import (
    coarse_to_fine_accuracy,
    hash_entropy,
    hash_retention,
    hash_retention_curves,
    hash_spread,
    mean_average_precision,
    mean_collisions,
    unique_code_ratio,
)
from sklproxy.neighbors import HammingIndex
from sklproxy.nn import ImageAugment

from .._data import fmnist_subset, load_fmnist
from .._runner import Job, timed

PARTS = ("main", "sup", "unsup", "coarse")
CPU_PARTS = ("defaults", "published", "beta0", "coarse")
CPU_SEEDS = (0, 1, 2)
CPU_PER_CLASS = 1500
CPU_SETTINGS = dict(n_path_bits=12, backbone="mlp", max_epochs=10, batch_size=256, device="cpu")
CPU_K = 1000
#: path bits after the class bits at which the CPU reference reads retention and leaves
CPU_PREFIX_PATH_BITS = (4, 6)
#: training-code entropy (bits) at which rows of different spread are compared for stability:
#: about the published loss's whole code on the CPU reference (7.3 bits)
EQUAL_SPREAD_BITS = 7.0
#: k of the coarse-to-fine k-NN reading (training codes in code order)
CPU_C2F_K = 10
#: the rows of the published loss, and of the supervised-only fit
PUBLISHED = "published loss (gamma=0, tau=1, no median splits)"
BETA0 = "beta=0: class head + untrained tree (random hyperplanes)"
PUBLISHED_MEDIAN = "published loss + median splits"
MEDIAN = 'DDTL, splits="median" (the previous default; same network)'
CRPCA = "CrPCA (DDTL's classifier, PCA on pixels)"
PIXEL_KNN = f"pixel {CPU_C2F_K}-NN inside the true super-class (reference)"


# ------------------------------------------------------------------ baselines
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


def class_only(codes: np.ndarray, n_class_bits: int) -> np.ndarray:
    """The class bits with constant (zero) path bits: one code per predicted class."""
    out = codes.copy()
    out[:, n_class_bits:] = 0
    return out


# ------------------------------------------------------------------ measures
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


def training_views(hasher: DDTLHasher, X: np.ndarray, seed: int) -> np.ndarray:
    """One random training view of every item (the fit's own augmentation)."""
    gen = torch.Generator().manual_seed(seed)
    Xt = torch.from_numpy(X)
    return torch.cat([hasher.net_.augmented(Xt[i:i + 1024], gen)
                      for i in range(0, len(Xt), 1024)]).numpy()


def retention_at_equal_spread(transform, db, Xte, views, n_class_bits: int) -> dict:
    """Stability at equal spread: for every prefix ``c + l`` the training codes' entropy and
    the share of test codes whose prefix survives one training view, and the latter read at
    :data:`EQUAL_SPREAD_BITS` (linear between the two prefixes around it; None when the
    whole code spreads less)."""
    lengths = list(range(n_class_bits, db.shape[1] + 1))
    entropy = [hash_entropy(db[:, :t]) if t else 0.0 for t in lengths]
    kept = hash_retention(transform(Xte), transform(views), lengths).tolist()
    at = None
    if entropy[-1] >= EQUAL_SPREAD_BITS:
        i = next(i for i, e in enumerate(entropy) if e >= EQUAL_SPREAD_BITS)
        if i == 0 or entropy[i] == entropy[i - 1]:
            at = kept[i]
        else:
            w = (EQUAL_SPREAD_BITS - entropy[i - 1]) / (entropy[i] - entropy[i - 1])
            at = kept[i - 1] + w * (kept[i] - kept[i - 1])
    return {"prefix_entropy": entropy, "prefix_view_retention": kept,
            "view_retention_at_equal_spread": at}


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


def retention_curves(transform, X, n_class_bits: int, seed: int) -> dict:
    """``{"retention_<kind>_<strength>": [kept at class + l path bits for l in
    CPU_PREFIX_PATH_BITS]}`` under :data:`~sklproxy.metrics.DEFAULT_PERTURBATIONS`; every
    row of a seed sees the same perturbed images."""
    lengths = [n_class_bits + l for l in CPU_PREFIX_PATH_BITS]
    curves = hash_retention_curves(transform, X, prefix_lengths=lengths, random_state=seed)
    return {f"retention_{kind}_{strength:g}": kept.tolist()
            for kind, by_strength in curves.items() for strength, kept in by_strength.items()}


def c2f_row(name, db, q, fine_tr, fine_te, n_class_bits: int) -> dict:
    """Coarse-to-fine figures of one set of codes fitted on super-classes."""
    out = coarse_to_fine_accuracy(db, fine_tr, q, fine_te, n_neighbors=CPU_C2F_K)
    leaf = dict(zip(out.prefix_lengths.tolist(), out.leaf_accuracy.tolist()))
    row = {"model": name, "c2f_knn_accuracy": out.knn_accuracy,
           "c2f_leaf_accuracy": out.leaf_accuracy.tolist(),
           "c2f_leaf_coverage": out.leaf_coverage.tolist(),
           **{f"c2f_leaf_accuracy_path{l}": leaf[n_class_bits + l]
              for l in (0, *CPU_PREFIX_PATH_BITS, db.shape[1] - n_class_bits)}}
    print(f"{name:48s} coarse-to-fine k-NN {out.knn_accuracy:.3f} leaf "
          + " ".join(f"{k}:{v:.3f}" for k, v in row.items() if "_path" in k), flush=True)
    return row


def pixel_knn_within_superclass(Xtr, fine_tr, coarse_tr, Xte, fine_te, coarse_te) -> float:
    """Fine accuracy of a pixel k-NN among the training items of each test item's *true*
    super-class: an upper reference the codes do not see."""
    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    correct = 0
    for c in np.unique(coarse_te):
        knn = KNeighborsClassifier(CPU_C2F_K).fit(flat_tr[coarse_tr == c], fine_tr[coarse_tr == c])
        mine = coarse_te == c
        correct += int((knn.predict(flat_te[mine]) == fine_te[mine]).sum())
    return correct / len(Xte)


def with_median_splits(hasher: DDTLHasher, X: np.ndarray) -> DDTLHasher:
    """A copy of a fitted hasher with ``splits="median"``'s splits set on ``X``, on the same
    network (per-class trees of ``splits="invariant"``, if any, dropped first)."""
    h = copy.deepcopy(hasher)
    tree = h.net_.module_.tree
    tree.group_weight = tree.group_bias = None
    set_median_splits(h.net_, torch.from_numpy(h._validate_fitted_input(X)))
    return h


# ------------------------------------------------------- headline and quick
def settings(quick: bool, device: str, seed: int) -> tuple[dict, tuple]:
    """The estimator settings every headline fit shares, and the two k of mAP@k."""
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


def headline_data(quick: bool):
    return load_fmnist(4000, 1000) if quick else load_fmnist()


def headline_work(quick: bool, device: str, job: Job, save) -> dict:
    """One headline (or quick) job; ``functools.partial(headline_work, quick, device)`` is the work."""
    common, ks = settings(quick, device, job.seed)
    data = headline_data(quick)
    out = {"n_train": len(data[0]), "n_test": len(data[2]),
           "settings": {k: str(v) for k, v in common.items()}, "rows": [], "extra": {}}
    run_part(job.part, data, common, ks, job.seed, lambda rows, extra: save(out), out)
    return out


def run_part(part: str, data, common: dict, ks: tuple, seed: int, save, out: dict) -> None:
    """One part of the headline into ``out["rows"]`` and ``out["extra"]``; ``save(rows, extra)``
    after every measurement."""
    Xtr, ytr, Xte, yte = data
    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    rows, extra = out["rows"], out["extra"]

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
        published, t = fit(n_path_bits=12, splits="learned", temperature=1.0)
        add(PUBLISHED, published, t)
    elif part == "sup":  # the supervised-only ablation, class-only codes, CrPCA on its classifier
        sup, t = fit(n_path_bits=12, alpha=1.0, beta=0.0, splits="learned")
        add(BETA0, sup, t)
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


# ------------------------------------------------------------ CPU reference
def cpu_data():
    return fmnist_subset(CPU_PER_CLASS)


def cpu_work(job: Job, save) -> dict:
    """The rows of one part of the CPU reference for one seed."""
    Xtr, ytr, Xte, yte = cpu_data()
    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    common = {**CPU_SETTINGS, "random_state": job.seed}
    rows: list[dict] = []
    out = {"n_train": len(Xtr), "n_test": len(Xte), "rows": rows}
    if job.part == "coarse":
        return coarse_work(job, save, out, common)

    def fit(**kw):
        return timed(DDTLHasher(**{**common, **kw}).fit, Xtr, ytr)

    def add(name, h, seconds, codes=None, transform=None):
        """One row; ``codes`` and ``transform`` (images to codes) replace ``h``'s own."""
        db, q = codes if codes is not None else (h.transform(Xtr), h.transform(Xte))
        acc = float((h.predict(Xte) == yte).mean())
        curves = retention_curves(transform or h.transform, Xte, h.n_class_bits_, job.seed)
        equal = retention_at_equal_spread(transform or h.transform, db, Xte,
                                          training_views(h, Xte, job.seed), h.n_class_bits_)
        # class bits + half the path under one view: B1's column, for the hasher's own codes
        kept = equal["prefix_view_retention"][h.n_path_bits // 2] if codes is None else None
        rows.append({**spread_row(name, db, q, ytr, yte, h.n_class_bits_, acc, seconds, kept),
                     **curves, **equal, "seed": job.seed})
        save(out)
        return db, q

    if job.part == "defaults":  # DDTL, median splits on its network, class-only codes, CrPCA
        ddtl, t = fit()
        db, q = add("DDTL (defaults)", ddtl, t)
        median, t2 = timed(with_median_splits, ddtl, Xtr)
        add(MEDIAN, median, t + t2)
        c = ddtl.n_class_bits_
        add("class-only codes (thesis supervised-only ablation)", ddtl, None,
            (class_only(db, c), class_only(q, c)), lambda X: class_only(ddtl.transform(X), c))
        crpca, t = timed(CrPCA(n_path_bits=CPU_SETTINGS["n_path_bits"],
                               classifier=FrozenEstimator(ddtl)).fit, flat_tr, ytr)
        add(CRPCA, ddtl, t, (crpca.transform(flat_tr), crpca.transform(flat_te)),
            lambda X: crpca.transform(X.reshape(len(X), -1)))
    elif job.part == "published":  # the published loss, and the same network with median splits
        published, t = fit(splits="learned", temperature=1.0)
        add(PUBLISHED, published, t)
        split, t2 = timed(with_median_splits, published, Xtr)
        add(PUBLISHED_MEDIAN, split, t + t2)
    elif job.part == "beta0":
        sup, t = fit(beta=0.0, splits="learned")
        add(BETA0, sup, t)
    else:
        raise ValueError(f"unknown part {job.part!r}; expected one of {CPU_PARTS}")
    return out


def coarse_work(job: Job, save, out: dict, common: dict) -> dict:
    """Part ``coarse``: every row of the table fitted on the 5 super-classes; the codes of
    the training items, read with their fine labels, classify the fine test classes."""
    Xtr, fine_tr, Xte, fine_te = cpu_data()
    coarse_tr, coarse_te = fashion_mnist_superclasses(fine_tr), fashion_mnist_superclasses(fine_te)
    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    rows = out["rows"]

    def fit(**kw):
        return DDTLHasher(**{**common, **kw}).fit(Xtr, coarse_tr)

    def add(name, h, codes=None):
        db, q = codes if codes is not None else (h.transform(Xtr), h.transform(Xte))
        rows.append({**c2f_row(name, db, q, fine_tr, fine_te, h.n_class_bits_),
                     "coarse_test_accuracy": float((h.predict(Xte) == coarse_te).mean()),
                     "seed": job.seed})
        save(out)
        return db, q

    ddtl = fit()
    db, q = add("DDTL (defaults)", ddtl)
    add(MEDIAN, with_median_splits(ddtl, Xtr))
    c = ddtl.n_class_bits_
    add("class-only codes (thesis supervised-only ablation)", ddtl,
        (class_only(db, c), class_only(q, c)))
    crpca = CrPCA(n_path_bits=CPU_SETTINGS["n_path_bits"],
                  classifier=FrozenEstimator(ddtl)).fit(flat_tr, coarse_tr)
    add(CRPCA, ddtl, (crpca.transform(flat_tr), crpca.transform(flat_te)))
    published = fit(splits="learned", temperature=1.0)
    add(PUBLISHED, published)
    add(PUBLISHED_MEDIAN, with_median_splits(published, Xtr))
    add(BETA0, fit(beta=0.0, splits="learned"))
    rows.append({"model": PIXEL_KNN, "seed": job.seed,
                 "c2f_knn_accuracy": pixel_knn_within_superclass(
                     Xtr, fine_tr, coarse_tr, Xte, fine_te, coarse_te)})
    print(f"{PIXEL_KNN:48s} {rows[-1]['c2f_knn_accuracy']:.3f}", flush=True)
    save(out)
    return out
