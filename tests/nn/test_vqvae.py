import numpy as np
import pytest
import torch

from sklproxy.nn.backbones import Standardize
from sklproxy.nn.vqvae import (
    VQVAE,
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    VectorQuantizer,
    code_spacing,
    n_downsamplings,
    nearest_codes,
    quantise,
)


def _nearest_reference(z, codebook):
    out = []
    for row in z:
        dist = [float(((row - c) ** 2).sum()) for c in codebook]
        out.append(int(np.argmin(dist)))
    return np.array(out)


def test_nearest_codes_match_numpy_loop():
    rng = np.random.RandomState(0)
    z = rng.randn(50, 6).astype(np.float32)
    codebook = rng.randn(9, 6).astype(np.float32)
    got = nearest_codes(torch.from_numpy(z), torch.from_numpy(codebook)).numpy()
    np.testing.assert_array_equal(got, _nearest_reference(z, codebook))


def test_quantise_shapes_and_values():
    codebook = torch.randn(5, 3)
    h = torch.randn(2, 3, 4, 4)
    q, idx = quantise(h, codebook)
    assert q.shape == h.shape and idx.shape == (2, 4, 4)
    torch.testing.assert_close(q[1, :, 2, 3], codebook[idx[1, 2, 3]])
    ref = _nearest_reference(h.movedim(1, -1).reshape(-1, 3).numpy(), codebook.numpy())
    np.testing.assert_array_equal(idx.flatten().numpy(), ref)


def test_straight_through_gradient_and_losses():
    vq = VectorQuantizer(7, 4)
    h = torch.randn(3, 4, 5, requires_grad=True)
    q, _, loss = vq(h)
    upstream = torch.randn_like(q)
    (q * upstream).sum().backward(retain_graph=True)
    torch.testing.assert_close(h.grad, upstream)  # identity through the quantiser
    assert vq.codebook.grad is None
    loss.backward()
    assert vq.codebook.grad is not None and vq.codebook.grad.abs().sum() > 0
    assert int(vq.seen) == 15 and int(vq.usage.sum()) == 15


def test_dead_code_restart_uses_latents():
    vq = VectorQuantizer(4, 2)
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100.0, 100.0], [0.1, 0.1]]))
    h = torch.randn(8, 2, 3) * 0.01
    vq(h)
    n = vq.restart_dead_codes(h, torch.Generator().manual_seed(0))
    assert n == 3 - int((vq.codebook[3] == torch.tensor([0.1, 0.1])).all())
    assert vq.codebook.abs().max() < 1.0  # far codes were moved onto the data
    assert int(vq.seen) == 0


def test_code_spacing():
    codebook = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    assert code_spacing(codebook) == pytest.approx(1.0)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 28, 28), (2, 9, 11)])
def test_conv_autoencoder_shapes(shape):
    n_down = n_downsamplings(*shape[1:])
    enc = ConvEncoder(shape[0], 6, 8, n_down)
    dec = ConvDecoder(shape[0], shape[1:], 6, 8, n_down)
    z = enc(torch.rand(2, *shape))
    assert z.shape[:2] == (2, 6)
    assert dec(z).shape == (2, *shape)


def test_downsamplings_rule():
    assert n_downsamplings(28, 28) == 2 and n_downsamplings(8, 8) == 0
    assert n_downsamplings(32, 32) == 2


def test_mlp_vqvae_round_trip_range():
    X = torch.rand(10, 5) * 3 - 1
    model = VQVAE(Standardize.fit(X, per_channel=True), MLPEncoder(5, 4, 2, 16),
                  VectorQuantizer(6, 4), MLPDecoder(5, 4, 2, 16),
                  X.amin(0, keepdim=True), X.amax(0, keepdim=True))
    recon, target, _, idx = model(X)
    assert recon.shape == target.shape == (10, 5) and idx.shape == (10, 2)
    out = model.decode(model.encode(X) * 50)
    assert (out >= X.amin(0) - 1e-6).all() and (out <= X.amax(0) + 1e-6).all()
