import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklproxy.hashing import CrPCA, DDTLHasher
from sklproxy.metrics import hash_entropy, mean_average_precision
from sklproxy.utils import NonFiniteLossError

FAST = dict(n_path_bits=4, max_epochs=2, batch_size=64, width=8, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits
    return X[:240], y[:240]


# ------------------------------------------------------------------ output contract
def test_codes_contract_single_label(small):
    X, y = small
    h = DDTLHasher(**FAST).fit(X, y)
    codes = h.transform(X)
    assert codes.dtype == np.uint8 and codes.shape == (len(X), 8)
    assert set(np.unique(codes)) <= {0, 1}
    assert (h.n_class_bits_, h.n_bits_) == (4, 8)
    np.testing.assert_array_equal(h.classes_, np.arange(10))
    # class bits are the predicted class index in binary, MSB first
    pred = np.searchsorted(h.classes_, h.predict(X))
    np.testing.assert_array_equal(codes[:, :4] @ (1 << np.arange(3, -1, -1)), pred)
    proba = h.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    leaves = h.predict_leaf_proba(X)
    assert leaves.shape == (len(X), 16)
    np.testing.assert_allclose(leaves.sum(axis=1), 1, rtol=1e-4)
    names = h.get_feature_names_out()
    assert list(names[:5]) == ["class_bit0", "class_bit1", "class_bit2", "class_bit3", "path_bit0"]


def test_path_bits_follow_the_greedy_tree(small):
    X, y = small
    h = DDTLHasher(**FAST).fit(X, y)
    with torch.no_grad():
        u = h.net_.module_.eval()(torch.from_numpy(h._validate_fitted_input(X)))[1]
    node = np.zeros(len(X), dtype=int)
    for level in range(h.n_path_bits):
        bit = (u.numpy()[np.arange(len(X)), node] > 0).astype(int)
        np.testing.assert_array_equal(h.transform(X)[:, h.n_class_bits_ + level], bit)
        node = 2 * node + 1 + bit


def test_string_labels_and_images(small):
    X, y = small
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                       "eight", "nine"])[y]
    h = DDTLHasher(**FAST).fit(X.reshape(-1, 8, 8), labels)
    assert h.input_shape_ == (1, 8, 8) and h.n_features_in_ == 64
    assert set(h.predict(X.reshape(-1, 1, 8, 8))) <= set(labels)
    # the flattened form of fitted images is accepted too
    np.testing.assert_array_equal(h.transform(X), h.transform(X.reshape(-1, 8, 8)))
    assert h.transform(torch.from_numpy(X)).shape == (len(X), 8)


def test_multilabel(small):
    X, y = small
    Y = np.stack([y % 2 == 0, y < 5, y == 3], axis=1).astype(int)
    Y[:5] = 0  # rows with no label are allowed
    h = DDTLHasher(**FAST).fit(X, Y)
    assert h.multilabel_ and h.n_class_bits_ == 3 and h.n_bits_ == 7
    codes = h.transform(X)
    np.testing.assert_array_equal(codes[:, :3], h.predict(X))
    assert h.predict_proba(X).shape == (len(X), 3)


@pytest.mark.parametrize("kwargs", [dict(alpha=0.0), dict()])
def test_unsupervised(small, kwargs):
    X, y = small
    h = DDTLHasher(**FAST, **kwargs).fit(X, None if not kwargs else y)
    assert h.n_class_bits_ == 0 and h.n_bits_ == 4 and h.transform(X).shape == (len(X), 4)
    with pytest.raises(ValueError, match="without supervision"):
        h.predict(X)
    assert 0 <= h.score(X) <= 1


def test_supervised_only(small):
    X, y = small
    h = DDTLHasher(**{**FAST, "beta": 0.0}).fit(X, y)
    assert h.transform(X).shape == (len(X), 8)


def test_batch_larger_than_data_and_tiny_classes(small):
    X, y = small
    y = y.copy()
    y[0] = 42  # a class with one member: no negatives, contributes nothing
    h = DDTLHasher(**{**FAST, "batch_size": 10_000}).fit(X[:30], y[:30])
    assert h.net_.history[-1, "train_batch_count"] == 1
    assert np.isfinite(h.net_.history[:, "train_loss"]).all()


# ------------------------------------------------------------------ sklearn integration
def test_pipelines_and_clone(small):
    X, y = small
    pipe = make_pipeline(StandardScaler(), DDTLHasher(**FAST)).fit(X, y)
    assert pipe.transform(X).shape == (len(X), 8)
    # few path bits so that Hamming distance is dominated by the class bits
    trained = {**FAST, "n_path_bits": 1, "max_epochs": 20, "lr": 3e-3, "width": None}
    knn = make_pipeline(DDTLHasher(**trained), KNeighborsClassifier(n_neighbors=3, metric="hamming"))
    assert knn.fit(X, y).score(X, y) > 0.7
    est = DDTLHasher(**FAST)
    assert clone(est).get_params() == est.get_params()


def test_grid_search_over_alpha_beta(small):
    X, y = small
    search = GridSearchCV(DDTLHasher(**FAST), {"alpha": [0.5, 1.0], "beta": [0.0, 0.1]},
                          cv=2, n_jobs=2)
    search.fit(X, y)
    assert search.best_params_.keys() == {"alpha", "beta"}
    assert 0 <= search.best_score_ <= 1


def test_pickle_round_trip(small):
    X, y = small
    h = DDTLHasher(**FAST).fit(X, y)
    again = pickle.loads(pickle.dumps(h))
    np.testing.assert_array_equal(h.transform(X), again.transform(X))
    np.testing.assert_array_equal(h.predict_proba(X), again.predict_proba(X))


def test_cuda_fitted_model_unpickles_on_cpu(small):
    """A net saved as if fitted on CUDA loads on a CPU-only machine, same outputs."""
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    X, y = small
    h = DDTLHasher(**FAST).fit(X, y)
    expected = h.transform(X)
    h.net_.device, h.device_ = "cuda", torch.device("cuda")
    with pytest.warns(UserWarning, match="CUDA"):
        again = pickle.loads(pickle.dumps(h))
    assert again.device_ == torch.device("cpu")
    np.testing.assert_array_equal(again.transform(X), expected)


def test_same_seed_same_bits(small):
    X, y = small
    a = DDTLHasher(**FAST).fit(X, y).transform(X)
    b = DDTLHasher(**FAST).fit(X, y).transform(X)
    c = DDTLHasher(**{**FAST, "random_state": 1}).fit(X, y).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_global_torch_rng_untouched(small):
    X, y = small
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    DDTLHasher(**FAST).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_verbose_prints_progress(small, capsys):
    X, y = small
    DDTLHasher(**{**FAST, "verbose": 1}).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 3


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "X_bad, match",
    [
        (np.full((20, 4), np.nan), "NaN"),
        (np.full((20, 4), np.inf), "infinity"),
        (np.ones((20, 4)) + 1j, "Complex"),
        (sp.random(20, 4, format="csr"), "Sparse"),
        (np.empty((0, 4)), "0 sample"),
        (np.empty((0, 8, 8)), "0 sample"),
        (np.ones((1, 4)), "1 sample"),
    ],
)
def test_bad_X(X_bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        DDTLHasher(**FAST).fit(X_bad, np.arange(X_bad.shape[0]) % 2)


def test_bad_y_and_params(small):
    X, y = small
    with pytest.raises(ValueError, match="single class"):
        DDTLHasher(**FAST).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        DDTLHasher(**FAST).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        DDTLHasher(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="Nothing to train"):
        DDTLHasher(**{**FAST, "beta": 0.0}).fit(X)
    with pytest.raises(ValueError, match="n_path_bits=24 is too large"):
        DDTLHasher(**{**FAST, "n_path_bits": 24}).fit(X, y)
    # the split-balance term needs more memory per leaf: a smaller feasible depth
    X300, y300 = np.random.RandomState(0).normal(size=(300, 8)), np.arange(300) % 3
    with pytest.raises(ValueError, match="n_path_bits <= 16"):
        DDTLHasher(**{**FAST, "n_path_bits": 17, "batch_size": 256, "gamma": 1.0}).fit(X300, y300)
    with pytest.raises(ValueError, match="n_path_bits"):
        DDTLHasher(**{**FAST, "n_path_bits": 0}).fit(X, y)
    with pytest.raises(ValueError, match="image_shape"):
        DDTLHasher(**FAST, image_shape=(5, 5)).fit(X, y)
    with pytest.raises(ValueError, match="backbone"):
        DDTLHasher(**{**FAST, "backbone": "convnet"}).fit(X, y)


def test_wrong_shape_at_transform(small):
    X, y = small
    h = DDTLHasher(**FAST).fit(X.reshape(-1, 8, 8), y)
    with pytest.raises(ValueError, match="fitted on input of shape"):
        h.transform(np.zeros((3, 1, 4, 16)))
    with pytest.raises(ValueError, match="features"):
        h.transform(np.zeros((3, 63)))


def test_nan_loss_stops_with_clear_error(small):
    X, y = small
    with pytest.raises(NonFiniteLossError, match="lr"):
        DDTLHasher(**{**FAST, "lr": 1e30, "max_epochs": 3}).fit(X * 1e30, y)


# ------------------------------------------------------------------ quality (digits, CPU)
def test_contrastive_tree_spreads_codes_at_equal_map(digits):
    """beta > 0 spreads codes far more than the supervised-only ablation, gamma > 0 further,
    at about the same mAP."""
    X, y = digits
    X = X.reshape(-1, 8, 8)
    Xtr, ytr, Xte, yte = X[:1200], y[:1200], X[1200:], y[1200:]
    common = dict(n_path_bits=8, max_epochs=30, batch_size=64, lr=3e-3, width=16,
                  temperature=0.1, device="cpu", random_state=0)
    result = {}
    for beta, gamma in ((0.0, 0.0), (0.3, 0.0), (0.3, 3.0)):
        h = DDTLHasher(beta=beta, gamma=gamma, **common).fit(Xtr, ytr)
        db = h.transform(Xtr)
        result[beta, gamma] = (hash_entropy(db),
                               mean_average_precision(h.transform(Xte), db, yte, ytr, k=100))
    (ent0, map0), (ent1, map1), (ent2, map2) = result.values()
    # measured (seed 0, CPU, 1 thread): beta=0 6.47 bits / mAP 0.987; beta=0.3 7.72-7.84 bits /
    # 0.975; with the split-balance term (gamma=3) 8.62 bits / 0.974
    assert min(map0, map1, map2) >= 0.93
    assert abs(map1 - map0) <= 0.03 and abs(map2 - map1) <= 0.03
    assert ent1 >= ent0 + 0.9, result
    assert ent2 >= ent1 + 0.4, result


def test_crpca_contract(small):
    X, y = small
    c = CrPCA(n_path_bits=5).fit(X, y)
    codes = c.transform(X)
    assert codes.shape == (len(X), 9) and codes.dtype == np.uint8
    # each training class is split at medians: the first path bit halves each class
    for k in range(10):
        first = codes[y == k, 4]
        assert abs(first.mean() - 0.5) <= 0.1
    unsup = CrPCA(n_path_bits=5).fit(X)
    assert unsup.transform(X).shape == (len(X), 5)
