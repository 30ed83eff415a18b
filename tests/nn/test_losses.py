import math

import numpy as np
import pytest
import torch

from sklproxy.nn.losses import nt_xent


def reference_nt_xent(za, zb, tau, groups=None):
    """Loop over anchors, from the formula; mean per group, then over groups with >= 2 items."""
    n = len(za)
    groups = np.zeros(n, dtype=int) if groups is None else np.asarray(groups)
    z = np.concatenate([za, zb]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    g = np.concatenate([groups, groups])
    per_group = {}
    for i in range(2 * n):
        pos = i + n if i < n else i - n
        denom = sum(math.exp(z[i] @ z[j] / tau) for j in range(2 * n) if j != i and g[j] == g[i])
        loss = -math.log(math.exp(z[i] @ z[pos] / tau) / denom)
        per_group.setdefault(g[i], []).append(loss)
    means = [np.mean(v) for v in per_group.values() if len(v) > 2]
    return float(np.mean(means)) if means else 0.0


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("groups", [None, [0, 0, 1, 1, 1, 2], [3, 3, 3, 3, 3, 3], [0, 1, 2, 3, 4, 4]])
def test_matches_reference(tau, groups):
    rng = np.random.default_rng(1)
    za, zb = rng.random((6, 8)), rng.random((6, 8))
    got = nt_xent(torch.tensor(za), torch.tensor(zb), tau,
                  None if groups is None else torch.tensor(groups))
    assert isinstance(got, torch.Tensor) and got.ndim == 0
    assert float(got) == pytest.approx(reference_nt_xent(za, zb, tau, groups), rel=1e-5)


def test_all_singleton_groups_give_zero_with_graph():
    za = torch.randn(4, 3, requires_grad=True)
    loss = nt_xent(za, za + 0.1, 1.0, torch.arange(4))
    assert loss.item() == 0.0
    loss.backward()  # still differentiable
    assert za.grad is not None


@pytest.mark.parametrize("n", [1, 2, 3, 17])
def test_any_batch_size(n):
    za, zb = torch.rand(n, 5), torch.rand(n, 5)
    assert torch.isfinite(nt_xent(za, zb, 0.2))


def test_symmetric_in_views():
    za, zb = torch.rand(9, 4), torch.rand(9, 4)
    g = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    torch.testing.assert_close(nt_xent(za, zb, 0.3, g), nt_xent(zb, za, 0.3, g))


def test_decreases_when_views_agree():
    za = torch.rand(8, 16)
    far = nt_xent(za, torch.rand(8, 16), 0.2)
    near = nt_xent(za, za + 0.01 * torch.rand(8, 16), 0.2)
    assert near < far


def test_cpu_block_path_equals_the_masked_path():
    """On the CPU grouped losses take one similarity block per group; CUDA takes the
    masked (2N, 2N) path. Both give the same value and gradients."""
    from sklproxy.nn.losses import _nt_xent_by_group, _nt_xent_masked

    gen = torch.Generator().manual_seed(0)
    groups = torch.tensor([4, 0, 4, 2, 0, 4, 7, 2, 0, 0, 4])  # 7 alone: no negatives
    z = torch.rand(22, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    normalize = torch.nn.functional.normalize
    a = _nt_xent_by_group(normalize(z, dim=1), groups, 0.3)
    b = _nt_xent_masked(normalize(z, dim=1), groups, 0.3)
    (ga,), (gb,) = torch.autograd.grad(a, z), torch.autograd.grad(b, z)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(ga, gb)
