"""GridSearchCV / RandomizedSearchCV on a real cluster (joblib's dask and ray backends).

The same search with ``n_jobs=1`` in this process is the reference: every
fit is seeded (``random_state=0``) and runs single-threaded on the CPU here
and in the workers (dask's nanny and ray set ``OMP_NUM_THREADS=1``), so the
scores must be the same bits.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from sklproxy.cluster import DHOGClusterer
from sklproxy.hashing import DDTLHasher

SMALL = dict(width=16, max_epochs=2, batch_size=64, device="cpu", random_state=0)


def _data():
    X, y = load_digits(return_X_y=True)
    return X[:300].astype(np.float32), y[:300]


def _searches():
    grid = GridSearchCV(DDTLHasher(n_path_bits=3, **SMALL), {"alpha": [0.5, 1.0], "beta": [0.1, 0.3]},
                        cv=2, n_jobs=-1)
    rand = RandomizedSearchCV(DHOGClusterer(n_clusters=10, n_heads=2, n_repeats=2, **SMALL),
                              {"alpha": [0.01, 0.05, 0.1], "lr": [1e-3, 3e-3]},
                              n_iter=3, cv=2, n_jobs=-1, random_state=0)
    return grid, rand


def _fit_all(searches, X, y):
    return [s.fit(X, y) for s in searches]


def _assert_same(found, reference, X):
    for got, ref in zip(found, reference, strict=True):
        assert got.best_params_ == ref.best_params_
        np.testing.assert_array_equal(got.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])
        np.testing.assert_array_equal(got.cv_results_["params"], ref.cv_results_["params"])
        out = "transform" if hasattr(ref, "transform") else "predict"
        np.testing.assert_array_equal(getattr(got, out)(X), getattr(ref, out)(X))


@pytest.fixture(scope="module")
def reference():
    X, y = _data()
    searches = _searches()
    for s in searches:
        s.set_params(n_jobs=1)
    return _fit_all(searches, X, y)


def test_dask_localcluster_two_worker_processes(reference, tmp_path, monkeypatch):
    """Two worker processes, one thread each; no file written by any fit."""
    distributed = pytest.importorskip("distributed", reason="the `dask` extra is not installed")
    monkeypatch.chdir(tmp_path)  # the workers inherit this working directory
    import dask

    X, y = _data()
    # forked workers start with torch and sklproxy already imported: 2-3 s instead of
    # 15 s of imports on the shared 2-core machine; estimators still travel pickled
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None, local_directory=tmp_path / "dask") as cluster, \
            distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            found = _fit_all(_searches(), X, y)
        # the fits ran in both worker processes, not here
        pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    _assert_same(found, reference, X)
    # parallel fits write no checkpoint or temporary file (only dask's own scratch space)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask"]


@pytest.mark.skipif(
    not os.environ.get("SKLPROXY_TEST_RAY"),
    reason="opt-in (SKLPROXY_TEST_RAY=1): Ray's joblib backend starts a fresh pool of worker "
           "processes for each search, 35-60 s on the shared 2-core machine, beyond this issue's "
           "CI budget; the dask test checks the same contract",
)
def test_ray_joblib_backend(reference, tmp_path, monkeypatch):
    """Ray's joblib backend on a local Ray instance of 2 CPUs: the same search results."""
    ray = pytest.importorskip("ray", reason="the `ray` extra is not installed")
    from ray.util.joblib import register_ray

    monkeypatch.chdir(tmp_path)
    X, y = _data()
    # ray's unix sockets need a short path (at most 107 bytes)
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp" if os.path.isdir("/tmp") else None)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=ray_tmp,
             configure_logging=False)
    try:
        register_ray()
        with joblib.parallel_backend("ray"):
            found = _fit_all(_searches(), X, y)
    finally:
        ray.shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    _assert_same(found, reference, X)
    assert list(tmp_path.iterdir()) == []  # no file written by any fit
