"""The gates LADDebiaser records after fitting (``diagnostics_``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..metrics import colour_decodability
from ..nn.vqvae import quantise

__all__ = ["lad_diagnostics"]

# The diagnostics of fit use at most this many training samples.
_DIAGNOSTIC_SAMPLES = 1024


def _entropy(logits: torch.Tensor) -> float:
    """Mean entropy (nats) of the softmax of ``logits`` ``(n, K)``."""
    log_p = logits.log_softmax(1)
    return float(-(log_p.exp() * log_p).sum(1).mean())


def lad_diagnostics(lad: Any, X: np.ndarray, h: torch.Tensor, y: np.ndarray) -> tuple[dict, float]:
    """``(diagnostics_, latent_accuracy_)`` of a fitted LADDebiaser, on up to 1024 training images.

    ``X`` are the training images, ``h`` their continuous latents, ``y`` the
    encoded labels. Needs no test labels.
    """
    pick = np.unique(np.linspace(0, len(h) - 1, min(len(h), _DIAGNOSTIC_SAMPLES)).round().astype(int))
    h = h[torch.from_numpy(pick).to(h.device)]
    vq, f = lad.net_.module_, lad.latent_net_.module_
    codebook = vq.codebook.detach().float()
    with torch.no_grad():
        q0, idx0 = quantise(h, codebook)
        logits0 = f(q0)
        recon = lad._decode(q0)
        target = vq.standardize(torch.from_numpy(X[pick]).to(recon.device).float())
        mse = float(((vq.standardize(recon) - target) ** 2).mean())
    q1, idx1 = lad._debias_latents(h)
    with torch.no_grad():
        logits1 = f(q1)
        after = lad._decode(q1).cpu().numpy()
    accuracy = float((logits0.argmax(1).cpu().numpy() == y[pick]).mean())
    diag = {
        "reconstruction_mse": mse,
        "entropy_before": _entropy(logits0),
        "entropy_after": _entropy(logits1),
        "entropy_max": math.log(len(lad.classes_)),
        "latent_accuracy_after": float((logits1.argmax(1).cpu().numpy() == y[pick]).mean()),
        "code_change": float((idx1 != idx0).float().mean()),
    }
    counts = np.bincount(y[pick], minlength=len(lad.classes_))
    if len(lad.input_shape_) == 3 and lad.input_shape_[1] >= 6 and counts.min() >= 2:
        diag["colour_before"] = colour_decodability(X[pick], y[pick])
        diag["colour_after"] = colour_decodability(after, y[pick])
        diag["chance"] = float(counts.max() / counts.sum())
    return diag, accuracy
