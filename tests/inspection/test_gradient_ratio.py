"""Tests for sklproxy.inspection.gradient_ratio on analytic cases."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sklproxy.datasets import make_one_pixel
from sklproxy.inspection import gradient_ratio


def linear(W):
    """Flatten + bias-free linear layer with weights W of shape (K, D)."""
    k, d = W.shape
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(d, k, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.as_tensor(W))
    return model


def masks(shape=(4, 4)):
    spurious = np.zeros(shape, dtype=bool)
    spurious[0, :3] = True
    return ~spurious, spurious


def test_sum_loss_is_weight_norm_ratio():
    # L = sum of logits  =>  dL/dx = sum_k W_k, the same for every image
    rng = np.random.RandomState(0)
    W = rng.randn(3, 16).astype(np.float32)
    X = rng.rand(5, 4, 4).astype(np.float32)
    causal, spurious = masks()
    w = W.sum(0)
    expected = np.linalg.norm(w[causal.ravel()]) / np.linalg.norm(w[spurious.ravel()])
    gr = gradient_ratio(
        linear(W), X, np.zeros(5, int), causal, spurious, loss_fn=lambda out, y: out.sum()
    )
    assert gr == pytest.approx(expected, rel=1e-5)


def test_cross_entropy_matches_numpy_reference():
    # dl_i/dx_i = W^T (softmax(W x_i) - onehot(y_i)); GR = mean_i of the norm ratio
    rng = np.random.RandomState(1)
    W = rng.randn(3, 16)
    X = rng.rand(8, 4, 4)
    y = rng.randint(0, 3, size=8)
    causal, spurious = masks()
    ratios = []
    for i in range(8):
        z = W @ X[i].ravel()
        p = np.exp(z - z.max())
        p /= p.sum()
        g = W.T @ (p - np.eye(3)[y[i]])
        ratios.append(np.linalg.norm(g[causal.ravel()]) / np.linalg.norm(g[spurious.ravel()]))
    model = linear(W.astype(np.float32))
    gr = gradient_ratio(model, X, y, causal, spurious)
    assert gr == pytest.approx(np.mean(ratios), rel=1e-4)
    # mean reduction gives the same ratio; tensors and per-image masks are accepted
    per_image = np.broadcast_to(spurious, X.shape)
    gr_mean = gradient_ratio(
        model, torch.tensor(X), torch.tensor(y), ~per_image, per_image, loss_fn=F.cross_entropy
    )
    assert gr_mean == pytest.approx(gr, rel=1e-4)


def test_model_state_untouched():
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 3)
    )
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X = np.random.RandomState(0).rand(6, 4, 4)
    causal, spurious = masks()
    a = gradient_ratio(model, X, np.arange(6) % 3, causal, spurious)
    b = gradient_ratio(model, X, np.arange(6) % 3, causal, spurious)
    assert a == b  # eval mode: dropout off, so deterministic
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])  # BatchNorm running stats not updated


def test_one_pixel_shortcut_drives_gr_down():
    """A linear model trained on the one-pixel problem ends up leaning on the pixel."""
    torch.manual_seed(0)
    rng = np.random.RandomState(0)
    X = rng.rand(200, 6, 6).astype(np.float32) * 0.5
    y = rng.randint(0, 4, size=200)
    Xp, _ = make_one_pixel(X, y, value=1.0)
    spurious = np.zeros((6, 6), dtype=bool)
    spurious[0, :4] = True
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 4))
    gr0 = gradient_ratio(model, Xp, y, ~spurious, spurious)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    xt, yt = torch.tensor(Xp), torch.tensor(y)
    for _ in range(200):
        opt.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        opt.step()
    gr1 = gradient_ratio(model, Xp, y, ~spurious, spurious)
    assert gr0 > 1 > gr1


def test_zero_spurious_gradient_gives_inf():
    W = np.zeros((2, 16), dtype=np.float32)
    W[:, 5] = [1.0, -1.0]  # depends only on a causal pixel
    causal, spurious = masks()
    gr = gradient_ratio(linear(W), np.ones((2, 4, 4)), [0, 1], causal, spurious)
    assert gr == float("inf")


def test_bad_inputs():
    model = linear(np.ones((2, 16), dtype=np.float32))
    causal, spurious = masks()
    X = np.ones((3, 4, 4))
    with pytest.raises(ValueError, match="one target per image"):
        gradient_ratio(model, X, [0, 1], causal, spurious)
    with pytest.raises(ValueError, match="spurious_mask of shape \\(5,\\)"):
        gradient_ratio(model, X, [0, 1, 0], causal, np.zeros(5, bool))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    rng = np.random.RandomState(1)
    W = rng.randn(3, 16).astype(np.float32)
    X, y = rng.rand(8, 4, 4), rng.randint(0, 3, size=8)
    causal, spurious = masks()
    cpu = gradient_ratio(linear(W), X, y, causal, spurious)
    gpu = gradient_ratio(linear(W).cuda(), X, y, causal, spurious)
    assert gpu == pytest.approx(cpu, rel=1e-4)
