"""DHOG's head hierarchy: wiring on every backbone, gradient reach, fresh copies."""

import pytest
import torch

from sklproxy.nn.backbones import build_backbone
from sklproxy.nn.heads import DHOGHeads
from sklproxy.nn.mutual_info import push_mutual_information


def _head_params(heads: DHOGHeads, i: int) -> set[int]:
    return {id(p) for p in heads.heads[i].parameters()}


@pytest.mark.parametrize("name,shape,n_heads,early,n_late", [
    ("mlp", (12,), 4, [0], 3),
    ("convnet", (1, 8, 8), 4, [0, 1], 2),
    ("convnet", (3, 8, 8), 8, [0, 1], 6),
    ("resnet20", (1, 8, 8), 4, [0, 1], 2),
    ("resnet18", (1, 16, 16), 8, [0, 1, 2], 5),
])
def test_hierarchy_wiring_on_every_backbone(name, shape, n_heads, early, n_late):
    """Early heads after successive stages, late heads on their own last stage; the
    push of head i (earlier heads detached) reaches head i's MLP, its own last-stage
    copy and the shared stages below its branch point, and nothing else."""
    heads = DHOGHeads(build_backbone(name, shape, width=4), n_clusters=3, n_heads=n_heads)
    assert heads.staged and heads.early_stages == early and len(heads.late) == n_late
    n_early = len(early)
    x = torch.randn(6, *shape)
    for i in range(1, n_heads):
        heads.zero_grad(set_to_none=True)
        logits, _ = heads(x)
        p = torch.softmax(logits, dim=-1).unsqueeze(0).expand(2, -1, -1, -1)   # (R, B, H, C)
        push = push_mutual_information(p)[i]
        push.backward()
        got = {id(q) for q in heads.parameters() if q.grad is not None and q.grad.abs().sum() > 0}
        assert _head_params(heads, i) <= got                                  # its own MLP
        for j in range(n_heads):
            if j != i:
                assert not (_head_params(heads, j) & got), (i, j)             # no other MLP
        for k, block in enumerate(heads.late):
            own = {id(q) for q in block.parameters()}
            if n_early + k == i:
                assert own & got                                              # its last stage
            else:
                assert not (own & got), (i, k)                                # no other copy
        branch = early[i] if i < n_early else len(heads.trunk) - 1
        for s, stage in enumerate(heads.trunk):
            params = {id(q) for q in stage.parameters()}
            if s <= branch:
                assert params & got                                           # shared, below
            else:
                assert not (params & got)                                     # above its branch


def test_late_heads_own_fresh_copies_and_shapes():
    backbone = build_backbone("resnet18", (1, 16, 16), width=4)
    heads = DHOGHeads(backbone, n_clusters=6, n_heads=8, n_overcluster=12)
    w = [next(b.parameters()) for b in heads.late]
    assert not torch.equal(w[0], w[1])                         # copies start apart
    logits, over = heads(torch.randn(3, 1, 16, 16))
    assert logits.shape == (3, 8, 6) and over.shape == (3, 8, 12)
    few = DHOGHeads(build_backbone("resnet18", (1, 16, 16), width=4), 3, 2)
    assert few.early_stages == [2] and len(few.late) == 1      # the deepest early stage


def test_user_module_without_stages_shares_final_features():
    user = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(10, 7))
    user.out_features = 7
    heads = DHOGHeads(user, n_clusters=3, n_heads=4)
    assert not heads.staged
    logits, over = heads(torch.randn(5, 10))
    assert logits.shape == (5, 4, 3) and over.shape == (5, 4, 0)
