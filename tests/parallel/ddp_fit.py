"""One rank of the data-parallel test: forked by test_data_parallel.py, or run by torchrun::

    python -m torch.distributed.run --standalone --nproc-per-node=2 tests/parallel/ddp_fit.py out.pkl

Every rank fits the same estimators on the same data inside
``data_parallel()``; rank 0 pickles the fitted estimators to ``argv[1]``.
"""

import pickle
import sys

import numpy as np
import torch
from sklearn.datasets import load_digits

from sklproxy.classification import ImageClassifier
from sklproxy.hashing import DDTLHasher
from sklproxy.parallel import data_parallel, get_world_size

# the same settings as the single-process reference in the test
CLASSIFIER = dict(width=32, max_epochs=4, batch_size=96, lr=1e-2, device="cpu", random_state=0)
HASHER = dict(n_path_bits=4, width=32, max_epochs=4, batch_size=96, device="cpu", random_state=0)
# one step on all 600 samples with a negligible lr: Adam's first moment is then
# (1 - beta1) times the gradient of the first step
ONE_STEP = dict(HASHER, max_epochs=1, batch_size=600, lr=1e-12)


def first_moments(est):
    """Adam's first moment of every parameter after the fit, in parameter order."""
    opt = est.net_.optimizer_
    return [opt.state[p]["exp_avg"].clone() for group in opt.param_groups for p in group["params"]]


def data():
    X, y = load_digits(return_X_y=True)
    return X[:600].astype(np.float32), y[:600]


def main(out_path: str) -> None:
    torch.set_num_threads(1)
    X, y = data()
    with data_parallel() as rank:
        assert get_world_size() == 2
        clf = ImageClassifier(**CLASSIFIER).fit(X, y)
        hasher = DDTLHasher(**HASHER).fit(X, y)
        moments = first_moments(DDTLHasher(**ONE_STEP).fit(X, y))
    if rank == 0:
        with open(out_path, "wb") as f:
            pickle.dump({"classifier": clf, "hasher": hasher, "first_moments": moments}, f)


if __name__ == "__main__":
    main(sys.argv[1])
