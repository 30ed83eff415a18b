"""Fitting the spectral swap of ``Swap``: is the label in the images' style?

Two instruments, both deliberately simple classifiers trained on one half of
the (substituted) training images and scored on the other:

* :func:`amplitude_probe`, the gate: a logistic regression on the images'
  amplitude spectra, which do not see where anything is. Near-perfect on a
  corruption, texture or patch that the labels agree with; well below on
  shapes alone.
* :func:`probe_follow`, the report (B3, before and after the step): a
  classifier of ``f``'s kind on the VQ-VAE's latents, asked about images
  swapped with a donor of another class: whose label does it give?
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from .._training import DeviceNet, TensorPairDataset
from ..nn.spectral import spectral_swap
from ..nn.vqvae import quantise
from ._net import LatentMLP

__all__ = ["amplitude_probe", "fit_swap", "probe_follow", "style_follow"]

# Images of the training set that the swap's donors are drawn from: at most
# this many and _BANK_BYTES of float32, but at least 16 (large images).
_BANK, _BANK_BYTES = 512, 32 * 2**20
# At most this many images train the test classifier, and as many are swapped.
_HALF = 2048
# Amplitude spectra are averaged down to at most this many bins per side.
_SPECTRUM_BINS = 32


def style_follow(predict, X: torch.Tensor, y: np.ndarray, cutoff: float,
                 rng: np.random.RandomState) -> dict[str, float]:
    """How often ``predict`` follows the donor of :func:`~sklproxy.nn.spectral.spectral_swap`.

    Each image of ``X`` (labels ``y``) is swapped with a donor of another
    class drawn with ``rng``. Returns ``accuracy`` (on ``X`` itself),
    ``recipient`` and ``donor`` (shares of the swapped images assigned to
    each one's class) and ``follow = donor / (donor + recipient)`` (0.5
    when neither wins; 0 when the classifier ignores what the swap brings).
    """
    y = np.asarray(y)
    donors = np.empty(len(y), dtype=np.int64)
    for i, label in enumerate(y):
        others = np.flatnonzero(y != label)
        donors[i] = others[rng.randint(len(others))]
    swapped = spectral_swap(X, X[torch.from_numpy(donors).to(X.device)], cutoff)
    swapped = swapped.clamp(float(X.min()), float(X.max()))
    pred, pred_swapped = predict(X), predict(swapped)
    recipient = float((pred_swapped == y).mean())
    donor = float((pred_swapped == y[donors]).mean())
    return {"accuracy": float((pred == y).mean()), "recipient": recipient, "donor": donor,
            "follow": donor / (donor + recipient) if donor + recipient > 0 else 0.5}


def amplitude_features(X: torch.Tensor) -> np.ndarray:
    """``log(1 + |rfft2(x)|)`` per channel, averaged down to at most 32 bins a side: ``(n, n_features)``."""
    spectrum = torch.log1p(torch.fft.rfft2(X.float()).abs())
    size = [min(s, _SPECTRUM_BINS) for s in spectrum.shape[-2:]]
    return F.adaptive_avg_pool2d(spectrum, size).reshape(len(X), -1).cpu().numpy()


def amplitude_probe(X: torch.Tensor, y: np.ndarray, seed: int) -> float:
    """Held-out accuracy of a logistic regression on the amplitude spectra of ``X`` (labels ``y``).

    Trained on one half (every class in both halves) and scored on the
    other, then the other way round; the mean of the two. The features are
    centred, not scaled one by one: scaling would blow up bins that barely
    vary (float rounding) into signals.
    """
    features = amplitude_features(X)
    first, second = _split(y, np.random.RandomState(seed))
    scores = []
    for fit_on, score_on in ((first, second), (second, first)):
        probe = make_pipeline(StandardScaler(with_std=False), LogisticRegression(C=0.1, max_iter=500))
        probe.fit(features[fit_on], y[fit_on])
        scores.append(probe.score(features[score_on], y[score_on]))
    return float(np.mean(scores))


def _split(y: np.ndarray, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves, every class with 2 or more images in both (at most ``_HALF`` each)."""
    first, second = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        first.append(members[: (len(members) + 1) // 2])
        second.append(members[(len(members) + 1) // 2:])
    a, b = np.concatenate(first), np.concatenate(second)
    return np.sort(rng.permutation(a)[:_HALF]), np.sort(rng.permutation(b)[:_HALF])


def probe_follow(lad: Any, X: torch.Tensor, y: np.ndarray, f_opts: Any, cutoff: float,
                 seed: int) -> dict[str, float]:
    """:func:`style_follow` of a classifier of ``f``'s kind on images ``X`` (labels ``y``, encoded).

    A :class:`LatentMLP` with ``f``'s options ``f_opts`` learns the fitted
    VQ-VAE's latents of one half of ``X`` (every class in both halves); the
    test runs on the other half. ``X`` is on the fit's device.
    """
    rng = np.random.RandomState(seed)
    first, second = _split(y, rng)
    codebook = lad.net_.module_.codebook.detach().float()

    def latents(images: torch.Tensor) -> torch.Tensor:
        return quantise(lad._encode(images), codebook)[0]

    module = LatentMLP(int(np.prod(lad.latent_shape_)), f_opts.hidden, len(lad.classes_))
    probe = lad._build_net(
        DeviceNet, module, seed=seed, max_epochs=f_opts.max_epochs, schedule=None,
        stage="LADDebiaser, swap test: a classifier like f on half the images", use_amp=False,
        criterion=nn.CrossEntropyLoss, criterion__label_smoothing=f_opts.label_smoothing,
        optimizer=torch.optim.AdamW, optimizer__weight_decay=f_opts.weight_decay, max_loss_rise=10.0,
    )
    pick = torch.from_numpy(first).to(X.device)
    probe.fit(TensorPairDataset(latents(X[pick]), torch.from_numpy(y[first]).to(X.device)), None)
    probe.module_.eval()

    def predict(images: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return probe.module_(latents(images)).argmax(1).cpu().numpy()

    return style_follow(predict, X[torch.from_numpy(second).to(X.device)], y[second], cutoff, rng)


def fit_swap(lad: Any, X: torch.Tensor, y: np.ndarray, seed: int) -> dict[str, Any]:
    """The swap's decision and bank for a LADDebiaser whose substitution is fitted.

    ``X`` are the training images (on the fit's device), ``y`` the encoded
    labels. :func:`amplitude_probe` on the substituted images
    (``transform``'s groups). Returns the fitted attributes:
    ``swap_probe_accuracy_``, ``swap_active_`` (it reaches
    ``method.min_accuracy``) and, when active, ``swap_bank_`` (the donors:
    training images). Vectors and a class of one image leave the swap off
    (accuracy NaN; the latter with a warning).
    """
    method = lad.method_
    off = {"swap_probe_accuracy_": float("nan"), "swap_active_": False}
    if X.ndim != 4:  # vectors: no spectrum; the substitution alone
        return off
    if np.bincount(y).min() < 2:
        warnings.warn("method='swap' cannot test the images on held-out halves: a class has "
                      "one image, so the swap stays off (the substitution alone).",
                      UserWarning, stacklevel=4)
        return off
    sub = lad.debias_module(swap=False)
    with torch.no_grad():
        Xs = torch.cat([sub(xb).float() for xb, _ in lad._batches(X)])
    accuracy = amplitude_probe(Xs, y, seed)
    if accuracy < method.min_accuracy:
        return {"swap_probe_accuracy_": accuracy, "swap_active_": False}
    rng = np.random.RandomState(seed + 1)
    n_bank = max(16, min(_BANK, _BANK_BYTES // (4 * int(np.prod(X.shape[1:])))))
    bank = rng.permutation(len(X))[:n_bank]
    return {"swap_probe_accuracy_": accuracy, "swap_active_": True,
            "swap_bank_": X[torch.from_numpy(np.sort(bank)).to(X.device)].float().cpu().numpy()}
