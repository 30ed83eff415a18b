"""The QE-walk: quantisation-constrained, entropy-targeted walk in a VQ latent space.

For each sample, starting at its latent ``h`` ``(D, *S)``, repeat ``steps``
times: ``H = entropy(softmax(f(quantise(h))))``; ``g = dH/dh``, standardised
over the sample's whole latent (``(g - mean(g)) / std(g)``); ``h <- h + step *
g``; re-quantise. The walk needs no label. It moves the latent towards where
the simple classifier ``f`` is least sure, which for a classifier that
latched onto a spurious signal removes that signal.

Two ways to re-quantise (``accumulate``):

* ``accumulate=False`` (the literal method): ``h <- quantise(h + step * g)``.
  A step shorter than the distance to the Voronoi border of the current code
  snaps back to the same code, so with small steps nothing ever changes.
* ``accumulate=True`` (default): the continuous state ``h`` accumulates the
  steps, and every step re-quantises it for the prediction
  (``f(quantise(h))``, gradient passed straight through as in VQ-VAE
  training) and for the output. Consistent small steps add up and cross code
  borders; the codes the walk returns are always codebook vectors.

``step`` is ``alpha * step_scale``; pass the codebook spacing as
``step_scale`` (:func:`sklproxy.nn.vqvae.code_spacing` divided by
``sqrt(D)``) so that ``alpha`` is measured in code spacings: a standardised
gradient has unit RMS per element, so one step moves a latent vector by
about ``alpha`` times the typical distance between neighbouring codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from .vqvae import quantise

__all__ = ["WalkResult", "prediction_entropy", "qe_walk"]


class WalkResult(NamedTuple):
    """Output of :func:`qe_walk`.

    latents : (B, D, *S) quantised latents after the walk (codebook vectors).
    codes : (B, *S) their code indices.
    entropy_before, entropy_after : (B,) entropy of ``f`` (nats) at the
        quantised start and end points.
    """

    latents: Tensor
    codes: Tensor
    entropy_before: Tensor
    entropy_after: Tensor


def prediction_entropy(logits: Tensor) -> Tensor:
    """Entropy (nats) of ``softmax(logits)`` per row, computed in log space.

    ``-sum p log p`` with ``log p`` from ``log_softmax``: finite and with a
    gradient that stays non-zero (if tiny) for saturated logits.
    """
    logp = torch.log_softmax(logits.float(), dim=1)                     # (B, K)
    return -(logp.exp() * logp).sum(dim=1)                              # (B,)


def _standardise(g: Tensor) -> Tensor:
    """``(g - mean) / std`` over each sample's whole latent; 0 where ``std == 0``."""
    flat = g.flatten(1)                                                 # (B, D*prod(S))
    mean = flat.mean(dim=1, keepdim=True)
    std = flat.std(dim=1, keepdim=True) if flat.shape[1] > 1 else torch.zeros_like(mean)
    out = torch.where(std > 0, (flat - mean) / std.clamp_min(1e-30), torch.zeros_like(flat))
    return out.view_as(g)


def qe_walk(
    h: Tensor,
    classifier: Callable[[Tensor], Tensor],
    codebook: Tensor,
    *,
    steps: int,
    alpha: float,
    step_scale: float = 1.0,
    accumulate: bool = True,
    temperature: float = 1.0,
    stop_entropy: float | None = None,
) -> WalkResult:
    """Walk latents ``h`` ``(B, D, *S)`` towards maximal entropy of ``classifier``.

    Parameters
    ----------
    h : Tensor of shape (B, D, *S)
        Start points (continuous encoder outputs).
    classifier : callable
        ``f``: latents ``(B, D, *S)`` -> logits ``(B, K)``. Its parameters
        are not changed and get no gradient.
    codebook : Tensor of shape (n_codes, D)
    steps : int
        Number of steps (0 only quantises).
    alpha : float
        Step length in units of ``step_scale``.
    step_scale : float, default=1.0
        Length unit per latent element (e.g. the codebook spacing per
        dimension).
    accumulate : bool, default=True
        Keep the continuous walk state between steps (see the module
        docstring); False re-quantises the state itself after each step.
    temperature : float, default=1.0
        ``f``'s logits are divided by it before the softmax.
    stop_entropy : float or None, default=None
        A sample stops walking once the entropy at its quantised point
        reaches this many nats (``None``: never; the walk then takes all
        ``steps``). Keeps samples from walking further than needed to make
        ``f`` unsure, which would also erase what ``f`` does not use.

    Returns
    -------
    WalkResult
        ``latents``, ``codes``, ``entropy_before``, ``entropy_after``.

    Examples
    --------
    >>> import torch
    >>> from sklproxy.nn.walk import qe_walk
    >>> codebook = torch.randn(8, 4)
    >>> f = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 3, 5))
    >>> res = qe_walk(torch.randn(2, 4, 3), f, codebook, steps=3, alpha=0.5)
    >>> tuple(res.latents.shape), tuple(res.codes.shape), tuple(res.entropy_after.shape)
    ((2, 4, 3), (2, 3), (2,))
    """
    codebook = codebook.detach().float()
    step = float(alpha) * float(step_scale)

    def entropy_at(state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        q, idx = quantise(state, codebook)
        q_st = state + (q - state).detach()                             # straight-through
        return prediction_entropy(classifier(q_st) / temperature), q, idx

    with torch.enable_grad():
        state = h.detach().float().clone()
        if not accumulate:
            state = quantise(state, codebook)[0]
        with torch.no_grad():
            ent_before, q, idx = entropy_at(state)
        for _ in range(int(steps)):
            state.requires_grad_(True)
            ent, _, _ = entropy_at(state)
            (grad,) = torch.autograd.grad(ent.sum(), state)             # (B, D, *S) dH/dh
            move = step * _standardise(grad)
            if stop_entropy is not None:
                active = (ent.detach() < stop_entropy).to(move.dtype)    # (B,)
                move = move * active.view(-1, *([1] * (move.ndim - 1)))
            state = (state + move).detach()
            if not accumulate:
                state = quantise(state, codebook)[0]
        with torch.no_grad():
            ent_after, q, idx = entropy_at(state)
    return WalkResult(q, idx, ent_before.detach(), ent_after.detach())
