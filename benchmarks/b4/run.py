"""B4's runners: sklproxy's fit, a minimal PyTorch loop, a default skorch net; timed side by side."""

from __future__ import annotations

import statistics

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet

from sklproxy.hashing import DDTLHasher
from sklproxy.hashing._net import DDTLModule
from sklproxy.nn import ImageAugment, Standardize, build_backbone, leaf_log_probs, nt_xent

from .._data import load_fmnist
from .._runner import Job, timed

PARTS = ("throughput",)


def ddtl_loss(class_logits, node_logits, y, beta, tau):
    n = len(y)
    z = leaf_log_probs(node_logits).exp()
    return (F.cross_entropy(class_logits.float(), torch.cat([y, y]))
            + beta * nt_xent(z[:n], z[n:], tau, y))


def make_module(X, cfg):
    return DDTLModule(Standardize.fit(torch.from_numpy(X), per_channel=True),
                      build_backbone(cfg["backbone"], X.shape[1:], cfg["width"]), 10, 12)


def minimal_loop(X, y, cfg, device, epochs):
    """The practical limit: data on device, index slices, no per-step host sync."""
    torch.manual_seed(0)
    model = make_module(X, cfg).to(device)
    if device.type == "cuda":  # NHWC convolutions, as a careful hand-written loop would use
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    aug = ImageAugment(hflip=0.5)
    Xd, yd = torch.from_numpy(X).to(device), torch.from_numpy(y).long().to(device)
    amp = device.type == "cuda"
    bs = cfg["batch_size"]
    for _ in range(epochs):
        perm = torch.randperm(len(Xd), device=device)
        for i in range(0, len(Xd), bs):
            idx = perm[i:i + bs]
            xb, yb = Xd[idx], yd[idx]
            views = torch.cat([aug(xb), aug(xb)])
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                c, u = model(views)
            loss = ddtl_loss(c, u, yb, 0.1, 0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model


class PlainDDTLNet(NeuralNet):
    """A user's skorch net: default DataLoader over CPU arrays, float32, same loss."""

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        xb, yb = batch
        xb, yb = xb.to(self.device), yb.to(self.device).long()
        aug = ImageAugment(hflip=0.5)
        c, u = self.infer(torch.cat([aug(xb), aug(xb)]))
        loss = ddtl_loss(c, u, yb, 0.1, 0.1)
        loss.backward()
        return {"loss": loss, "y_pred": (c, u)}


def default_skorch(X, y, cfg, device, epochs):
    torch.manual_seed(0)
    net = PlainDDTLNet(make_module(X, cfg), criterion=torch.nn.Identity,
                       optimizer=torch.optim.Adam, lr=1e-3, max_epochs=epochs,
                       batch_size=cfg["batch_size"], train_split=None, device=str(device),
                       iterator_train__shuffle=True, verbose=0)
    return net.fit(X, y.astype(np.int64))


def sklproxy_fit(X, y, cfg, device, epochs):
    return DDTLHasher(n_path_bits=12, beta=0.1, temperature=0.1, max_epochs=epochs,
                      batch_size=cfg["batch_size"], lr=1e-3, backbone=cfg["backbone"],
                      width=cfg["width"], augment=ImageAugment(hflip=0.5), device=device,
                      random_state=0).fit(X, y)


RUNNERS = {"sklproxy DDTLHasher.fit": sklproxy_fit, "minimal PyTorch loop": minimal_loop,
           "default skorch + CPU DataLoader": default_skorch}


def config(quick: bool, epochs: int | None = None) -> tuple[dict, int, tuple]:
    """``(model config, epochs per timed fit, (n_train, n_test) to load)``."""
    if quick:
        return dict(backbone="convnet", width=16, batch_size=256), epochs or 1, (2048, 1)
    return dict(backbone="resnet18", width=64, batch_size=512), epochs or 2, (None, None)


def throughput_work(quick: bool, repeats: int, epochs: int | None, job: Job, save) -> dict:
    """Warm every runner up, then time them interleaved ``repeats`` times."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg, epochs, sizes = config(quick, epochs)
    X, y, _, _ = load_fmnist(*sizes)
    for fn in RUNNERS.values():  # warm-up: kernels, allocator, cuDNN autotune
        fn(X[:1024], y[:1024], cfg, device, 1)
    seconds: dict[str, list[float]] = {name: [] for name in RUNNERS}
    for _ in range(repeats):  # interleaved, so drift hits every runner alike
        for name, fn in RUNNERS.items():
            seconds[name].append(timed(fn, X, y, cfg, device, epochs)[1])
    ips = {name: len(X) * epochs / statistics.median(s) for name, s in seconds.items()}
    ours = ips["sklproxy DDTLHasher.fit"]
    ratios = {"fit_time_over_minimal_loop": ips["minimal PyTorch loop"] / ours,
              "speedup_over_default_skorch": ours / ips["default skorch + CPU DataLoader"]}
    return {"config": cfg, "epochs": epochs, "n_images": len(X), "seconds": seconds,
            "images_per_second": ips, **ratios}
