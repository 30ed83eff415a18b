import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_everything():
    """Tests are seeded automatically and run on the CPU with one thread.

    The test models are tiny: extra OpenMP threads only add contention (and
    oversubscribe the cores when GridSearchCV runs workers in parallel).
    """
    np.random.seed(0)
    torch.manual_seed(0)
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="session")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y
