"""B3's settings beyond colour and the redrawn oracle (benchmarks/_data.py)."""

import numpy as np
import pytest

from benchmarks._data import B3_GENERIC_SETTINGS, biased_setting, redrawn_oracle
from sklproxy.datasets import load_digits28, make_corrupted


@pytest.mark.parametrize("setting", [s for s in B3_GENERIC_SETTINGS if s != "fmnist-corrupt"])
def test_generic_settings_have_train_oracle_and_two_test_sets(setting):
    Xb, y, Xo, tests = biased_setting(setting, 0)
    assert Xb.shape == Xo.shape and Xb.dtype == np.float32 and len(y) == len(Xb)
    assert set(tests) == {"independent", "conditioned"}
    assert 0.0 <= Xb.min() and Xb.max() <= 1.0
    assert not np.array_equal(Xb, Xo)


def test_corrupted_setting_is_make_corrupted_with_the_seeds_it_names():
    Xtr, ytr, _, _ = load_digits28(random_state=1, return_X_y=True)
    Xb, y, Xo, _ = biased_setting("corrupt-type1", 1)
    np.testing.assert_array_equal(Xb, make_corrupted(Xtr, ytr, corruptions="type1", random_state=1)[0])
    np.testing.assert_array_equal(
        Xo, make_corrupted(Xtr, ytr, corruptions="type1", test_mode="independent", random_state=11)[0])


def test_redrawn_oracle_stacks_independent_draws_of_the_signal():
    """Ten copies of the same images, each with its own independent draw (copy 0 = the oracle)."""
    Xb, y, Xo, _ = biased_setting("background", 0)
    Xr, yr = redrawn_oracle("background", 0, copies=3)
    n = len(y)
    assert Xr.shape == (3 * n, *Xb.shape[1:])
    np.testing.assert_array_equal(yr, np.tile(y, 3))
    np.testing.assert_array_equal(Xr[:n], Xo)
    backgrounds = Xr[:, :, 0, 0].reshape(3, n, 3)          # the corner pixel is background
    assert (np.abs(backgrounds[0] - backgrounds[1]).max(axis=1) > 0).mean() > 0.8
    with pytest.raises(ValueError, match="one-pixel"):
        redrawn_oracle("pixel", 0)
