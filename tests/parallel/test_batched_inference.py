"""transform / predict on memory-mapped and Dask arrays: same bits, bounded memory."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_digits

from sklproxy.classification import ImageClassifier
from sklproxy.cluster import DHOGClusterer
from sklproxy.debias import LADDebiaser, LatentClassifierOptions, VQVAEOptions
from sklproxy.hashing import DDTLHasher
from sklproxy.parallel import chunk_rows

sys.path.insert(0, str(Path(__file__).parent))
import peak_memory  # noqa: E402

SMALL = dict(width=16, max_epochs=1, batch_size=32, device="cpu", random_state=0)

METHODS = {
    "DDTLHasher": ["transform", "predict", "predict_proba", "predict_leaf_proba"],
    "DHOGClusterer": ["predict", "predict_proba", "predict_heads"],
    "LADDebiaser": ["transform"],
    "ImageClassifier": ["predict", "predict_proba", "predict_log_proba"],
}


@pytest.fixture(scope="module")
def fitted():
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    return X, [
        DDTLHasher(n_path_bits=3, **SMALL).fit(X[:200], y[:200]),
        DHOGClusterer(n_clusters=10, n_heads=2, n_repeats=2, **SMALL).fit(X[:200]),
        LADDebiaser(vqvae=VQVAEOptions(n_codes=8, code_dim=4, width=SMALL["width"]),
                    latent_classifier=LatentClassifierOptions(max_epochs=1),
                    **{k: v for k, v in SMALL.items() if k != "width"}).fit(X[:200], y[:200]),
        ImageClassifier(**SMALL).fit(X[:200], y[:200]),
    ]


def test_chunk_rows_fits_working_memory_in_whole_batches():
    assert chunk_rows(784, 256, working_memory=64) == 5120  # 64 MiB / (16 B x 784) = 5349
    assert chunk_rows(10**7, 256, working_memory=1) == 256  # never below one batch
    assert chunk_rows(1, 7, working_memory=1) % 7 == 0


def test_memory_mapped_input_in_chunks_gives_the_same_bits(fitted, tmp_path):
    X, estimators = fitted
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=X.shape)
    mm[:] = X
    mm.flush()
    X_mm = np.load(tmp_path / "X.npy", mmap_mode="r")
    # 64 features x 16 B per value: 0.01 MiB -> 10 rows, rounded up to one batch of 32
    assert chunk_rows(64, 32, working_memory=0.01) == 32
    for est in estimators:
        for method in METHODS[type(est).__name__]:
            whole = getattr(est, method)(X)
            with sklearn.config_context(working_memory=0.01):  # 57 chunks
                chunked = getattr(est, method)(X_mm)
            np.testing.assert_array_equal(chunked, whole, err_msg=f"{type(est).__name__}.{method}")


def test_dask_array_input_is_lazy_and_blockwise(fitted):
    da = pytest.importorskip("dask.array", reason="the `dask` extra is not installed")
    X, estimators = fitted
    X_dask = da.from_array(X, chunks=(250, 64))  # blocks that are no multiple of a batch
    for est in estimators:
        for method in METHODS[type(est).__name__]:
            whole = getattr(est, method)(X)
            with sklearn.config_context(working_memory=0.05):
                lazy = getattr(est, method)(X_dask)
            assert isinstance(lazy, da.Array), f"{type(est).__name__}.{method} is not lazy"
            assert lazy.numblocks[0] > 1
            assert lazy.shape == whole.shape and lazy.dtype == whole.dtype
            np.testing.assert_array_equal(lazy.compute(scheduler="synchronous"), whole)


def test_dask_errors_are_raised_at_the_call(fitted):
    da = pytest.importorskip("dask.array", reason="the `dask` extra is not installed")
    X, estimators = fitted
    with pytest.raises(ValueError, match="features"):
        estimators[0].transform(da.from_array(X[:, :10], chunks=(100, 10)))


def test_peak_memory_on_a_large_memory_mapped_file(tmp_path):
    """DDTLHasher.transform of 60k x 784 uint8 images from a memory-mapped .npy file.

    The input is 45 MiB on disk; converted at once to float32 it would take
    179 MiB (measured at 200k rows: 598 MiB of anonymous memory without
    chunks, 7.7 MiB with working_memory=32 MiB, same codes, and 1.9x faster).
    Measured during the call, sampling RssAnon every millisecond (the mapped
    file's pages are not anonymous) and NumPy's allocations with
    tracemalloc: both under 10 MiB. Bound: 48 MiB.
    """
    report = peak_memory.main(str(tmp_path), 60000, 32)
    assert report["codes_shape"] == [60000, 4]
    assert report["float32_copy_mib"] > 170
    assert report["rss_anon_peak_growth_mib"] < 48, report
    assert report["tracemalloc_peak_mib"] < 48, report


def test_a_progress_bar_counts_the_chunks_when_verbose(fitted, capsys):
    X, estimators = fitted
    est = estimators[0]  # DDTLHasher, batch_size 32
    whole = est.transform(X)
    with sklearn.config_context(working_memory=0.01):  # 57 chunks of 32 rows
        est.set_params(verbose=2)
        try:
            chunked = est.transform(X)
        finally:
            est.set_params(verbose=0)
        err = capsys.readouterr().err
        assert "DDTLHasher.transform" in err and "/57 " in err  # the bar knows its 57 chunks
        np.testing.assert_array_equal(chunked, whole)
        est.transform(X)  # verbose=0: silent
        assert capsys.readouterr().err == ""
