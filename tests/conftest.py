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
