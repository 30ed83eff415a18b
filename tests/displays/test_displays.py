"""sklproxy.displays on the Agg backend: structure (axes, artists, numbers), not pixels."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sklproxy.cluster import DHOGClusterer
from sklproxy.debias import LADDebiaser, LatentClassifierOptions, VQVAEOptions
from sklproxy.displays import (
    ClusterGridDisplay,
    DebiasingDisplay,
    GradientRatioDisplay,
    HeadAccuracyDisplay,
    LeafErrorDisplay,
    RetrievalDisplay,
    SearchResultsDisplay,
    TreeNodeDisplay,
)
from sklproxy.hashing import CrPCA
from sklproxy.metrics import map_scorer

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return (X[:300] / 16.0).reshape(-1, 8, 8), y[:300]


@pytest.fixture(scope="module")
def crpca(data):
    X, y = data
    return CrPCA(n_path_bits=3).fit(X, y)


# ------------------------------------------------------------------ retrieval
def test_retrieval_from_estimator(crpca, data):
    X, y = data
    disp = RetrievalDisplay.from_estimator(crpca, X[:3], X, y_query=y[:3], y_db=y, n_neighbors=4)
    assert disp.axes_.shape == (3, 5) and disp.images_.shape == (3, 5)
    assert all(isinstance(im, AxesImage) for im in disp.images_.ravel())
    assert disp.hits_.shape == (3, 4) and disp.hits_.dtype == bool
    # the first neighbour of a database item queried against itself is itself
    again = RetrievalDisplay.from_estimator(crpca, X[:2], X[:2], n_neighbors=1)
    np.testing.assert_allclose(again.neighbor_images[:, 0], again.query_images)
    assert again.hits_ is None


def test_retrieval_from_predictions_into_given_axes_and_colour_images():
    X = np.random.RandomState(0).rand(5, 3, 6, 6)
    fig, axes = plt.subplots(2, 3)
    disp = RetrievalDisplay.from_predictions(X[:2], X, [[0, 1], [2, 3]], ax=axes)
    assert disp.figure_ is fig and disp.axes_[1, 2] is axes[1, 2]
    assert disp.images_[0, 0].get_array().shape == (6, 6, 3)
    with pytest.raises(ValueError, match="neighbors must have shape"):
        RetrievalDisplay.from_predictions(X[:2], X, [0, 1])
    with pytest.raises(ValueError, match="this grid needs 2 x 3"):
        RetrievalDisplay.from_predictions(X[:2], X, [[0, 1], [2, 3]], ax=axes[0])


def test_flattened_images_need_a_square_or_image_shape():
    X = np.random.RandomState(0).rand(4, 12)
    with pytest.raises(ValueError, match="image_shape"):
        RetrievalDisplay.from_predictions(X[:1], X, [[1]])
    disp = RetrievalDisplay.from_predictions(X[:1], X, [[1]], image_shape=(3, 4))
    assert disp.images_[0, 1].get_array().shape == (3, 4)


# ------------------------------------------------------------------ tree
def test_tree_nodes_from_estimator(crpca, data):
    X, y = data
    disp = TreeNodeDisplay.from_estimator(crpca, X, y=y, depth=2, n_images=4)
    assert disp.nodes == ["", "0", "1", "00", "01", "10", "11"]
    assert disp.counts[0] == len(X) and disp.counts[1] + disp.counts[2] == len(X)
    assert disp.counts[3:].sum() == len(X)
    assert disp.axes_.shape == (7, 5) and len(disp.texts_) == 7
    assert "root" in disp.texts_[0].get_text() and "%" in disp.texts_[0].get_text()
    with pytest.raises(ValueError, match="depth=5"):
        TreeNodeDisplay.from_estimator(crpca, X, depth=5)


class _Hasher:
    """The hasher interface the displays use (transform, predict, n_class_bits_), from CrPCA."""

    def __init__(self, crpca):
        self.crpca, self.n_class_bits_ = crpca, crpca.n_class_bits_

    def transform(self, X):
        return self.crpca.transform(X)

    def predict(self, X):
        return self.crpca.classifier_.predict(X.reshape(len(X), -1))


def test_leaf_errors_from_estimator(crpca, data):
    X, y = data
    disp = LeafErrorDisplay.from_estimator(_Hasher(crpca), X, y, depth=2, max_leaves=3)
    assert len(disp.leaves) == 3 and all(len(leaf) == 2 for leaf in disp.leaves)
    assert list(disp.n_samples) == sorted(disp.n_samples, reverse=True)
    heights = [bar.get_width() for bar in disp.bars_["wrong"]]
    np.testing.assert_array_equal(heights, disp.n_errors)
    assert isinstance(disp.ax_, Axes) and disp.ax_.get_xlabel() == "items in the leaf"
    with pytest.raises(ValueError, match="path_bits must be a 2-D array of 0/1"):
        LeafErrorDisplay.from_predictions([0, 1], [0, 1], [[0, 2], [1, 1]])


# ------------------------------------------------------------------ clusters
@pytest.fixture(scope="module")
def dhog(data):
    X, _ = data
    return DHOGClusterer(n_clusters=4, n_heads=2, n_repeats=2, width=4, max_epochs=1,
                         device="cpu", random_state=0).fit(X)


def test_cluster_grid_from_estimator(dhog, data):
    X, _ = data
    disp = ClusterGridDisplay.from_estimator(dhog, X, n_images=3)
    assert disp.counts.sum() == len(X) and disp.axes_.shape[1] == 4
    assert disp.figure_._suptitle.get_text() == f"selected head {dhog.best_head_}"
    head = ClusterGridDisplay.from_estimator(dhog, X, head=1, max_clusters=2, n_images=2)
    assert len(head.clusters) <= 2 and head.figure_._suptitle.get_text() == "head 1"


def test_head_accuracy_from_estimator(dhog, data):
    X, y = data
    fig, ax = plt.subplots()
    disp = HeadAccuracyDisplay.from_estimator(dhog, X, y, ax=ax)
    assert disp.ax_ is ax and len(disp.bars_) == 2
    assert np.all((disp.accuracies > 0) & (disp.accuracies <= 1))
    np.testing.assert_allclose(disp.score_line_.get_ydata(), dhog.head_scores_)
    assert disp.bars_[dhog.best_head_].get_linewidth() == 2


# ------------------------------------------------------------------ debiasing
def test_debiasing_from_estimator_with_gates(data):
    X, y = data
    with warnings.catch_warnings():  # grey digits: maybe no spurious code, which fit says
        warnings.simplefilter("ignore", UserWarning)
        lad = LADDebiaser(vqvae=VQVAEOptions(n_codes=8, code_dim=4, width=8), max_epochs=1,
                          latent_classifier=LatentClassifierOptions(max_epochs=1), device="cpu",
                          random_state=0).fit(X[:120], y[:120])
    disp = DebiasingDisplay.from_estimator(lad, X, y=y, n_images=5)
    assert disp.images_.shape == (2, 5) and disp.axes_[1, 0].get_ylabel() == "after"
    names = [t.get_text() for t in disp.gate_ax_.get_yticklabels()]
    assert "f entropy / max, after" in names and "f accuracy after" in names
    assert "colour tells class, after" in names
    assert all(0 <= bar.get_width() <= 1 for bar in disp.gate_bars_)


def test_debiasing_from_predictions_without_gates():
    X = np.random.RandomState(0).rand(3, 8, 8)
    disp = DebiasingDisplay.from_predictions(X, X[::-1])
    assert disp.gate_ax_ is None and disp.images_.shape == (2, 3)
    with pytest.raises(ValueError, match="same shape"):
        DebiasingDisplay.from_predictions(X, X[:, :4])


# ------------------------------------------------------------------ gradient ratio
def test_gradient_ratio_plot_and_training():
    disp = GradientRatioDisplay([1, 10, 20, 30], [4.0, 2.0, 0.9, 0.5], accuracy=[0.1, 0.5, 0.4, 0.2])
    disp.plot()
    assert disp.crossing_ == 20 and disp.ax_.get_yscale() == "log"
    assert disp.threshold_line_.get_ydata()[0] == 1.0 and disp.accuracy_line_ is not None
    import torch

    rng = np.random.RandomState(0)
    X = rng.rand(40, 1, 4, 4).astype(np.float32)
    y = rng.randint(0, 2, 40)
    spurious = np.zeros((1, 4, 4), dtype=bool)
    spurious[0, 0, :2] = True
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    trained = GradientRatioDisplay.from_training(model, X, y, ~spurious, spurious, n_iterations=6,
                                                 every=3, batch_size=8, X_test=X, y_test=y)
    assert trained.iterations.tolist() == [1, 3, 6] and np.all(trained.ratios > 0)
    assert len(trained.accuracy) == 3


# ------------------------------------------------------------------ search results
def test_search_results_from_estimator(data):
    X, y = data
    search = GridSearchCV(CrPCA(), {"n_path_bits": [1, 2]}, cv=2,
                          scoring=map_scorer(k=20)).fit(X[:150], y[:150])
    disp = SearchResultsDisplay.from_estimator(search, x="n_path_bits")
    assert len(disp.lines_) == 1
    np.testing.assert_allclose(disp.lines_[0].get_ydata(), search.cv_results_["mean_test_score"])
    assert disp.best[0] == search.best_params_["n_path_bits"]
    assert disp.best_marker_.get_ydata()[0] == pytest.approx(search.best_score_)
    with pytest.raises(ValueError, match="'alpha' is not a searched parameter"):
        SearchResultsDisplay.from_estimator(search, x="alpha")


def test_search_results_with_hue_and_categorical_x():
    results = {"param_alpha": np.ma.array([0.5, 1.0, 0.5, 1.0]),
               "param_kind": np.ma.array(["a", "a", "b", "b"], dtype=object),
               "mean_test_score": [0.5, 0.6, 0.7, 0.65], "std_test_score": [0.1] * 4,
               "rank_test_score": [4, 3, 1, 2]}
    disp = SearchResultsDisplay.from_cv_results(results, x="kind", hue="alpha")
    assert len(disp.lines_) == 2 and disp.best == ("b", 0.5, 0.7)
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["a", "b"]


# ------------------------------------------------------------------ matplotlib is optional
def test_clear_error_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install sklproxy\[plot\]"):
        GradientRatioDisplay([1], [1.0]).plot()


# ------------------------------------------------------------------ class names, ax= everywhere
def test_class_names_in_every_display_that_shows_labels(crpca, data):
    X, y = data
    names = [f"digit-{k}" for k in range(10)]
    retrieval = RetrievalDisplay.from_estimator(crpca, X[:2], X, y_query=y[:2], y_db=y,
                                                n_neighbors=2, display_labels=names)
    assert retrieval.axes_[0, 0].get_title() == f"query digit-{y[0]}"
    assert retrieval.axes_[0, 1].get_title().startswith("digit-")
    tree = TreeNodeDisplay.from_estimator(crpca, X, y=y, depth=1, n_images=2, display_labels=names)
    assert "digit-" in tree.texts_[0].get_text()
    grid = ClusterGridDisplay.from_predictions(y, X, y=y, n_images=2, display_labels=names)
    assert grid.majority[0] == ("digit-0", 1.0) and "digit-0: 100%" in grid.texts_[0].get_text()
    deb = DebiasingDisplay.from_predictions(X[:3], X[:3], y=y[:3],
                                            display_labels={k: n for k, n in enumerate(names)})
    assert deb.axes_[0, 0].get_title() == f"digit-{y[0]}"
    with pytest.raises(ValueError, match="display_labels has 2 names but a label is 5"):
        RetrievalDisplay.from_predictions(X[:1], X, [[0]], y_query=[5], y_db=y,
                                          display_labels=["a", "b"])


def test_retrieval_takes_a_fitted_index(crpca, data):
    from sklproxy.neighbors import HammingIndex

    X, y = data
    index = HammingIndex(ranking="hamming").fit(crpca.transform(X))
    disp = RetrievalDisplay.from_estimator(crpca, X[:2], X, index=index, n_neighbors=3)
    expected = index.kneighbors(crpca.transform(X[:2]), n_neighbors=3, return_distance=False)
    np.testing.assert_allclose(disp.neighbor_images[1, 2],
                               RetrievalDisplay.from_predictions(X[:2], X, expected)
                               .neighbor_images[1, 2])
    with pytest.raises(ValueError, match="index holds 300 codes but X_db has 10 images"):
        RetrievalDisplay.from_estimator(crpca, X[:2], X[:10], index=index)
    with pytest.raises(TypeError, match="fitted HammingIndex"):
        RetrievalDisplay.from_estimator(crpca, X[:2], X, index="not an index")


@pytest.mark.parametrize("make", [
    lambda X: DebiasingDisplay.from_predictions(X[:3], X[:3], gates={"g": 0.5}, ax=_one_ax()),
    lambda X: RetrievalDisplay.from_predictions(X[:2], X, [[0, 1], [2, 3]], ax=_one_ax()),
    lambda X: ClusterGridDisplay.from_predictions([0, 1] * 5, X[:10], n_images=2, ax=_one_ax()),
    lambda X: TreeNodeDisplay.from_predictions(np.eye(10, 2, dtype=int), X[:10], depth=1,
                                               n_images=2, ax=_one_ax()),
])
def test_grid_displays_divide_one_given_axes(make, data):
    X, _ = data
    disp = make(X)
    assert disp.figure_ is plt.gcf() and disp.axes_.ndim == 2
    assert all(a.figure is disp.figure_ for a in disp.axes_.ravel())


def _one_ax():
    fig = plt.figure()
    return fig.add_subplot(111)


def test_debiasing_display_into_an_array_of_axes(data):
    X, _ = data
    fig, axes = plt.subplots(2, 4)
    disp = DebiasingDisplay.from_predictions(X[:3], X[:3], gates={"g": 0.5}, ax=axes)
    assert disp.axes_.shape == (2, 3) and disp.gate_ax_ is axes[0, 3]
    with pytest.raises(ValueError, match="this grid needs 2 x 4"):
        DebiasingDisplay.from_predictions(X[:3], X[:3], gates={"g": 0.5}, ax=axes[:, :3])


def test_gradient_ratio_title_without_a_crossing():
    disp = GradientRatioDisplay([1, 10, 20], [3.0, 2.0, 1.5]).plot()
    assert disp.crossing_ is None
    assert disp.ax_.get_title() == "GR stays above 1 for 20 iterations"
