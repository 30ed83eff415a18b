"""The training callbacks: stage-labelled progress output and the divergence guard."""

import re

import pytest
import torch

from sklproxy._training import DeviceNet, DivergenceGuard, TensorPairDataset
from sklproxy.debias import LADDebiaser, LatentClassifierOptions, VQVAEOptions
from sklproxy.exceptions import DivergenceError, NonFiniteLossError
from sklproxy.hashing import DDTLHasher

ANSI = re.compile(r"\x1b\[[0-9;]*m")

FAST = dict(n_path_bits=3, max_epochs=2, batch_size=32, width=8, device="cpu", random_state=0)
# the fixtures ``images``, ``hasher`` and ``lad`` (tests/conftest.py) are fitted with these
LAD_FAST = dict(vqvae=VQVAEOptions(n_codes=8, code_dim=4, width=8),
                latent_classifier=LatentClassifierOptions(max_epochs=2), max_epochs=2,
                batch_size=32, device="cpu", random_state=0)


# ------------------------------------------------------------------ progress output
def test_verbose_names_the_stage_and_writes_no_colour_when_piped(images, capsys):
    X, y = images
    DDTLHasher(**{**FAST, "verbose": 1}).fit(X, y)
    out = capsys.readouterr()
    assert "[DDTLHasher] 2 epochs on 160 samples, device cpu" in out.out
    # header, table head, 2 rows, and the fit-time estimate after the first steps
    assert "train_loss" in out.out and len(out.out.strip().splitlines()) == 6
    assert re.search(r"\[DDTLHasher\] estimated fit time: about \d+ s \(10 steps at [\d.e-]+ s\)",
                     out.out)
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




def test_fit_time_estimate_once_and_only_with_verbose(capsys):
    import time

    from sklproxy._training import FitTimeEstimate

    class Net:  # what the callback reads of a net
        verbose, max_epochs, stage = 1, 3, "tiny"

        def get_iterator(self, X, training):
            return range(10)

    est, net = FitTimeEstimate(n_steps=2), Net()
    est.on_train_begin(net, X="data")
    for _ in range(30):
        est.on_batch_end(net, training=True)
        time.sleep(0.001)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("[tiny] estimated fit time: about ")
    assert "(30 steps at " in lines[0]
    net.verbose = 0
    est.on_train_begin(net, X="data")
    for _ in range(5):
        est.on_batch_end(net, training=True)
    assert capsys.readouterr().out == ""
