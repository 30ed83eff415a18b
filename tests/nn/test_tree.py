import itertools
import math

import numpy as np
import pytest
import torch

from sklproxy.nn.tree import (
    DecisionTreeLayer,
    greedy_path_bits,
    greedy_path_nodes,
    greedy_reach,
    invariant_split_weights,
    leaf_log_probs,
    median_split_offsets,
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


def reference_greedy_reach(u, depth):
    """1 on the nodes the greedy path visits, else 0."""
    reach, node = np.zeros(2**depth - 1), 0
    for _ in range(depth):
        reach[node] = 1.0
        node = 2 * node + 1 + int(u[node] > 0)
    return reach


def reference_balance(u, groups, depth, reach="soft"):
    """split_balance_loss written item by item, node by node."""
    reach_of = reference_reach if reach == "soft" else reference_greedy_reach
    total = []
    for g in sorted(set(groups)):
        rows = [i for i, gi in enumerate(groups) if gi == g]
        per_level = np.zeros(depth)
        for node in range(2**depth - 1):
            level = int(math.log2(node + 1))
            m = sum(reach_of(u[i], depth)[node] for i in rows)
            if m == 0:  # no item of the group at this node
                continue
            right = sum(reach_of(u[i], depth)[node] * _sigmoid(u[i][node]) for i in rows)
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


@pytest.mark.parametrize("reach", ["soft", "greedy"])
@pytest.mark.parametrize("depth, groups", [(1, None), (3, [0, 1, 0, 2, 1, 0]), (4, [5, 5, 7, 7, 7, 5])])
def test_split_balance_loss_matches_reference(depth, groups, reach):
    u = torch.randn(6, 2**depth - 1, generator=torch.Generator().manual_seed(depth)) * 1.5
    got = split_balance_loss(u, None if groups is None else torch.tensor(groups), reach=reach)
    want = reference_balance(u.double().numpy(), groups or [0] * 6, depth, reach)
    assert float(got) == pytest.approx(want, rel=1e-4, abs=1e-6)


def test_greedy_balance_statistics_and_gradient_match_reference():
    """The greedy-reach term: counts and right-shares per (class, node) taken along the
    codes' paths, gradient only through sigmoid(u) at the visited nodes; checked
    against the formula written node by node (float64), value and gradient."""
    depth = 5
    gen = torch.Generator().manual_seed(11)
    u = (torch.randn(40, 2**depth - 1, generator=gen, dtype=torch.float64) * 2).requires_grad_()
    groups = torch.randint(0, 3, (40,), generator=gen)
    got = split_balance_loss(u, groups, reach="greedy")
    (grad,) = torch.autograd.grad(got, u)
    ref = torch.zeros((), dtype=torch.float64)
    for g in groups.unique():
        rows = torch.nonzero(groups == g)[:, 0]
        for node in range(2**depth - 1):
            held = [int(i) for i in rows if reference_greedy_reach(u[i].detach().numpy(), depth)[node]]
            if not held:
                continue
            a = torch.sigmoid(u[held, node]).mean().clamp(1e-6, 1 - 1e-6)
            excess = -0.5 * (a.log() + (1 - a).log()) - math.log(2.0)
            ref = ref + len(held) / len(rows) * excess
    ref = ref / len(groups.unique()) / depth
    (ref_grad,) = torch.autograd.grad(ref, u)
    assert got.item() == pytest.approx(ref.item(), rel=1e-6)  # the loss runs in float32
    torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-8)
    # gradient only at the nodes the codes visit
    assert (grad[~greedy_reach(u)] == 0).all()


def test_greedy_path_nodes_and_reach_agree_with_the_bits():
    u = torch.randn(30, 2**6 - 1) * 3
    nodes, bits = greedy_path_nodes(u), greedy_path_bits(u).long()
    assert nodes[:, 0].eq(0).all()
    torch.testing.assert_close(nodes[:, 1:], 2 * nodes[:, :-1] + 1 + bits[:, :-1])
    reach = greedy_reach(u)
    assert reach.sum(dim=1).eq(6).all()
    for row, ref_u in zip(reach.numpy(), u.numpy()):
        np.testing.assert_array_equal(row, reference_greedy_reach(ref_u, 6).astype(bool))


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


def reference_median_offsets(u, groups, n_groups, depth):
    """Top-down medians, class by class and node by node, from the definition."""
    offsets = np.zeros((n_groups, 2**depth - 1))
    for g in range(n_groups):
        members = {0: [i for i in range(len(u)) if groups[i] == g]}
        for node in range(2**depth - 1):
            items = members.pop(node, [])
            if items:  # ceil(k/2) values left: between the ceil(k/2)-th smallest and the next
                values = sorted(u[i, node] for i in items)
                k = len(values)
                if k == 1:  # alone: goes left, with a margin
                    offsets[g, node] = values[0] + 1e-4 * (1 + abs(values[0]))
                else:
                    offsets[g, node] = (values[(k - 1) // 2] + values[(k + 1) // 2]) / 2
            right = [i for i in items if u[i, node] - offsets[g, node] > 0]
            members[2 * node + 1] = [i for i in items if i not in right]
            members[2 * node + 2] = right
    return offsets


@pytest.mark.parametrize("balance", [False, True])
def test_median_split_offsets_match_reference_and_halve_every_class(balance):
    depth, n_groups = 4, 3
    gen = torch.Generator().manual_seed(5)
    tree = DecisionTreeLayer(6, depth, balance)
    if balance:  # non-trivial running statistics and affine parameters
        tree.norm.running_mean.uniform_(-1, 1, generator=gen)
        tree.norm.running_var.uniform_(0.5, 2, generator=gen)
        tree.norm.weight.data.uniform_(0.5, 2, generator=gen)
        tree.norm.bias.data.uniform_(-1, 1, generator=gen)
    tree.eval()
    feats = torch.randn(90, 6, generator=gen)
    groups = torch.randint(0, n_groups, (90,), generator=gen)
    groups[groups == 2] = 1  # group 2 has no items: its offsets stay 0
    with torch.no_grad():
        u = tree(feats)
        np.testing.assert_allclose(  # one node per item, as the full forward
            tree.node_logits_at(feats, torch.arange(90) % 15), u[torch.arange(90), torch.arange(90) % 15],
            rtol=1e-5, atol=1e-6)
    offsets = median_split_offsets(tree, feats, groups, n_groups)
    want = reference_median_offsets(u.double().numpy(), groups.tolist(), n_groups, depth)
    np.testing.assert_allclose(offsets.numpy(), want, rtol=1e-5, atol=1e-6)
    assert (offsets[2] == 0).all()
    # with the offsets set, every class's items split evenly at every node they reach
    tree.offsets = offsets
    with torch.no_grad():
        nodes = greedy_path_nodes(tree(feats, groups))
        bits = greedy_path_bits(tree(feats, groups))
    for g in range(2):
        for node in range(2**depth - 1):
            level = int(math.log2(node + 1))
            held = (groups == g) & (nodes[:, level] == node)
            right = int(bits[held, level].sum())
            assert abs(int(held.sum()) - 2 * right) <= 1


def test_median_splits_keep_near_equal_items_together_with_a_margin():
    """Ties and near-ties are never split apart: the nearest wide enough gap is used."""
    from sklproxy.nn.tree import _split_points

    values = torch.tensor([0.0, 1.0, 1.0, 1.0 + 1e-7, 1.0, 5.0,   # cell 0: tie at the median
                           2.0, 2.0, 2.0,                        # cell 1: all equal
                           -3.0, 7.0])                           # cell 2: plain
    values[:5] = values[:5].sort().values
    counts = torch.tensor([6, 3, 2])
    start = torch.tensor([0, 6, 9])
    split = _split_points(values, torch.arange(3), counts, start)
    # cell 0 wants 3 left, but 1.0 (x3) and 1.0+1e-7 are one block: 0.0 | 1.0 ... or ... | 5.0;
    # the gap before position 1 (distance 2) and before 5 (distance 2): the first is taken
    assert split[0].item() == pytest.approx(0.5)
    assert split[1].item() > 2.0 + 1e-4  # everything left
    assert split[2].item() == pytest.approx(2.0)
    # margin: no value within 1e-4 * (1 + |v|) of its split
    for c in range(3):
        v = values[start[c]:start[c] + counts[c]]
        assert ((v - split[c]).abs() >= 0.99e-4 * (1 + v.abs())).all()


def reference_invariant_trees(f, views, groups, n_groups, depth, shrinkage):
    """Per-group whitening by the shrunk view covariance, then top-down: each node's direction
    is the leading eigenvector of the whitened items' covariance there, the threshold their
    median (ceil(k/2) left, the midpoint of the two middle values), from the definition."""
    width = f.shape[1]
    directions = {}
    bits = np.zeros((len(f), depth), dtype=int)
    for g in range(n_groups):
        idx = np.flatnonzero(groups == g)
        if not len(idx):
            continue
        diff = (views[idx] - f[idx, None]).reshape(-1, width)
        cov = diff.T @ diff / len(diff)
        cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / width * np.eye(width)
        vals, vecs = np.linalg.eigh(cov)
        W = vecs @ np.diag(vals ** -0.5) @ vecs.T
        members = {0: list(idx)}
        for node in range(2**depth - 1):
            items = members.pop(node, [])
            if not items:
                continue
            level = int(math.log2(node + 1))
            Z = f[items] @ W
            if len(items) >= 2:
                vals, vecs = np.linalg.eigh(np.cov(Z.T, bias=True))
                v = vecs[:, -1] * np.sign(vecs[np.abs(vecs[:, -1]).argmax(), -1])
                p = np.sort(Z @ v)
                k = len(p)
                thr = (p[(k - 1) // 2] + p[(k + 1) // 2]) / 2
            else:
                v, thr = np.zeros(width), np.inf
            directions[g, node] = W @ v
            right = [i for i, z in zip(items, Z) if z @ v - thr > 0]
            for i in right:
                bits[i, level] = 1
            members[2 * node + 1] = [i for i in items if i not in right]
            members[2 * node + 2] = right
    return directions, bits


def test_invariant_split_weights_match_reference_and_avoid_the_view_noise():
    depth, n_groups, width = 3, 3, 4
    gen = torch.Generator().manual_seed(3)
    # well separated spreads (leading eigenvalues are distinct at every node)
    f = torch.randn(120, width, generator=gen, dtype=torch.float64) * torch.tensor(
        [3.0, 2.0, 1.2, 0.7], dtype=torch.float64)
    # the views move items mostly along feature 0, the widest one
    noise = torch.randn(120, 5, width, generator=gen, dtype=torch.float64) * torch.tensor(
        [4.0, 0.2, 0.2, 0.2], dtype=torch.float64)
    views = f[:, None] + noise
    groups = torch.randint(0, 2, (120,), generator=gen)                 # group 2 stays empty
    weight, bias = invariant_split_weights(f.float(), views.float(), groups, n_groups, depth,
                                           n_iter=200)
    assert weight.shape == (n_groups, 7, width) and bias.shape == (n_groups, 7)
    assert (weight[2] == 0).all() and (bias[2] == 0).all()
    directions, want_bits = reference_invariant_trees(f.numpy(), views.numpy(), groups.numpy(),
                                                      n_groups, depth, 0.1)
    for (g, node), d in directions.items():
        got = weight[g, node].double().numpy()
        if not d.any():
            continue
        np.testing.assert_allclose(got / np.linalg.norm(got), d / np.linalg.norm(d), atol=1e-4)
    tree = DecisionTreeLayer(width, depth)
    tree.group_weight, tree.group_bias = weight, bias
    with torch.no_grad():
        bits = greedy_path_bits(tree(f.float(), groups))
    np.testing.assert_array_equal(bits.numpy(), want_bits)
    # every group's items halve at every node they reach
    nodes = greedy_path_nodes(tree(f.float(), groups))
    for g in range(2):
        for node in range(7):
            level = int(math.log2(node + 1))
            held = (groups == g) & (nodes[:, level] == node)
            assert abs(int(held.sum()) - 2 * int(bits[held, level].sum())) <= 1
    # the root does not split along the noisy direction, though it is the widest
    root = weight[0, 0] / weight[0, 0].norm()
    assert abs(float(root[0])) < 0.2
    # without view noise along it, the widest direction is taken
    quiet = f[:, None] + 0.2 * torch.randn(120, 5, width, generator=gen, dtype=torch.float64)
    weight, _ = invariant_split_weights(f.float(), quiet.float(), groups, n_groups, depth)
    assert abs(float(weight[0, 0, 0] / weight[0, 0].norm())) > 0.9


def test_group_trees_replace_the_shared_splits():
    gen = torch.Generator().manual_seed(0)
    tree = DecisionTreeLayer(5, 2, balance=True)
    tree.eval()
    feats = torch.randn(10, 5, generator=gen)
    groups = torch.tensor([0, 1] * 5)
    tree.group_weight = torch.randn(2, 3, 5, generator=gen)
    tree.group_bias = torch.randn(2, 3, generator=gen)
    with torch.no_grad():
        u = tree(feats, groups)
    want = torch.einsum("bf,bnf->bn", feats, tree.group_weight[groups]) + tree.group_bias[groups]
    torch.testing.assert_close(u, want)
    # one group: every item uses it, whatever the groups passed
    tree.group_weight, tree.group_bias = tree.group_weight[:1], tree.group_bias[:1]
    with torch.no_grad():
        torch.testing.assert_close(tree(feats, groups), tree(feats))


def test_invariant_split_weights_fall_back_to_median_splits_in_small_cells():
    """Below ``min_items`` a cell keeps the shared direction: with every cell below it, the trees
    are median splits along the shared (folded batch-norm) directions, offsets included."""
    gen = torch.Generator().manual_seed(1)
    depth, n_groups = 3, 2
    tree = DecisionTreeLayer(5, depth, balance=True)
    tree.norm.running_mean.uniform_(-1, 1, generator=gen)
    tree.norm.running_var.uniform_(0.5, 2, generator=gen)
    tree.eval()
    feats = torch.randn(60, 5, generator=gen)
    views = feats[:, None] + 0.3 * torch.randn(60, 3, 5, generator=gen)
    groups = torch.arange(60) % n_groups
    with torch.no_grad():
        weight, bias = tree.folded_weights()
        torch.testing.assert_close(feats @ weight.T + bias, tree(feats))
        w, b = invariant_split_weights(feats, views, groups, n_groups, depth,
                                       fallback=(weight, bias), min_items=10**6)
        offsets = median_split_offsets(tree, feats, groups, n_groups)
        tree.offsets = offsets
        want = greedy_path_bits(tree(feats, groups))
        tree.offsets = None
        tree.group_weight, tree.group_bias = w, b
        np.testing.assert_array_equal(greedy_path_bits(tree(feats, groups)).numpy(), want.numpy())
