"""IIC mutual information, the DHOG objective and the head hierarchy."""

import numpy as np
import pytest
import torch

from sklproxy.nn.backbones import build_backbone
from sklproxy.nn.heads import DHOGHeads
from sklproxy.nn.mutual_info import (
    cross_head_mutual_information,
    dhog_objective,
    joint_distribution,
    mutual_information,
)


def mi_reference(pa, pb, symmetric, eps=1e-8):
    """Slow, obvious NumPy loop over the formula."""
    pa, pb = np.asarray(pa, np.float64), np.asarray(pb, np.float64)
    ca, cb = pa.shape[1], pb.shape[1]
    P = np.zeros((ca, cb))
    for n in range(len(pa)):
        P += np.outer(pa[n], pb[n])
    P /= len(pa)
    if symmetric:
        P = (P + P.T) / 2
    P /= P.sum()
    pi, pj = P.sum(1), P.sum(0)
    mi = 0.0
    for i in range(ca):
        for j in range(cb):
            if P[i, j] > 0:
                mi += P[i, j] * (np.log(max(P[i, j], eps)) - np.log(max(pi[i], eps))
                                 - np.log(max(pj[j], eps)))
    return mi


def _probs(n, c, seed, sharp=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(sharp * torch.randn(n, c, generator=g), dim=1)


@pytest.mark.parametrize("ca,cb,symmetric", [(5, 5, True), (5, 5, False), (3, 7, False), (10, 2, False)])
@pytest.mark.parametrize("sharp", [1.0, 30.0])
def test_matches_numpy_reference(ca, cb, symmetric, sharp):
    pa, pb = _probs(64, ca, 0, sharp), _probs(64, cb, 1, sharp)
    got = mutual_information(pa, pb, symmetric=symmetric)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(float(got), mi_reference(pa, pb, symmetric), rtol=1e-4, atol=1e-6)


def test_joint_is_a_distribution():
    P = joint_distribution(_probs(32, 4, 0), _probs(32, 6, 1))
    assert P.shape == (4, 6)
    assert torch.isclose(P.sum(), torch.tensor(1.0))
    with pytest.raises(ValueError, match="symmetric=True"):
        joint_distribution(_probs(8, 4, 0), _probs(8, 6, 1), symmetric=True)


def test_perfect_agreement_and_independence():
    one_hot = torch.eye(4).repeat(8, 1)                          # balanced, (32, 4)
    assert float(mutual_information(one_hot, one_hot, symmetric=True)) == pytest.approx(np.log(4), rel=1e-5)
    uniform = torch.full((32, 4), 0.25)
    assert float(mutual_information(one_hot, uniform)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_near_zero_joints_never_nan(dtype):
    # collapsed heads, exact one-hots, empty clusters and bf16 input: finite values and grads
    cases = [torch.eye(3)[torch.zeros(16, dtype=torch.long)],   # all in cluster 0
             torch.eye(5)[torch.arange(16) % 2],                  # 3 of 5 clusters empty
             torch.full((16, 4), 1e-30).softmax(1)]
    for p in cases:
        logits = torch.log(p.clamp_min(1e-38)).to(dtype).requires_grad_(True)
        q = torch.softmax(logits.float(), dim=1)
        for other in (q, q.flip(0)):
            mi = mutual_information(q, other, symmetric=True)
            mi.backward(retain_graph=True)
            assert torch.isfinite(mi)
            assert torch.isfinite(logits.grad).all()
            logits.grad = None
        ref = mi_reference(q.detach(), q.detach(), True)
        assert float(mutual_information(q, q, symmetric=True).detach()) == pytest.approx(ref, abs=1e-5)


def test_expanded_input_out_of_place():
    # expanded (stride-0) tensors: an in-place clamp would fail here
    p = torch.tensor([[0.0, 1.0]]).expand(16, 2)
    assert torch.isfinite(mutual_information(p, p, symmetric=True))


def test_gradient_stopping_earlier_head_gets_nothing():
    early = _probs(32, 5, 0).requires_grad_(True)
    late = _probs(32, 5, 1).requires_grad_(True)
    cross_head_mutual_information(late, early).backward()
    assert early.grad is None
    assert late.grad is not None and late.grad.abs().sum() > 0


def test_dhog_push_reaches_only_later_heads():
    logits = [torch.randn(16, 3, 4, generator=torch.Generator().manual_seed(r)).requires_grad_(True)
              for r in range(2)]
    probs = [[torch.softmax(lg[:, i], 1) for i in range(3)] for lg in logits]
    _, _, push = dhog_objective(probs, alpha=1.0)
    push.backward()
    for lg in logits:
        assert lg.grad[:, 0].abs().sum() == 0          # head 0 is never pushed
        assert lg.grad[:, 1:].abs().sum() > 0


def test_dhog_objective_scaling_matches_formula():
    R, H, C = 3, 3, 4
    probs = [[_probs(20, C, 10 * r + h) for h in range(H)] for r in range(R)]
    obj, pull, push = dhog_objective(probs, alpha=0.5)
    pairs = [(r, s) for r in range(R) for s in range(r + 1, R)]
    ref_pull = np.mean([mi_reference(probs[r][h], probs[s][h], True) for h in range(H) for r, s in pairs])
    ref_push = np.mean([sum(sum(mi_reference(probs[r][i], probs[r][j], False) for j in range(i)) / i
                            for i in range(1, H)) for r in range(R)])
    assert float(pull) == pytest.approx(ref_pull, rel=1e-4)
    assert float(push) == pytest.approx(ref_push, rel=1e-4)
    assert float(obj) == pytest.approx(ref_pull - 0.5 * ref_push, rel=1e-4)
    # alpha = 0: pure IIC pull; overclustering heads add their own pull
    obj0, _, push0 = dhog_objective(probs, alpha=0.0)
    assert float(obj0) == pytest.approx(ref_pull, rel=1e-4) and float(push0) == 0
    over = [[_probs(20, 7, 100 + 10 * r + h) for h in range(H)] for r in range(R)]
    obj_o, pull_o, _ = dhog_objective(probs, alpha=0.0, over_probs=over)
    assert float(pull_o) > float(pull)
    with pytest.raises(ValueError, match="at least 2"):
        dhog_objective(probs[:1], alpha=0.1)


def test_heads_branch_off_resnet_stages():
    backbone = build_backbone("resnet18", (1, 16, 16), width=4)
    heads = DHOGHeads(backbone, n_clusters=6, n_heads=8, n_overcluster=12)
    assert heads.early_stages == [0, 1, 2] and len(heads.late) == 5
    # copies of the last stage start from different weights
    w = [next(b.parameters()) for b in heads.late]
    assert not torch.equal(w[0], w[1])
    logits, over = heads(torch.randn(3, 1, 16, 16))
    assert logits.shape == (3, 8, 6) and over.shape == (3, 8, 12)
    # few heads: the early heads come from the deepest early stages
    few = DHOGHeads(build_backbone("resnet18", (1, 16, 16), width=4), 3, 2)
    assert few.early_stages == [2] and len(few.late) == 1


def test_heads_on_vectors_share_final_features():
    heads = DHOGHeads(build_backbone("mlp", (10,), width=8), n_clusters=3, n_heads=4)
    assert not heads.staged
    logits, over = heads(torch.randn(5, 10))
    assert logits.shape == (5, 4, 3) and over.shape == (5, 4, 0)
