"""DHOGClusterer: API, reproducibility, bad input, selection, quality on digits."""

import pickle

import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from sklproxy.cluster import DHOGClusterer, HeadOptions
from sklproxy.cluster._dhog import selection_scores
from sklproxy.metrics import cluster_accuracy_scorer, cluster_label_mapping

#: DHOG's held-out accuracy minus k-means' must reach this at seed 0 (see the quality test)
QUALITY_MARGIN = 0.02

FAST = dict(n_clusters=3, n_heads=3, n_repeats=2, max_epochs=5, batch_size=32, width=8,
            device="cpu", random_state=0)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=90, centers=3, n_features=4, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(blobs):
    return DHOGClusterer(**FAST).fit(blobs[0])


def test_fitted_attributes_and_shapes(fitted, blobs):
    X = blobs[0]
    assert fitted.labels_.shape == (90,) and fitted.labels_.dtype == np.int64
    assert fitted.head_labels_.shape == (90, 3)
    assert fitted.head_scores_.shape == (3,) and 0 <= fitted.best_head_ < 3
    assert fitted.best_head_ == int(np.argmax(fitted.head_scores_))
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    np.testing.assert_array_equal(fitted.predict_heads(X), fitted.head_labels_)
    np.testing.assert_array_equal(fitted.head_labels_[:, fitted.best_head_], fitted.labels_)
    proba = fitted.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    np.testing.assert_array_equal(proba.argmax(1), fitted.labels_)
    for h in range(3):  # consecutive labels from 0 on every head
        used = np.unique(fitted.head_labels_[:, h])
        np.testing.assert_array_equal(used, np.arange(len(used)))
    assert 0 <= fitted.score(X) <= 1
    assert fitted.score(X) == fitted.score(X)   # deterministic augmentations


def test_fit_predict_equals_labels(blobs):
    est = DHOGClusterer(**FAST)
    np.testing.assert_array_equal(est.fit_predict(blobs[0]), est.labels_)


def test_loss_decreases(blobs):
    est = DHOGClusterer(**{**FAST, "max_epochs": 15}).fit(blobs[0])
    losses = est.net_.history[:, "train_loss"]
    assert np.isfinite(losses).all()
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.1


def test_same_seed_same_labels_and_outputs(blobs, fitted):
    again = DHOGClusterer(**FAST).fit(blobs[0])
    np.testing.assert_array_equal(again.head_labels_, fitted.head_labels_)
    np.testing.assert_array_equal(again.predict_proba(blobs[0]), fitted.predict_proba(blobs[0]))


def test_pickle_round_trip(fitted, blobs):
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.predict_heads(blobs[0]), fitted.predict_heads(blobs[0]))
    np.testing.assert_array_equal(clone.predict_proba(blobs[0]), fitted.predict_proba(blobs[0]))
    assert clone.score(blobs[0]) == fitted.score(blobs[0])


def test_pipeline(blobs):
    pipe = make_pipeline(StandardScaler(), DHOGClusterer(**FAST))
    labels = pipe.fit_predict(blobs[0])
    assert labels.shape == (90,)
    np.testing.assert_array_equal(pipe.predict(blobs[0]), labels)


@pytest.mark.parametrize("scoring", [None, cluster_accuracy_scorer])
def test_grid_search_over_alpha(blobs, scoring):
    # scoring=None: the unsupervised selection criterion (no labels needed)
    y = None if scoring is None else blobs[1]
    search = GridSearchCV(DHOGClusterer(**FAST), {"alpha": [0.0, 0.05]}, cv=2,
                          scoring=scoring).fit(blobs[0], y)
    assert search.best_params_["alpha"] in (0.0, 0.05)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_alpha_zero_is_iic(blobs):
    est = DHOGClusterer(**{**FAST, "alpha": 0.0, "heads": HeadOptions(n_overcluster=6)}).fit(blobs[0])
    assert est.net_.alpha == 0.0
    assert est.net_.module_.heads.over_heads is not None


def test_push_kinds(blobs):
    """push="conditional" trains with the conditional objective; alpha=0 is IIC for both."""
    iic = DHOGClusterer(**{**FAST, "alpha": 0.0}).fit(blobs[0])
    iic_c = DHOGClusterer(**{**FAST, "alpha": 0.0, "push": "conditional"}).fit(blobs[0])
    np.testing.assert_array_equal(iic.head_labels_, iic_c.head_labels_)
    mi = DHOGClusterer(**{**FAST, "alpha": 0.5}).fit(blobs[0])
    cond = DHOGClusterer(**{**FAST, "alpha": 0.5, "push": "conditional"}).fit(blobs[0])
    assert cond.net_.push == "conditional"
    assert cond.net_.history[-1, "train_loss"] != mi.net_.history[-1, "train_loss"]
    with pytest.raises(ValueError, match=r"alpha=1.5 with push='conditional'.*0 <= alpha <= 1"):
        DHOGClusterer(**{**FAST, "alpha": 1.5, "push": "conditional"}).fit(blobs[0])
    with pytest.raises(ValueError, match="push"):
        DHOGClusterer(**{**FAST, "push": "kl"}).fit(blobs[0])


def test_selection_never_picks_collapsed_head():
    rng = np.random.RandomState(0)
    good = rng.randint(0, 10, 500)
    noisy = np.where(rng.rand(500) < 0.3, rng.randint(0, 10, 500), good)
    collapsed = np.zeros(500, dtype=int)
    two = good % 2                                   # 2 of 10 clusters
    a = np.stack([collapsed, good, two], 1)
    b = np.stack([collapsed, noisy, two], 1)
    scores, nmi = selection_scores(a, b, 10)
    assert nmi[0] == 1.0 and nmi[2] == 1.0           # NMI alone would pick them
    assert scores[0] == 0 and scores[2] == 0 and int(np.argmax(scores)) == 1


@pytest.mark.filterwarnings("ignore:DHOGClusterer:UserWarning")  # 1 epoch: collapsed
def test_images_and_image_shape(digits):
    X = digits[0][:64]
    est = DHOGClusterer(**{**FAST, "max_epochs": 1}).fit(X.reshape(-1, 8, 8))
    assert est.input_shape_ == (1, 8, 8) and est.n_features_in_ == 64
    np.testing.assert_array_equal(est.predict(X), est.predict(X.reshape(-1, 1, 8, 8)))
    with pytest.raises(ValueError, match="fitted on input of shape"):
        est.predict(np.zeros((2, 4, 16)))
    flat = DHOGClusterer(**{**FAST, "max_epochs": 1}, image_shape=(8, 8)).fit(X)
    assert flat.input_shape_ == (1, 8, 8)


@pytest.mark.parametrize("bad,match", [
    (np.array([[np.nan, 1.0], [1.0, 2.0], [0.0, 1.0]]), "NaN"),
    (np.array([[np.inf, 1.0], [1.0, 2.0], [0.0, 1.0]]), "infinity"),
    (np.array([[1 + 1j, 1.0], [1.0, 2.0], [0.0, 1.0]]), "Complex"),
    (np.zeros((0, 3)), "0 sample"),
    (np.ones((1, 3)), "minimum of 2"),
])
def test_bad_input_at_fit(bad, match):
    with pytest.raises(ValueError, match=match):
        DHOGClusterer(**FAST).fit(bad)


def test_sparse_and_wrong_width(fitted):
    with pytest.raises(TypeError, match="[Ss]parse"):
        DHOGClusterer(**FAST).fit(sparse.csr_matrix(np.eye(5)))
    with pytest.raises(ValueError, match="features"):
        fitted.predict(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(np.full((3, 4), np.nan))


def test_invalid_parameters(blobs):
    with pytest.raises(ValueError, match="n_repeats"):
        DHOGClusterer(n_repeats=1).fit(blobs[0])
    with pytest.raises(ValueError, match="alpha"):
        DHOGClusterer(alpha=-1.0).fit(blobs[0])


def test_too_many_clusters_and_sobel_on_vectors(blobs):
    with pytest.raises(ValueError, match=r"n_clusters=100 is larger than the number of samples \(90\)"):
        DHOGClusterer(**{**FAST, "n_clusters": 100}).fit(blobs[0])
    with pytest.raises(ValueError, match="sobel=True needs images"):
        DHOGClusterer(**FAST, heads=HeadOptions(sobel=True)).fit(blobs[0])


def test_sobel_images(digits):
    X = digits[0][:64].reshape(-1, 8, 8)
    est = DHOGClusterer(**{**FAST, "max_epochs": 1}, heads=HeadOptions(sobel=True)).fit(X)
    assert est.net_.module_.sobel is not None and est.predict(X).shape == (64,)


def test_auto_epochs_and_per_step_cosine(blobs):
    """max_epochs="auto" sizes training in steps; the lr anneals to 0 over all steps."""
    est = DHOGClusterer(**{**FAST, "max_epochs": "auto", "batch_size": 30})
    assert est._resolve_epochs(90) == 667                     # ceil(2000 / 3 steps per epoch)
    assert est._resolve_epochs(100_000) == 20                  # at least 20 epochs
    est.set_params(max_epochs=3).fit(blobs[0])
    assert est.n_epochs_ == 3
    assert est.net_.history[:, "train_batch_count"] == [3, 3, 3]   # full batches only
    lr = est.net_.optimizer_.param_groups[0]["lr"]
    assert lr == pytest.approx(0.0, abs=1e-12)                 # annealed per step, to 0


class _Blind(nn.Module):
    """A backbone that sees nothing: every sample gets the same features, so every
    head puts every sample into one cluster (a guaranteed collapse)."""

    out_features = 8

    def forward(self, x):
        return x.flatten(1)[:, :1] * 0 + torch.zeros(len(x), 8)


def _collapsing(**extra):
    return DHOGClusterer(**{**FAST, "backbone": _Blind(), "max_epochs": 2, **extra})


@pytest.mark.filterwarnings("ignore:backbone '_Blind' has no stages:UserWarning")
def test_warns_when_every_head_collapsed(blobs):
    with pytest.warns(UserWarning, match="every head collapsed.*Try more optimisation steps"):
        est = _collapsing().fit(blobs[0])
    assert not np.any(est.head_scores_ > 0)
    with pytest.warns(UserWarning, match=r"collapsed\); returning NaN"):
        assert np.isnan(est.score(blobs[0]))


@pytest.mark.filterwarnings("ignore:backbone '_Blind' has no stages:UserWarning")
def test_grid_search_does_not_silently_pick_a_collapsed_candidate(blobs):
    """Collapsed candidates score NaN: scikit-learn ranks them last and warns."""
    search = GridSearchCV(_collapsing(), {"backbone": [_Blind(), "auto"]}, cv=2)
    with pytest.warns(UserWarning):
        search.fit(blobs[0])
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[0]) and np.isfinite(scores[1])
    assert search.best_params_["backbone"] == "auto"


def test_warns_when_the_chosen_head_collapses_even_partly(fitted):
    """The warning's logic on a fitted model whose chosen head is healthy on two views
    (positive score): a clustering into 1 or 2 of 3 clusters, or with a cluster of a
    few images only, warns; one that uses every cluster evenly does not."""
    import copy
    import warnings

    est = copy.deepcopy(fitted)
    est.head_scores_ = np.array([0.0, 0.4, 0.2])
    est.best_head_ = 1
    n = len(est.labels_)
    est.labels_ = np.zeros_like(est.labels_)
    with pytest.warns(UserWarning, match=r"the chosen head 1 leaves 2 of n_clusters=3 "
                                         r"clusters empty.*Try more optimisation steps") as record:
        est._warn_if_collapsed()
    assert "every head collapsed" not in str(record[0].message)
    est.labels_ = np.arange(n) % 2                                 # 2 of 3 clusters
    with pytest.warns(UserWarning, match=r"leaves 1 of n_clusters=3 clusters empty"):
        est._warn_if_collapsed()
    est.labels_ = np.where(np.arange(n) < 2, 2, np.arange(n) % 2)  # cluster 2: two images
    with pytest.warns(UserWarning, match=r"1 of its clusters hold fewer than a tenth of an even "
                                         r"share .*smallest: 2"):
        est._warn_if_collapsed()
    est.labels_ = np.arange(n) % 3                                 # every cluster, evenly
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est._warn_if_collapsed()


def test_one_cluster_is_a_clear_error(blobs):
    with pytest.raises(ValueError, match=r"n_clusters=1 puts every sample in one cluster.*"
                                         r"use n_clusters >= 2"):
        DHOGClusterer(**{**FAST, "n_clusters": 1}).fit(blobs[0])


def test_unknown_backbone_name_and_backbones_without_stages(blobs, digits):
    """An unknown name is a clear error naming the supported backbones; a named
    backbone without stages (e.g. ImageClassifier's "lenet") is an error naming the
    staged ones; a module without stages works, with every head on its final
    features, and says so."""
    with pytest.raises(ValueError, match=r"'backbone' parameter of DHOGClusterer must be a str "
                                         r"among .*'convnet'.*Got 'no-such-net'"):
        DHOGClusterer(**{**FAST, "backbone": "no-such-net"}).fit(blobs[0])
    with pytest.raises(ValueError, match=r"backbone='lenet' has no stages.*use one of "
                                         r"\['convnet', 'mlp', 'resnet18', 'resnet20', 'resnet34'\]"):
        DHOGClusterer(**{**FAST, "backbone": "lenet"}).fit(digits[0][:40].reshape(-1, 8, 8))
    flat = nn.Sequential(nn.Linear(4, 16), nn.ReLU())
    with pytest.warns(UserWarning, match="backbone 'Sequential' has no stages.*no shallow-to-deep"):
        est = DHOGClusterer(**{**FAST, "backbone": flat}).fit(blobs[0])
    heads = est.net_.module_.heads
    assert not heads.staged and heads.early_stages == []
    f = heads.features(torch.zeros(2, 4))
    assert all(t is f[0] for t in f)                               # one shared feature tensor


def test_no_warning_for_a_healthy_fit(blobs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DHOGClusterer(**FAST).fit(blobs[0]).score(blobs[0])


@pytest.mark.slow
def test_quality_on_digits_at_defaults_beats_kmeans(digits):
    """DHOG at its defaults against k-means on the same 70/30 split of the 8x8 digits.

    Held-out accuracy of the unsupervised head choice (Hungarian mapping
    fitted on the training split), one thread, seed 0 (one default fit, about
    85 CPU s). Measured with these defaults (``python -m benchmarks.b2
    --cpu``, commit 5de8870, ``results/b2_clustering_cpu.json``), seeds 0-4:
    DHOG 0.867, 0.815, 0.824, 0.854, 0.807; k-means on pixels 0.778, 0.780,
    0.783, 0.781, 0.776; DHOG minus k-means +0.089, +0.035, +0.041, +0.073,
    +0.031. The margin asked here is the issue's target (+2 points); seed 0
    clears it by 7 points, so float differences between platforms do not
    decide the test.
    """
    X, y = digits
    X_tr, X_te, y_tr, y_te = train_test_split(X.reshape(-1, 8, 8), y, test_size=0.3,
                                              random_state=0, stratify=y)
    est = DHOGClusterer(device="cpu", random_state=0).fit(X_tr)
    mapping = cluster_label_mapping(y_tr, est.labels_)
    accuracy = float(np.mean([mapping.get(c, -1) for c in est.predict(X_te)] == y_te))
    km = KMeans(n_clusters=10, n_init=10, random_state=0).fit(X_tr.reshape(len(X_tr), -1))
    km_map = cluster_label_mapping(y_tr, km.labels_)
    km_accuracy = float(np.mean([km_map[c] for c in km.predict(X_te.reshape(len(X_te), -1))] == y_te))
    assert accuracy >= km_accuracy + QUALITY_MARGIN, (accuracy, km_accuracy)
    assert len(np.unique(est.labels_)) == 10
    assert est.n_epochs_ == 223 and est.best_head_ >= 1        # 2000 steps; not the shallowest head


@pytest.mark.slow
def test_push_escapes_a_colour_trap_paired_with_alpha_zero():
    """The thesis's claim on a small trap, at the default alpha: 8x8 digits on a background
    colour drawn independently of the digit, DHOG's default views (random channel order,
    grey with p = 0.5), 3 heads, 60 epochs (about 840 steps, ~37 CPU s a fit); DHOG
    against alpha=0, paired by seed (seeds 0-1, 4 fits).

    Measured (``python -m benchmarks.experiments.b2_colour_trap --seed 0 1 2 3 4 5 --alpha
    0 0.2 --out b2_colour_trap_calibration_alpha0.2``): digit accuracy of the chosen head
    (training images, Hungarian), DHOG minus alpha=0: +0.022, +0.060, +0.023, +0.040,
    +0.050, +0.170 (6 of 6; seeds 0-1 here: mean +0.041, min +0.022); the chosen head's NMI
    with the colour 0.37, 0.25 against 0.41, 0.53 for alpha=0 (seeds 0-1, mean 0.31 against
    0.47). At alpha=0.4 the push moves head 1 off the colour on every seed
    (NMI 0.01-0.08 against 0.43-0.81) but gains less (+0.051, 5 of 6;
    ``b2_colour_trap_calibration``).
    """
    from sklearn.datasets import load_digits
    from sklearn.metrics import normalized_mutual_info_score

    from sklproxy.datasets import make_colour_biased
    from sklproxy.metrics import cluster_accuracy

    X, y = load_digits(return_X_y=True)
    Xc, colour = make_colour_biased((X / 16.0).reshape(-1, 8, 8), y, kind="background",
                                    test_mode="independent", random_state=0)
    Xc = Xc.astype(np.float32)
    gains, colour_nmi = [], {"dhog": [], "iic": []}
    for seed in (0, 1):
        acc = {}
        for name, alpha in (("dhog", DHOGClusterer().alpha), ("iic", 0.0)):
            est = DHOGClusterer(n_heads=3, max_epochs=60, alpha=alpha, device="cpu",
                                random_state=seed).fit(Xc)
            acc[name] = cluster_accuracy(y, est.labels_)
            colour_nmi[name].append(normalized_mutual_info_score(colour, est.labels_))
        gains.append(acc["dhog"] - acc["iic"])
    assert min(gains) >= 0.01 and np.mean(gains) >= 0.02, gains
    assert np.mean(colour_nmi["dhog"]) <= np.mean(colour_nmi["iic"]) - 0.05, colour_nmi
