"""LADDebiaser(method="swap"): the gate, the report, the swap in transform and per batch."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from sklproxy.datasets import load_digits28, make_colour_biased, make_spatial_biased
from sklproxy.debias import LADDebiaser, LatentClassifierOptions, Substitute, Swap, VQVAEOptions
from sklproxy.debias._swap import amplitude_features, amplitude_probe, style_follow
from sklproxy.nn.spectral import spectral_swap

SMALL = dict(vqvae=VQVAEOptions(n_codes=32, code_dim=8, width=16), max_epochs=8, lr=3e-3,
             latent_classifier=LatentClassifierOptions(max_epochs=3), batch_size=16,
             device="cpu", random_state=0)


def blobs(n=200, seed=0):
    """One blob per image, circularly shifted to a position that is the class (4 classes)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    yy, xx = np.mgrid[:16, :16]
    blob = np.exp(-((yy - 8) ** 2 + (xx - 8) ** 2) / 6.0)
    shifts = [(-4, -4), (-4, 3), (3, -4), (3, 3)]
    X = np.stack([np.roll(blob, shifts[k], axis=(0, 1)) for k in y])
    return torch.from_numpy(X[:, None].astype(np.float32)), y


def test_amplitude_features_are_blind_to_position():
    X, y = blobs()
    f = amplitude_features(X)
    assert f.shape == (len(X), 16 * 9)
    np.testing.assert_allclose(f, f[:1].repeat(len(f), 0), atol=1e-5)  # shifted blobs: one spectrum
    assert amplitude_probe(X, y, seed=0) < 0.5                            # position is invisible


def test_amplitude_probe_reads_a_texture_per_class():
    X, y = blobs()
    xx = np.arange(16)
    gratings = np.stack([0.3 * np.cos(2 * np.pi * xx * (2 + 2 * k) / 16) for k in range(4)])
    Xt = X + torch.from_numpy(gratings[y][:, None, None, :].astype(np.float32))
    assert amplitude_probe(Xt, y, seed=0) == 1.0


def test_style_follow_counts_whose_label_the_classifier_gives():
    """A classifier that reads the mean brightness follows the donor of every swap (its amplitudes)."""
    X, y = blobs(120)
    X = X * 0 + torch.from_numpy((0.1 + 0.2 * y)[:, None, None, None].astype(np.float32))

    def by_brightness(images):
        return np.clip(np.rint((images.mean(dim=(1, 2, 3)).numpy() - 0.1) / 0.2), 0, 3).astype(int)

    out = style_follow(by_brightness, X, y, 4.0, np.random.RandomState(0))
    assert out == {"accuracy": 1.0, "recipient": 0.0, "donor": 1.0, "follow": 1.0}


@pytest.fixture(scope="module")
def texture():
    """300 digits28 images with the class grating in the background (100 % bias)."""
    Xtr, ytr, _, _ = load_digits28(random_state=0, return_X_y=True)
    X, _ = make_spatial_biased(Xtr[:300], ytr[:300], kind="texture", random_state=0)
    return X, ytr[:300]


@pytest.fixture(scope="module")
def swapper(texture):
    return LADDebiaser(method="swap", **SMALL).fit(*texture)


def test_the_swap_fires_on_a_texture_and_removes_it(texture, swapper):
    X, y = texture
    assert swapper.swap_active_ and swapper.swap_probe_accuracy_ >= 0.95
    assert swapper.swap_bank_.shape[1:] == X.shape[1:]
    Xd = swapper.transform(X)
    assert Xd.shape == X.shape and Xd.dtype == np.float32
    assert Xd.min() >= X.min() - 1e-6 and Xd.max() <= X.max() + 1e-6
    assert amplitude_probe(torch.from_numpy(Xd), y, seed=1) < 0.5  # the texture no longer tells
    # sample by sample (the same donor); float rounding of other batch sizes aside
    np.testing.assert_allclose(swapper.transform(X[:7]), Xd[:7], atol=1e-6)
    np.testing.assert_array_equal(swapper.transform(X), Xd)


def test_per_batch_swaps_draw_from_the_generator(texture, swapper):
    X = torch.from_numpy(texture[0][:32])
    module = swapper.debias_module()
    groups = torch.zeros(len(X), dtype=torch.long)  # the same groups: only the donors can differ
    a = module(X, torch.Generator().manual_seed(0), targets=groups)
    torch.testing.assert_close(a, module(X, torch.Generator().manual_seed(0), targets=groups))
    assert not torch.allclose(a, module(X, torch.Generator().manual_seed(1), targets=groups))
    torch.testing.assert_close(swapper.debias_module(swap=False)(X, targets=groups),
                               module.__class__(module.vqvae, "substitute", swapper._substitution(),
                                                hash_seed=swapper._hash_seed)(X, targets=groups))


def test_same_random_state_same_bits(texture, swapper):
    again = LADDebiaser(method="swap", **SMALL).fit(*texture)
    np.testing.assert_array_equal(again.transform(texture[0][:20]), swapper.transform(texture[0][:20]))
    assert again.swap_probe_accuracy_ == swapper.swap_probe_accuracy_


def test_when_the_gate_stays_off_swap_is_the_substitution_bit_for_bit():
    X, y = load_digits(return_X_y=True)
    Xc, _ = make_colour_biased(X[:240].reshape(-1, 8, 8), y[:240], max_value=16, random_state=0)
    swap = LADDebiaser(method=Swap(min_accuracy=1.0), **SMALL).fit(Xc, y[:240])
    sub = LADDebiaser(method=Substitute(), **SMALL).fit(Xc, y[:240])
    assert not swap.swap_active_ and swap.swap_probe_accuracy_ < 1.0
    assert not hasattr(swap, "swap_bank_")
    np.testing.assert_array_equal(swap.transform(Xc), sub.transform(Xc))
    x = torch.from_numpy(Xc[:16].astype(np.float32))
    torch.testing.assert_close(swap.debias_module()(x, torch.Generator().manual_seed(3)),
                               sub.debias_module()(x, torch.Generator().manual_seed(3)))


def test_refit_with_another_method_forgets_the_swap(texture, swapper):
    import copy

    lad = copy.deepcopy(swapper).set_params(method="substitute").fit(*texture)
    assert not hasattr(lad, "swap_active_")
    ref = LADDebiaser(method="substitute", **SMALL).fit(*texture)
    np.testing.assert_array_equal(lad.transform(texture[0][:10]), ref.transform(texture[0][:10]))


def test_swap_stays_off_for_vectors_and_a_class_of_one_image():
    import warnings

    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vec = LADDebiaser(method="swap", **SMALL).fit(X[:100], y[:100])
        ref = LADDebiaser(method="substitute", **SMALL).fit(X[:100], y[:100])
    assert not vec.swap_active_ and np.isnan(vec.swap_probe_accuracy_)
    np.testing.assert_array_equal(vec.transform(X[:10]), ref.transform(X[:10]))
    y1 = y[:100].copy()
    y1[0] = 10  # a class of one image
    with pytest.warns(UserWarning, match="method='swap' cannot test"):
        one = LADDebiaser(method="swap", **SMALL).fit(X[:100].reshape(-1, 8, 8), y1)
    assert not one.swap_active_


def test_swap_is_the_default():
    assert LADDebiaser().method == "swap"


def test_swap_options_are_validated_and_tunable():
    lad = LADDebiaser(method=Swap(cutoff=3.0))
    assert lad.get_params()["method__cutoff"] == 3.0
    with pytest.raises(ValueError, match="cutoff"):
        LADDebiaser(method=Swap(cutoff=0.0), **SMALL).fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])


def test_spectral_swap_is_what_transform_applies(texture, swapper):
    """transform = clip(spectral_swap(substituted reconstruction, bank donor)) with the hashed donor."""
    X = torch.from_numpy(texture[0][:6])
    module = swapper.debias_module()
    vq = swapper.net_.module_
    with torch.no_grad():
        from sklproxy.nn.vqvae import quantise

        _, idx = quantise(vq.encode(X).float(), vq.codebook.detach().float())
        rec = vq.decode(vq.codebook.detach().float()[module.substitute_codes(idx)].movedim(-1, 1))
        donors = module.hashed_targets(idx, len(module.bank), salt=1)
        expected = spectral_swap(rec, module.bank[donors], swapper.method_.cutoff)
        expected = torch.maximum(torch.minimum(expected, vq.high), vq.low)
    torch.testing.assert_close(module(X), expected)


def test_lad_classifier_trains_on_swaps_and_predicts_on_raw_images(texture):
    from sklproxy.classification import ImageClassifier
    from sklproxy.debias import LADClassifier

    X, y = texture
    clf = LADClassifier(LADDebiaser(method="swap", **SMALL),
                        ImageClassifier(backbone="lenet", max_epochs=1, batch_size=64, device="cpu",
                                        random_state=0)).fit(X, y)
    d = clf.debiaser_
    assert d.swap_active_
    np.testing.assert_array_equal(d._prediction_images(X[:20]), X[:20])
    np.testing.assert_array_equal(clf.predict(X[:20]), clf.classifier_.predict(X[:20]))
    substituted = d._images(X[:20], swap=False)
    assert not np.allclose(substituted, d.transform(X[:20]))          # transform swaps
    np.testing.assert_allclose(d.debias_module(swap=False)(torch.from_numpy(X[:20])).numpy(),
                               substituted, atol=1e-6)  # batches of 16 vs one of 20: rounding
