"""Input validation at the boundary: vectors or images, sklearn's errors."""

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator

from sklproxy.utils import normalize_image_shape, validate_input


class Dummy(BaseEstimator):
    pass


@pytest.mark.parametrize(
    "X, image_shape, expected",
    [
        (np.zeros((4, 6)), None, (6,)),
        (np.zeros((4, 6)), (2, 3), (1, 2, 3)),
        (np.zeros((4, 12)), (3, 2, 2), (3, 2, 2)),
        (np.zeros((4, 5, 7)), None, (1, 5, 7)),
        (np.zeros((4, 3, 5, 7)), None, (3, 5, 7)),
        (torch.zeros(4, 3, 5, 7, dtype=torch.float64), None, (3, 5, 7)),
        ([[0, 1], [2, 3]], None, (2,)),
    ],
)
def test_validate_input_shapes(X, image_shape, expected):
    est = Dummy()
    out = validate_input(est, X, reset=True, image_shape=image_shape)
    assert out.dtype == np.float32 and out.shape[1:] == expected
    assert est.input_shape_ == expected and est.n_features_in_ == int(np.prod(expected))
    # at predict time the fitted shape and its flattened form are both accepted
    again = validate_input(est, np.asarray(X).reshape(len(out), -1), reset=False)
    assert again.shape == out.shape


def test_validate_input_errors():
    est = Dummy()
    with pytest.raises(ValueError, match="image_shape=\\(5, 5\\)"):
        validate_input(est, np.zeros((3, 10)), reset=True, image_shape=(5, 5))
    with pytest.raises(ValueError, match="does not match"):
        validate_input(est, np.zeros((3, 4, 4)), reset=True, image_shape=(5, 5))
    with pytest.raises(ValueError, match="image_shape"):
        normalize_image_shape((1, 2, 3, 4))
    validate_input(est, np.zeros((3, 1, 4, 4)), reset=True)
    with pytest.raises(ValueError, match="fitted on input of shape"):
        validate_input(est, np.zeros((3, 2, 4, 4)), reset=False)
    with pytest.raises(ValueError, match="features"):
        validate_input(est, np.zeros((3, 15)), reset=False)
    with pytest.raises(ValueError, match="1 sample"):
        validate_input(est, np.zeros((1, 4)), reset=True, min_samples=2)

