import itertools
import math

import numpy as np
import pytest
import torch

from sklproxy.nn.tree import (
    DecisionTreeLayer,
    greedy_path_bits,
    leaf_log_probs,
    node_log_reach,
    split_balance_loss,
    tree_log_probs,
)


def _sigmoid(u):
    return 1.0 / (1.0 + math.exp(-u))


def reference_leaf_probs(u, depth):
    """Product over the root-to-leaf path, leaf k = binary digits of k, root first."""
    probs = []
    for k in range(2**depth):
        node, p = 0, 1.0
        for level in range(depth):
            right = (k >> (depth - 1 - level)) & 1
            s = _sigmoid(u[node])
            p *= s if right else 1 - s
            node = 2 * node + 1 + right
        probs.append(p)
    return np.array(probs)


def reference_greedy(u, depth):
    node, bits = 0, []
    for _ in range(depth):
        right = int(u[node] > 0)
        bits.append(right)
        node = 2 * node + 1 + right
    return bits


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_leaf_probs_match_reference(depth):
    u = torch.randn(4, 2**depth - 1, dtype=torch.float64) * 2
    got = leaf_log_probs(u).exp().double().numpy()
    for row, ref_u in zip(got, u.numpy()):
        np.testing.assert_allclose(row, reference_leaf_probs(ref_u, depth), rtol=1e-5, atol=1e-7)


def test_leaf_probs_deep_tree_does_not_underflow():
    # depth 14 with confident nodes: leaf probs underflow float32 but the logs stay exact
    u = torch.full((2, 2**14 - 1), 30.0)
    lp = leaf_log_probs(u)
    assert torch.isfinite(lp).all()
    torch.testing.assert_close(torch.logsumexp(lp, dim=1), torch.zeros(2), atol=1e-5, rtol=0)
    assert lp.argmax(dim=1).tolist() == [2**14 - 1] * 2  # always right -> last leaf


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_greedy_path_matches_reference_and_argmax_leaf(depth):
    u = torch.randn(50, 2**depth - 1) * 3
    bits = greedy_path_bits(u)
    assert bits.dtype == torch.uint8 and bits.shape == (50, depth)
    for row, ref_u in zip(bits.tolist(), u.numpy()):
        assert row == reference_greedy(ref_u, depth)


def test_greedy_path_is_the_leaf_of_a_confident_tree():
    depth = 4
    for signs in itertools.islice(itertools.product([-1, 1], repeat=2**depth - 1), 0, 200, 7):
        u = torch.tensor([signs], dtype=torch.float32) * 20
        leaf = int(leaf_log_probs(u).argmax())
        bits = greedy_path_bits(u)[0].tolist()
        assert leaf == int("".join(map(str, bits)), 2)


def test_rejects_incomplete_tree_and_zero_depth():
    with pytest.raises(ValueError, match="complete tree"):
        leaf_log_probs(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="depth"):
        DecisionTreeLayer(8, 0)


def test_gradients_flow_to_every_node():
    layer = DecisionTreeLayer(5, 3)
    z = leaf_log_probs(layer(torch.randn(7, 5))).exp()
    (z * torch.arange(8.0)).sum().backward()
    assert (layer.nodes.weight.grad.abs().sum(dim=1) > 0).all()


def reference_reach(u, depth):
    """Probability of reaching every node: product of the decisions above it."""
    reach = np.zeros(2**depth - 1)
    reach[0] = 1.0
    for node in range(2**(depth - 1) - 1):  # internal nodes with children
        s = _sigmoid(u[node])
        reach[2 * node + 1] = reach[node] * (1 - s)
        reach[2 * node + 2] = reach[node] * s
    return reach


def reference_balance(u, groups, depth):
    """split_balance_loss written item by item, node by node."""
    total = []
    for g in sorted(set(groups)):
        rows = [i for i, gi in enumerate(groups) if gi == g]
        per_level = np.zeros(depth)
        for node in range(2**depth - 1):
            level = int(math.log2(node + 1))
            m = sum(reference_reach(u[i], depth)[node] for i in rows)
            right = sum(reference_reach(u[i], depth)[node] * _sigmoid(u[i][node]) for i in rows)
            a = min(max(right / m, 1e-6), 1 - 1e-6)
            per_level[level] += m / len(rows) * (-0.5 * math.log(a) - 0.5 * math.log(1 - a) - math.log(2))
        total.append(per_level.mean())
    return float(np.mean(total))


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_node_reach_matches_reference(depth):
    u = torch.randn(3, 2**depth - 1, dtype=torch.float64) * 2
    got = node_log_reach(u).exp().double().numpy()
    for row, ui in zip(got, u.numpy()):
        np.testing.assert_allclose(row, reference_reach(ui, depth), rtol=1e-5, atol=1e-7)
    # each level's reach sums to one
    for level in range(depth):
        np.testing.assert_allclose(got[:, 2**level - 1 : 2 ** (level + 1) - 1].sum(1), 1, rtol=1e-5)


@pytest.mark.parametrize("depth, groups", [(1, None), (3, [0, 1, 0, 2, 1, 0]), (4, [5, 5, 7, 7, 7, 5])])
def test_split_balance_loss_matches_reference(depth, groups):
    u = torch.randn(6, 2**depth - 1, generator=torch.Generator().manual_seed(depth)) * 1.5
    got = split_balance_loss(u, None if groups is None else torch.tensor(groups))
    want = reference_balance(u.double().numpy(), groups or [0] * 6, depth)
    assert float(got) == pytest.approx(want, rel=1e-4, abs=1e-6)


def test_one_descent_gives_reach_leaves_and_the_same_loss():
    u = torch.randn(12, 2**4 - 1)
    groups = torch.tensor([0, 1, 2] * 4)
    reach, leaves = tree_log_probs(u)
    torch.testing.assert_close(reach, node_log_reach(u), rtol=0, atol=0)
    torch.testing.assert_close(leaves, leaf_log_probs(u), rtol=0, atol=0)
    torch.testing.assert_close(split_balance_loss(u, groups, log_reach=reach),
                               split_balance_loss(u, groups), rtol=0, atol=0)


def test_split_balance_loss_is_zero_only_for_even_splits_and_pulls_towards_them():
    assert float(split_balance_loss(torch.zeros(5, 15))) == 0.0
    # two items sent to opposite sides of the root, undecided below: every split is even
    u = torch.zeros(2, 15)
    u[:, 0] = torch.tensor([4.0, -4.0])
    assert float(split_balance_loss(u, torch.tensor([3, 3]))) == pytest.approx(0.0, abs=1e-6)
    # everything goes right: a positive loss whose gradient lowers the logits
    u = torch.full((4, 7), 2.0, requires_grad=True)
    loss = split_balance_loss(u)
    loss.backward()
    assert loss.detach().item() > 0.1 and (u.grad[:, 0] > 0).all()
