"""Device resolution and seeding shared by every estimator."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from sklearn.utils import check_random_state

from .._config import resolved_n_threads


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn the ``device`` parameter into a concrete :class:`torch.device`.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise. Any
    string that :class:`torch.device` understands (``"cpu"``, ``"cuda"``,
    ``"cuda:1"``, ``"mps"``) or a :class:`torch.device` is accepted. A device
    this machine does not have raises a ``ValueError`` that names it and
    says what to use instead.

    Examples
    --------
    >>> from sklproxy.utils import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, str):
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            resolved = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"device={device!r} is not a valid torch device; use 'auto', "
                "'cpu', 'cuda' or 'cuda:<index>'."
            ) from exc
    else:
        raise TypeError(
            f"device must be a string or a torch.device, got {type(device).__name__}."
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(resolved)!r} was requested but CUDA is not available on "
            "this machine; use device='auto' or device='cpu'."
        )
    if resolved.type == "mps" and not _mps_available():
        raise ValueError(
            f"device={str(resolved)!r} was requested but MPS (the GPU of Apple "
            "silicon) is not available on this machine or in this build of torch; "
            "use device='auto' or device='cpu'."
        )
    if resolved.type not in ("cpu", "cuda", "mps"):
        try:
            torch.empty(0, device=resolved)
        except Exception as exc:  # torch raises RuntimeError, AssertionError, NotImplementedError...
            raise ValueError(
                f"device={str(resolved)!r} is not usable on this machine ({exc}); "
                "use device='auto', 'cpu' or 'cuda'."
            ) from exc
    return resolved


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_from_random_state(random_state: None | int | np.random.RandomState) -> int:
    """Draw the integer seed that drives every torch generator of one fit.

    An int gives the same seed every time (same bits on CPU); ``None`` draws
    from NumPy's global generator, as scikit-learn estimators do.
    """
    rng = check_random_state(random_state)
    return int(rng.randint(0, 2**31 - 1))


@contextlib.contextmanager
def torch_seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run a block with torch's global generators seeded, restoring them after.

    Module initialisation draws from torch's global generator; forking it keeps
    the user's own random stream untouched by our fits.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def cpu_threads(device: torch.device | str | None) -> Iterator[None]:
    """Run a block with torch's intra-op threads set to sklproxy's ``n_threads`` (CPU only).

    The number of threads in effect before is restored afterwards. On other
    devices (and for ``device=None``) nothing changes.
    """
    if device is None or torch.device(device).type != "cpu":
        yield
        return
    n, old = resolved_n_threads(), torch.get_num_threads()
    if n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def fit_context(seed: int, device: torch.device) -> Iterator[None]:
    """What every training block runs in: :func:`torch_seeded` and :func:`cpu_threads`."""
    with torch_seeded(seed, device), cpu_threads(device):
        yield


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen
