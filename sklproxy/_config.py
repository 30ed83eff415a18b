"""Global configuration of sklproxy: :func:`get_config`, :func:`set_config`, :func:`config_context`.

Like scikit-learn's own configuration, it holds settings that belong to
the machine rather than to a model, so they are not estimator parameters.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["config_context", "get_config", "set_config"]

_DEFAULTS: dict[str, Any] = {"n_threads": 1}
_local = threading.local()


def _config() -> dict[str, Any]:
    if not hasattr(_local, "config"):
        _local.config = dict(_DEFAULTS)
    return _local.config


def get_config() -> dict[str, Any]:
    """The current values of the settings :func:`set_config` takes (a copy).

    Examples
    --------
    >>> import sklproxy
    >>> sklproxy.get_config()["n_threads"]
    1
    """
    return dict(_config())


def set_config(*, n_threads: int | None = None) -> None:
    """Set sklproxy's global configuration (for the current thread).

    Parameters
    ----------
    n_threads : int or None, default=None
        torch intra-op threads used while a sklproxy estimator trains or
        predicts on the CPU (the setting is restored afterwards); ``-1``:
        one per CPU core; None leaves the current value (1 at start).
        One thread is the default because it gives the same bits however
        busy the machine is and never oversubscribes the cores: with
        several threads some CPU kernels (matrix products inside the
        mutual-information gradients among them) may round differently
        from run to run on a loaded machine, and threads that spin against
        another process slow a fit down several times. More threads fit
        faster on a quiet machine (the benchmarks page, B4, has the
        figures). GPU fits are not affected.

    See Also
    --------
    config_context : The same, for a ``with`` block.
    get_config : The current values.
    """
    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or (
                n_threads < 1 and n_threads != -1):
            raise ValueError(
                f"n_threads={n_threads!r} is invalid; use a positive int, or -1 for one thread "
                "per CPU core."
            )
        _config()["n_threads"] = n_threads


@contextlib.contextmanager
def config_context(*, n_threads: int | None = None) -> Iterator[None]:
    """Temporarily change sklproxy's global configuration (see :func:`set_config`).

    Examples
    --------
    >>> import sklproxy
    >>> with sklproxy.config_context(n_threads=2):
    ...     sklproxy.get_config()["n_threads"]
    2
    >>> sklproxy.get_config()["n_threads"]
    1
    """
    old = get_config()
    set_config(n_threads=n_threads)
    try:
        yield
    finally:
        _config().clear()
        _config().update(old)


def resolved_n_threads() -> int:
    """``n_threads`` as a count of threads (-1: the number of CPU cores)."""
    n = _config()["n_threads"]
    return max(1, os.cpu_count() or 1) if n == -1 else int(n)
