"""Conventions every estimator shares, implemented once in sklproxy.utils (issue 13).

Progress output, set_output, tags, get_feature_names_out, lean pickles, the
divergence guard, float32 range, and the error messages that name the
parameter and the fix.
"""

import io
import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sklproxy.cluster import DHOGClusterer
from sklproxy.debias import ImageClassifier, LADDebiaser
from sklproxy.hashing import CrPCA, DDTLHasher
from sklproxy.utils import (
    DeviceNet,
    DivergenceError,
    DivergenceGuard,
    NonFiniteLossError,
    TensorPairDataset,
    resolve_device,
    validate_input,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")
FAST = dict(n_path_bits=3, max_epochs=2, batch_size=32, width=8, device="cpu", random_state=0)
LAD_FAST = dict(n_codes=8, code_dim=4, width=8, walk_steps=2, max_epochs=2, classifier_epochs=2,
                batch_size=32, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def images(digits):
    X, y = digits
    return (X[:160] / 16.0).reshape(-1, 8, 8).astype(np.float32), y[:160]


@pytest.fixture(scope="module")
def hasher(images):
    X, y = images
    return DDTLHasher(**FAST).fit(X, y)


@pytest.fixture(scope="module")
def lad(images):
    X, y = images
    return LADDebiaser(**LAD_FAST).fit(X, y)


# ------------------------------------------------------------------ progress output
def test_verbose_names_the_stage_and_writes_no_colour_when_piped(images, capsys):
    X, y = images
    DDTLHasher(**{**FAST, "verbose": 1}).fit(X, y)
    out = capsys.readouterr()
    assert "[DDTLHasher] 2 epochs on 160 samples, device cpu" in out.out
    assert "train_loss" in out.out and len(out.out.strip().splitlines()) == 5  # header, table head, 2 rows
    assert not ANSI.search(out.out)
    assert out.err == ""  # no progress bar when stderr is not a terminal


def test_lad_names_both_stages(images, capsys):
    X, y = images
    LADDebiaser(**{**LAD_FAST, "verbose": 1}).fit(X, y)
    out = capsys.readouterr().out
    first = out.index("[LADDebiaser, stage 1/2: VQ-VAE]")
    second = out.index("[LADDebiaser, stage 2/2: latent classifier f]")
    assert first < second and not ANSI.search(out)


def test_colour_only_when_forced_or_on_a_terminal(images, capsys, monkeypatch):
    X, y = images
    monkeypatch.setenv("FORCE_COLOR", "1")
    DDTLHasher(**{**FAST, "verbose": 1}).fit(X, y)
    assert ANSI.search(capsys.readouterr().out)  # skorch marks the best loss in colour


def test_progress_bar_with_verbose_2(images, capsys):
    X, y = images
    DDTLHasher(**{**FAST, "verbose": 2}).fit(X, y)
    err = capsys.readouterr().err
    assert "DDTLHasher epoch 1" in err and "DDTLHasher epoch 2" in err
    assert "0/5" in err  # skorch's tqdm bar over 160 / 32 batches, erased at the epoch's end


def test_verbose_0_is_silent(images, capsys):
    X, y = images
    DDTLHasher(**FAST).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


# ------------------------------------------------------------------ set_output, names, tags
def test_lad_set_output_default_keeps_images_pandas_flattens(images, lad):
    pd = pytest.importorskip("pandas")
    X, _ = images
    est = clone(lad).set_output(transform="default")
    assert est is not None
    assert lad.transform(X[:4]).shape == (4, 8, 8)  # the input's layout
    assert lad.transform(X[:4, None]).shape == (4, 1, 8, 8)
    frame = clone(lad).set_params().fit(*images).set_output(transform="pandas").transform(X[:4])
    assert isinstance(frame, pd.DataFrame) and frame.shape == (4, 64)
    assert list(frame.columns[:2]) == ["x0", "x1"]


def test_pipeline_with_lad_accepts_set_output(images):
    pd = pytest.importorskip("pandas")
    X, y = images
    pipe = make_pipeline(LADDebiaser(**LAD_FAST),
                         ImageClassifier(backbone="convnet", width=4, max_epochs=1,
                                         image_shape=(1, 8, 8), device="cpu", random_state=0))
    pipe.set_output(transform="pandas")
    assert isinstance(pipe[:-1].fit_transform(X, y), pd.DataFrame)
    assert pipe.fit(X, y).predict(X[:3]).shape == (3,)


def test_hasher_set_output_pandas_names_the_bits(images, hasher):
    pd = pytest.importorskip("pandas")
    X, _ = images
    frame = clone(hasher).fit(*images).set_output(transform="pandas").transform(X[:2])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["class_bit0", "class_bit1", "class_bit2", "class_bit3",
                                   "path_bit0", "path_bit1", "path_bit2"]


@pytest.mark.parametrize("est", [DDTLHasher(), CrPCA(), DHOGClusterer(), LADDebiaser(),
                                 ImageClassifier()], ids=type)
def test_three_d_array_tag(est):
    assert est.__sklearn_tags__().input_tags.three_d_array


@pytest.mark.parametrize("name", ["hasher", "lad", "crpca"])
def test_get_feature_names_out_rejects_wrong_input_features(name, images, request):
    X, y = images
    est = CrPCA(n_path_bits=2).fit(X, y) if name == "crpca" else request.getfixturevalue(name)
    assert len(est.get_feature_names_out()) == est.transform(X[:1]).reshape(1, -1).shape[1]
    with pytest.raises(ValueError, match="input_features has 3 names .* 64 features"):
        est.get_feature_names_out(["a", "b", "c"])
    names = [f"px{i}" for i in range(64)]
    assert len(est.get_feature_names_out(names)) > 0  # the right length is accepted


def test_get_feature_names_out_checks_names_seen_in_fit():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.RandomState(0).rand(40, 4), columns=list("abcd"))
    est = CrPCA(n_path_bits=2).fit(X, np.arange(40) % 2)
    with pytest.raises(ValueError, match="does not match feature_names_in_"):
        est.get_feature_names_out(list("abce"))


# ------------------------------------------------------------------ pickles
def _weights_bytes(module):
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return len(buf.getvalue())


def test_pickle_leaves_out_optimizer_state_and_second_module_copy(images, hasher):
    """Before: 6.0x the weights (Adam moments twice, the module twice); now 1.01x on a
    16k-parameter model (1.2x on this tiny one, where the history and classes count)."""
    X, y = images
    data = pickle.dumps(hasher)
    assert len(data) < 1.5 * _weights_bytes(hasher.net_.module_)
    again = pickle.loads(data)
    assert again.net_.module is again.net_.module_
    assert len(again.net_.optimizer_.state) == 0  # a fresh optimizer
    np.testing.assert_array_equal(again.transform(X), hasher.transform(X))
    # the net can still train: partial_fit restarts Adam's moments
    again.net_.partial_fit(TensorPairDataset(torch.from_numpy(X[:, None]), torch.from_numpy(y)), None)
    assert len(again.net_.history) == 2 * hasher.max_epochs
    # the fitted estimator itself is untouched by pickling
    assert len(hasher.net_.optimizer_.state) > 0


def test_pickle_keeps_optimizer_state_when_asked(images):
    X, y = images
    est = DDTLHasher(**FAST).fit(X, y)
    lean = len(pickle.dumps(est))
    est.net_.pickle_optimizer = True
    assert len(pickle.dumps(est)) > lean + 2 * _weights_bytes(est.net_.module_)  # Adam's 2 moments
    again = pickle.loads(pickle.dumps(est))
    assert len(again.net_.optimizer_.state) == len(est.net_.optimizer_.state) > 0


def test_cuda_fitted_lad_unpickles_on_cpu(images, lad):
    """Both of LAD's nets, saved as if fitted on CUDA, load on a CPU-only machine."""
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    X, _ = images
    est = pickle.loads(pickle.dumps(lad))
    expected = est.transform(X)
    est.net_.device = est.latent_net_.device = "cuda"
    est.device_ = torch.device("cuda")
    with pytest.warns(UserWarning, match="CUDA"):
        again = pickle.loads(pickle.dumps(est))
    assert again.device_ == torch.device("cpu")
    np.testing.assert_array_equal(again.transform(X), expected)


# ------------------------------------------------------------------ divergence guard
def test_finite_but_exploding_loss_stops_with_clear_error(images):
    """lr=10: DDTL's epoch loss reached 1281 from a start of 2.7 and gave garbage codes."""
    X, y = images
    with pytest.raises(DivergenceError, match=r"diverged.*lr=10.*lower it"):
        DDTLHasher(**{**FAST, "lr": 10.0}).fit(X, y)


def _tiny_net(**kwargs):
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    net = DeviceNet(module, criterion=torch.nn.CrossEntropyLoss, max_epochs=2, batch_size=32,
                    train_split=None, device="cpu", callbacks=[("guard", DivergenceGuard())],
                    **kwargs)
    X = torch.rand(64, 8, 8)
    return net.fit(TensorPairDataset(X, torch.arange(64) % 3), None)


def test_non_finite_weights_stop_training():
    net = _tiny_net()
    with torch.no_grad():
        net.module_[1].weight[0, 0] = float("inf")
    with pytest.raises(DivergenceError, match="Weights of DeviceNet became NaN or infinite"):
        dict(net.callbacks_)["guard"].on_epoch_end(net)


def test_rise_check_threshold_and_switch(monkeypatch):
    net = _tiny_net(stage="tiny")
    guard = dict(net.callbacks_)["guard"]
    start = net.history[0]["batches"][0]["train_loss"]
    for row in net.history[-1]["batches"]:
        row["train_loss"] = start + 2.5 * max(abs(start), 1.0)   # 3.5x the start
    with pytest.raises(DivergenceError, match="Training of tiny diverged"):
        guard.on_epoch_end(net)
    net.max_loss_rise = 3.0
    guard.on_epoch_end(net)  # within the net's own tolerance
    net.max_loss_rise = None
    guard.on_epoch_end(net)  # check switched off
    net.history[-1]["batches"][0]["train_loss"] = float("nan")
    with pytest.raises(NonFiniteLossError, match="became nan"):
        guard.on_epoch_end(net)


# ------------------------------------------------------------------ validation and messages
class _Est:
    pass


def test_values_beyond_float32_are_refused(hasher, images):
    X, _ = images
    big = X.astype(np.float64) * 1e40
    with pytest.raises(ValueError, match="beyond the float32 range.*Rescale X"):
        hasher.transform(big)
    from sklearn.base import BaseEstimator
    est = BaseEstimator()
    assert validate_input(est, np.full((3, 2), 3e38), reset=True).dtype == np.float32


def test_five_d_input_message(hasher):
    with pytest.raises(ValueError, match=r"X has 5 dimensions .* 4-D images \(n_samples, C, H, W\)"):
        DDTLHasher(**FAST).fit(np.zeros((4, 1, 1, 8, 8)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="X has 5 dimensions"):
        hasher.transform(np.zeros((2, 1, 1, 8, 8)))


def test_multilabel_y_with_other_values_message(images):
    X, _ = images
    Y = np.zeros((len(X), 3), dtype=int)
    Y[:, 0], Y[0, 1], Y[1, 2] = 1, 2, 1
    with pytest.raises(ValueError, match=r"multi-label 0/1 indicator .* also holds \[2\]"):
        DDTLHasher(**FAST).fit(X, Y)
    Y = np.zeros((len(X), 3), dtype=int)
    Y[0, 1] = Y[1, 0] = 2  # two values: scikit-learn calls it a multi-label indicator
    with pytest.raises(ValueError, match=r"values other than 0/1 \(\[2\]\)"):
        DDTLHasher(**FAST).fit(X, Y)


def test_two_d_y_for_single_label_estimators(images):
    X, y = images
    with pytest.raises(ValueError, match=r"takes 1-D class labels .* np.ravel"):
        LADDebiaser(**LAD_FAST).fit(X, np.c_[y, y])


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_mps_without_mps_message(images):
    with pytest.raises(ValueError, match="device='mps'.*MPS .* not available.*device='cpu'"):
        resolve_device("mps")
    X, y = images
    with pytest.raises(ValueError, match="device='mps'"):
        DDTLHasher(**{**FAST, "device": "mps"}).fit(X, y)


def test_unusable_device_message():
    with pytest.raises(ValueError, match="device='xpu' is not usable on this machine"):
        resolve_device("xpu") if not hasattr(torch, "xpu") or not torch.xpu.is_available() \
            else pytest.skip("this machine has an XPU")
