"""IIC mutual information and the DHOG objective against slow references."""

import numpy as np
import pytest
import torch

from sklproxy.nn.mutual_info import (
    conditional_pull_mutual_information,
    cross_head_mutual_information,
    dhog_objective,
    joint_distribution,
    mutual_information,
    pull_mutual_information,
    push_mutual_information,
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
    """pull: mean over heads and pairs of repeats; push: per-head mean over earlier heads,
    averaged over repeats, summed over heads and divided by the number of heads."""
    R, H, C = 3, 3, 4
    probs = [[_probs(20, C, 10 * r + h) for h in range(H)] for r in range(R)]
    obj, pull, push = dhog_objective(probs, alpha=0.5)
    pairs = [(r, s) for r in range(R) for s in range(r + 1, R)]
    ref_pull = np.mean([mi_reference(probs[r][h], probs[s][h], True) for h in range(H) for r, s in pairs])
    ref_push = np.mean([sum(sum(mi_reference(probs[r][i], probs[r][j], False) for j in range(i)) / i
                            for i in range(1, H)) for r in range(R)]) / H
    assert float(pull) == pytest.approx(ref_pull, rel=1e-4)
    assert float(push) == pytest.approx(ref_push, rel=1e-4)
    assert float(obj) == pytest.approx(ref_pull - 0.5 * ref_push, rel=1e-4)
    # the same from one (R, B, H, C) tensor
    stacked = torch.stack([torch.stack(p, dim=1) for p in probs])
    obj_t, _, _ = dhog_objective(stacked, alpha=0.5)
    assert float(obj_t) == pytest.approx(float(obj), rel=1e-6)
    # alpha = 0: pure IIC pull; overclustering heads add their own pull
    obj0, _, push0 = dhog_objective(probs, alpha=0.0)
    assert float(obj0) == pytest.approx(ref_pull, rel=1e-4) and float(push0) == 0
    over = [[_probs(20, 7, 100 + 10 * r + h) for h in range(H)] for r in range(R)]
    obj_o, pull_o, _ = dhog_objective(probs, alpha=0.0, over_probs=over)
    ref_over = np.mean([mi_reference(over[r][h], over[s][h], True) for h in range(H) for r, s in pairs])
    assert float(pull_o) == pytest.approx(ref_pull + ref_over, rel=1e-4)
    with pytest.raises(ValueError, match="at least 2"):
        dhog_objective(probs[:1], alpha=0.1)


def test_batched_terms_match_the_loop_in_value_and_gradient():
    """The einsum versions equal a loop over mutual_information, gradients included."""
    R, B, H, C = 4, 24, 3, 5
    logits = torch.randn(R, B, H, C, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    grads = []
    for batched in (True, False):
        lg = logits.clone().float().requires_grad_(True)
        p = torch.softmax(lg, dim=-1)
        if batched:
            pull, push = pull_mutual_information(p), push_mutual_information(p)
        else:
            pairs = [(r, s) for r in range(R) for s in range(r + 1, R)]
            pull = torch.stack([sum(mutual_information(p[r, :, h], p[s, :, h], symmetric=True)
                                    for r, s in pairs) / len(pairs) for h in range(H)])
            push = torch.stack([torch.zeros(())] + [
                sum(sum(cross_head_mutual_information(p[r, :, i], p[r, :, j]) for j in range(i)) / i
                    for r in range(R)) / R for i in range(1, H)])
        (pull.sum() - 0.3 * push.sum()).backward()
        grads.append((pull.detach(), push.detach(), lg.grad))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_push_weight_per_head_does_not_grow_with_the_number_of_heads():
    """A head's push relative to its own pull is alpha, for 2 heads as for 6.

    Head 1 sees the same earlier head (head 0) and the same views in both
    networks; the ratio of the push gradient to the pull gradient on head 1's
    logits must not depend on how many heads follow it (the thesis's summed
    push would make it grow with the number of heads).
    """
    R, B, C = 2, 32, 4
    g = torch.Generator().manual_seed(0)
    base = torch.randn(R, B, 6, C, generator=g)
    ratios = []
    for n_heads in (2, 6):
        lg = base[:, :, :n_heads].clone().requires_grad_(True)
        p = torch.softmax(lg, dim=-1)
        _, pull, push = dhog_objective(p, alpha=1.0)
        g_pull, = torch.autograd.grad(pull, lg, retain_graph=True)
        g_push, = torch.autograd.grad(push, lg)
        ratios.append(float(g_push[:, :, 1].norm() / g_pull[:, :, 1].norm()))
    assert ratios[0] == pytest.approx(ratios[1], rel=1e-5)




def cmi_reference(pa, pb, pj, qa, qb, qj):
    """I(A; B | J) from the formula: the joint of (own view, other view, earlier head on
    the own view), averaged over both orders of the two views, then normalised."""
    C, K = pa.shape[1], pj.shape[1]
    P = np.zeros((C, C, K))
    for n in range(len(pa)):
        P += np.einsum("a,b,k->abk", pa[n], pb[n], pj[n]) + np.einsum("a,b,k->abk", qa[n], qb[n], qj[n])
    P /= P.sum()
    total = 0.0
    for a in range(C):
        for b in range(C):
            for k in range(K):
                if P[a, b, k] > 0:
                    total += P[a, b, k] * np.log(P[a, b, k] * P[:, :, k].sum()
                                                 / (P[a, :, k].sum() * P[:, b, k].sum()))
    return total


def test_conditional_pull_matches_the_formula_and_its_gradient_stops():
    R, B, H, C = 3, 24, 3, 4
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(R, B, H, C, generator=g, dtype=torch.float64).mul(2).requires_grad_(True)
    probs = torch.softmax(logits, dim=-1)
    out = conditional_pull_mutual_information(probs)
    p = probs.detach().numpy()
    pairs = [(r, s) for r in range(R) for s in range(r + 1, R)]
    assert float(out[0].detach()) == pytest.approx(float(pull_mutual_information(probs)[0].detach()), rel=1e-6)
    for i in range(1, H):
        ref = np.mean([cmi_reference(p[r, :, i], p[s, :, i], p[r, :, j], p[s, :, i], p[r, :, i],
                                     p[s, :, j]) for j in range(i) for r, s in pairs])
        assert float(out[i].detach()) == pytest.approx(ref, rel=1e-5)          # float32 inside
    out[1:].sum().backward()
    assert logits.grad[:, :, -1].abs().sum() > 0
    # gradient stopping: head 2's term moves head 2 only, never the heads it is conditioned on
    logits.grad = None
    out = conditional_pull_mutual_information(torch.softmax(logits, dim=-1))
    out[2].backward()
    assert logits.grad[:, :, :2].abs().sum() == 0


def test_conditional_push_never_pays_for_degenerate_heads():
    """Hard assignments: a copy of an earlier head has no conditional pull, a collapsed head
    none at all, an independent partition keeps its whole pull; so for any alpha < 1 the
    conditional objective ranks structure of its own above a copy above a collapse. The
    thesis's push compares heads on the same view but the pull across views, so a head that
    half-repeats an earlier one under noisy views scores *below* a collapsed head already at
    alpha = 0.5 (what the digits colour trap shows: pushed heads that collapse)."""
    rng = np.random.default_rng(0)
    B, C = 400, 4
    first = rng.integers(0, C, B)
    other = rng.integers(0, C, B)                        # independent of the first head
    noisy = np.where(rng.random(B) < 0.5, first, rng.integers(0, C, B))
    one_hot = lambda z: torch.nn.functional.one_hot(torch.as_tensor(z), C).double()  # noqa: E731

    def probs(second, second_b=None):
        view_a = torch.stack([one_hot(first), one_hot(second)], dim=1)               # (B, 2, C)
        view_b = torch.stack([one_hot(first), one_hot(second if second_b is None else second_b)], 1)
        return torch.stack([view_a, view_b])

    cases = {"own": probs(other), "copy": probs(first), "collapsed": probs(np.zeros(B, int)),
             "noisy copy": probs(first, noisy)}
    cpull = {k: float(conditional_pull_mutual_information(v)[1]) for k, v in cases.items()}
    pull = {k: float(pull_mutual_information(v)[1]) for k, v in cases.items()}
    assert cpull["copy"] == pytest.approx(0, abs=1e-6)
    assert cpull["collapsed"] == pytest.approx(0, abs=1e-6) and pull["collapsed"] == pytest.approx(0, abs=1e-6)
    assert cpull["own"] == pytest.approx(pull["own"], rel=0.05)
    for alpha in (0.2, 0.5, 0.9):
        obj = {k: float(dhog_objective(v, alpha, push="conditional")[0]) for k, v in cases.items()}
        assert obj["own"] > obj["copy"] > obj["collapsed"]
        assert obj["noisy copy"] >= obj["collapsed"] - 1e-6
    mi = {k: float(dhog_objective(v, 0.5)[0]) for k, v in cases.items()}
    assert mi["noisy copy"] < mi["collapsed"]
    with pytest.raises(ValueError, match="push must be one of"):
        dhog_objective(cases["own"], 0.5, push="nope")


def test_conditional_objective_is_the_pull_blend():
    """objective = (1/H) [pull_0 + sum_i ((1 - alpha) pull_i + alpha cpull_i)]."""
    probs = torch.softmax(torch.randn(4, 32, 3, 5, generator=torch.Generator().manual_seed(1)), -1)
    obj, pull, push = dhog_objective(probs, 0.3, push="conditional")
    pu, cp = pull_mutual_information(probs), conditional_pull_mutual_information(probs)
    expected = (pu[0] + ((1 - 0.3) * pu[1:] + 0.3 * cp[1:]).sum()) / 3
    assert float(obj) == pytest.approx(float(expected), rel=1e-5)
    assert float(pull) == pytest.approx(float(pu.mean()), rel=1e-6)
    assert float(push) == pytest.approx(float((pu[1:] - cp[1:]).sum() / 3), rel=1e-5)
