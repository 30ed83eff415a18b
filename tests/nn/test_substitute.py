"""Code substitution (sklproxy.nn.substitute) against slow references written from the definitions."""

import math

import numpy as np
import pytest
import torch

from sklproxy.nn.substitute import (
    code_class_counts,
    code_holders,
    neighbour_signatures,
    position_markers,
    spurious_codes,
    substitute,
    substitution_tables,
)


def _random_codes(seed=0, n=12, h=5, w=6, k=7, c=3):
    rng = np.random.RandomState(seed)
    return torch.from_numpy(rng.randint(0, k, (n, h, w))), torch.from_numpy(rng.randint(0, c, n))


def test_counts_match_loop():
    codes, cls = _random_codes()
    got = code_class_counts(codes, cls, 7, 3).numpy()
    ref = np.zeros((7, 3))
    for i in range(len(codes)):
        for v in codes[i].flatten().tolist():
            ref[v, int(cls[i])] += 1
    np.testing.assert_array_equal(got, ref)


def test_spurious_entropy_matches_formula():
    counts = torch.tensor([[10.0, 0, 0], [5, 5, 5], [2, 8, 0], [0, 0, 0], [0, 1, 40]])
    sizes = torch.tensor([1.0, 1.0, 2.0])
    spurious, group, entropy = spurious_codes(counts, sizes, threshold=0.5)
    for k in range(5):
        rate = counts[k].numpy() / sizes.numpy()
        if rate.sum() == 0:
            assert entropy[k] == 1.0 and not spurious[k]
            continue
        p = rate / rate.sum()
        h = -sum(x * math.log(x) for x in p if x > 0) / math.log(3)
        assert entropy[k].item() == pytest.approx(h, abs=1e-6)
        assert bool(spurious[k]) == (h < 0.5)
        assert int(group[k]) == int(np.argmax(rate))
    # class sizes equalise: code 4 is in class 2 twice as often per image, still mostly class 2
    assert int(group[4]) == 2


def test_coverage_and_single_class():
    codes = torch.zeros(20, 4, dtype=torch.long)
    cls = torch.arange(20) % 2
    codes[cls == 0, 0] = 1       # code 1 in every class-0 sample
    codes[[0, 2], 1] = 2         # code 2 in 2 of the 10 class-0 samples only
    holders = code_holders(codes, cls, 3, 2)
    ref = np.zeros((3, 2))
    for i in range(20):
        for k in set(codes[i].tolist()):
            ref[k, int(cls[i])] += 1
    np.testing.assert_array_equal(holders.numpy(), ref)
    counts = code_class_counts(codes, cls, 3, 2)
    sizes = torch.bincount(cls).double()
    sp, group, _ = spurious_codes(counts, sizes, 0.7, holders, coverage=0.5)
    assert sp.tolist() == [False, True, False] and int(group[1]) == 0
    assert spurious_codes(counts, sizes, 0.7)[0].tolist() == [False, True, True]  # no coverage
    sp, _, _ = spurious_codes(counts[:, :1], sizes[:1])
    assert not sp.any()


def test_neighbour_signatures_match_loop():
    codes, _ = _random_codes(seed=1, k=5)
    spurious = torch.tensor([True, False, True, False, False])
    got = neighbour_signatures(codes, spurious).numpy()
    ref = np.zeros((5, 6))
    n, H, W = codes.shape
    for i in range(n):
        for y in range(H):
            for x in range(W):
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        yy, xx = y + dy, x + dx
                        if (dy, dx) == (0, 0) or not (0 <= yy < H and 0 <= xx < W):
                            continue
                        nb = int(codes[i, yy, xx])
                        ref[int(codes[i, y, x]), 0 if spurious[nb] else nb + 1] += 1
    ref /= np.maximum(ref.sum(axis=1, keepdims=True), 1)
    np.testing.assert_allclose(got, ref, atol=1e-6)


def test_neighbour_signatures_1d():
    codes = torch.tensor([[0, 1, 1, 2]])
    sig = neighbour_signatures(codes, torch.tensor([False, False, True]))
    # code 1: neighbours 0, 1 (left/right of first 1), 1, 2(spurious)
    np.testing.assert_allclose(sig[1].numpy(), [0.25, 0.25, 0.5, 0.0])
    with pytest.raises(ValueError, match="codes must be"):
        neighbour_signatures(torch.zeros(2, 2, 2, 2, dtype=torch.long), torch.tensor([False]))


def _background_scene():
    """Two classes: background code 2 (class 0) or 3 (class 1), object code 0 with edge 4 / 5."""
    codes = torch.full((4, 6, 6), 2)
    codes[2:] = 3
    codes[:, 2:4, 2:4] = 0            # object, shared
    codes[:2, 1, 2:4] = 4             # edge of class 0
    codes[2:, 1, 2:4] = 5             # edge of class 1
    return codes, torch.tensor([0, 0, 1, 1])


def test_tables_swap_roles_and_keep_the_object():
    codes, cls = _background_scene()
    counts = code_class_counts(codes, cls, 6, 2)
    sp, group, _ = spurious_codes(counts, torch.bincount(cls).double())
    assert sp.tolist() == [False, False, True, True, True, True]
    tables, groups = substitution_tables(sp, group, neighbour_signatures(codes, sp))
    assert groups.tolist() == [0, 1]
    # to class 1: background 2 -> 3, edge 4 -> 5; object and unused code kept
    assert tables[1].tolist() == [0, 1, 3, 3, 5, 5]
    assert tables[0].tolist() == [0, 1, 2, 2, 4, 4]
    out = substitute(codes, tables, torch.tensor([1, 1, 0, 0]))
    np.testing.assert_array_equal(out[0].numpy(), codes[2].numpy())
    np.testing.assert_array_equal(out[2].numpy(), codes[0].numpy())


def test_substitute_matches_loop():
    codes, _ = _random_codes(seed=2, k=4)
    tables = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0], [1, 1, 1, 1]])
    targets = torch.tensor([i % 3 for i in range(len(codes))])
    got = substitute(codes, tables, targets)
    for i in range(len(codes)):
        ref = tables[targets[i]][codes[i]]
        np.testing.assert_array_equal(got[i].numpy(), ref.numpy())


def test_position_markers_match_loop():
    codes, cls = _random_codes(seed=3, n=40, h=3, w=4, k=3, c=2)
    codes[cls == 0, 0, 0] = 2  # (0,0) holds code 2 in every class-0 sample ...
    codes[cls == 1, 0, 0] = 0  # ... and never in class 1: a marker
    spurious = torch.zeros(3, dtype=torch.bool)
    markers, fill = position_markers(codes, cls, 3, 2, spurious, coverage=0.9, threshold=0.2)
    flat = codes.reshape(len(codes), -1).numpy()
    sizes = np.bincount(cls.numpy(), minlength=2)
    for p in range(flat.shape[1]):
        for k in range(3):
            rate = np.array([np.mean(flat[cls.numpy() == c, p] == k) for c in range(2)])
            ent = 1.0 if rate.sum() == 0 else -sum(x * math.log(x) for x in rate / rate.sum() if x > 0) / math.log(2)
            expect = int(np.argmax(rate)) if rate.max() >= 0.9 and ent < 0.2 and sizes.min() > 0 else -1
            assert int(markers[p, k]) == expect, (p, k)
        counts = np.bincount(flat[:, p], minlength=3).astype(float)
        counts[markers[p].numpy() >= 0] = -1
        assert int(fill[p]) == int(np.argmax(counts))
    assert int(markers[0, 2]) == 0


def test_one_pixel_markers_are_moved_not_the_object():
    """Grey scene: object code 1 everywhere in the middle, code 1 at (0, c) marks class c."""
    n = 30
    codes = torch.zeros(n, 5, 5, dtype=torch.long)
    codes[:, 2:4, 1:4] = 1
    cls = torch.arange(n) % 3
    codes[torch.arange(n), 0, cls] = 1
    sp = torch.zeros(2, dtype=torch.bool)
    markers, fill = position_markers(codes, cls, 2, 3, sp)
    assert {(p, int(markers[p, 1])) for p in range(25) if markers[p, 1] >= 0} == {(0, 0), (1, 1), (2, 2)}
    assert (markers[:, 0] == -1).all() and fill[0] == 0
    tables = torch.arange(2).repeat(3, 1)
    out = substitute(codes, tables, torch.full((n,), 2), markers, fill, torch.arange(3))
    # every sample now carries class 2's pixel only; the object is untouched
    assert (out[:, 0, 2] == 1).all() and (out[:, 0, :2] == 0).all()
    np.testing.assert_array_equal(out[:, 1:].numpy(), codes[:, 1:].numpy())
