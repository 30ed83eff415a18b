"""Device resolution and seeding."""

import pytest
import torch

from sklproxy.utils import resolve_device, seed_from_random_state, torch_seeded


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda"}
    with pytest.raises(ValueError, match="device='gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(TypeError):
        resolve_device(3)


def test_seeding_is_reproducible_and_restores_global_state():
    assert seed_from_random_state(3) == seed_from_random_state(3)
    torch.manual_seed(7)
    expected = torch.rand(2)
    torch.manual_seed(7)
    with torch_seeded(1, torch.device("cpu")):
        a = torch.rand(2)
    with torch_seeded(1, torch.device("cpu")):
        b = torch.rand(2)
    assert torch.equal(a, b)
    torch.testing.assert_close(torch.rand(2), expected)

