import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tests run on the CPU with one thread, for the whole session.

    The test models are tiny: extra OpenMP threads only add contention (and
    oversubscribe the cores when GridSearchCV runs workers in parallel).
    Session scope, so module-scoped fits see the same thread count as the
    tests: float results, hence "same seed, same bits", depend on it.
    """
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Tests are seeded automatically."""
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


# Small fitted estimators shared by the convention tests (tests/test_conventions.py,
# tests/_training/): 160 8x8 digits in [0, 1], a 3-bit DDTLHasher and a small LADDebiaser.
@pytest.fixture(scope="session")
def images(digits):
    X, y = digits
    return (X[:160] / 16.0).reshape(-1, 8, 8).astype(np.float32), y[:160]


@pytest.fixture(scope="session")
def hasher(images):
    from sklproxy.hashing import DDTLHasher

    X, y = images
    return DDTLHasher(n_path_bits=3, max_epochs=2, batch_size=32, width=8, device="cpu",
                      random_state=0).fit(X, y)


@pytest.fixture(scope="session")
def lad(images):
    from sklproxy.debias import LADDebiaser, LatentClassifierOptions, VQVAEOptions

    X, y = images
    return LADDebiaser(vqvae=VQVAEOptions(n_codes=8, code_dim=4, width=8), max_epochs=2,
                       latent_classifier=LatentClassifierOptions(max_epochs=2), batch_size=32,
                       device="cpu", random_state=0).fit(X, y)
