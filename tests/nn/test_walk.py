import torch
from torch import nn

from sklproxy.nn.walk import prediction_entropy, qe_walk


def _setup(seed=0, scale=4.0):
    g = torch.Generator().manual_seed(seed)
    codebook = torch.randn(32, 4, generator=g)
    f = nn.Sequential(nn.Flatten(), nn.Linear(4 * 6, 16), nn.ReLU(), nn.Linear(16, 5))
    with torch.no_grad():  # a confident classifier: large logits
        for p in f.parameters():
            p.mul_(scale)
    h = torch.randn(64, 4, 6, generator=g)
    return h, f, codebook


def test_prediction_entropy_matches_formula_and_is_finite():
    logits = torch.tensor([[0.0, 0.0], [1000.0, -1000.0]])
    ent = prediction_entropy(logits)
    torch.testing.assert_close(ent, torch.tensor([0.6931472, 0.0]))


def test_walk_raises_entropy():
    h, f, codebook = _setup()
    res = qe_walk(h, f, codebook, steps=10, alpha=0.3)
    assert res.entropy_after.mean() > res.entropy_before.mean() + 0.05
    # walked latents are codebook vectors, consistent with the codes
    torch.testing.assert_close(res.latents, codebook[res.codes].movedim(-1, 1))


def test_snap_back_without_accumulation():
    """Steps shorter than the code spacing: the literal walk never leaves its codes."""
    h, f, codebook = _setup()
    start = qe_walk(h, f, codebook, steps=0, alpha=0.0).codes
    bare = qe_walk(h, f, codebook, steps=20, alpha=0.01, accumulate=False)
    assert torch.equal(bare.codes, start)
    walked = qe_walk(h, f, codebook, steps=20, alpha=0.1, accumulate=True)
    assert (walked.codes != start).float().mean() > 0.05
    assert walked.entropy_after.mean() > bare.entropy_after.mean()


def test_stop_entropy_freezes_sure_enough_samples():
    h, f, codebook = _setup()
    res = qe_walk(h, f, codebook, steps=5, alpha=0.5, stop_entropy=0.0)
    assert torch.equal(res.codes, qe_walk(h, f, codebook, steps=0, alpha=0.5).codes)


def test_walk_is_deterministic_and_leaves_f_alone():
    h, f, codebook = _setup()
    before = [p.clone() for p in f.parameters()]
    a = qe_walk(h, f, codebook, steps=4, alpha=0.2)
    b = qe_walk(h, f, codebook, steps=4, alpha=0.2)
    assert torch.equal(a.latents, b.latents)
    assert all(torch.equal(p, q) for p, q in zip(before, f.parameters()))
    assert all(p.grad is None for p in f.parameters())
