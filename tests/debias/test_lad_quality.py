"""CPU quality tests: LAD removes a colour shortcut from 8x8 digits, and a texture from digits28 (100 % bias).

scikit-learn's digits with a background colour equal to the class (every
training image) and test images whose colour is drawn independently of the
class. ``make_pipeline(LADDebiaser(), LogisticRegression())`` at default
settings against the same pipeline without LAD.
"""

import numpy as np
import pytest

# The data and the pipelines are those the thresholds were measured with:
# ``python -m benchmarks.experiments.b3_ci_calibration`` (the same functions).
from benchmarks.experiments.b3_ci_calibration import gain as _gain
from benchmarks.experiments.b3_ci_calibration import random_palette


@pytest.mark.slow
def test_lad_pipeline_beats_raw_training_on_background_colour():
    """Measured (CPU, 1 thread), seeds 0 / 1 / 2: raw 0.25 / 0.23 / 0.28, LAD 0.88 / 0.88 / 0.88.

    The bar is the issue's: at least 0.30 above the pipeline without LAD.
    """
    raw, lad_score, lad = _gain()
    print(f"raw {raw:.3f} LAD {lad_score:.3f} diagnostics {lad.diagnostics_}")
    assert lad_score >= raw + 0.30
    d = lad.diagnostics_  # the gates the estimator reports on its training images
    assert d["colour_before"] > 0.95 and d["colour_after"] < d["chance"] + 0.15


@pytest.mark.slow
def test_lad_removes_a_palette_drawn_at_test_time():
    """A spurious colour nobody tuned for: ten background colours drawn now (OS entropy).

    Measured over 10 draws (``benchmarks/experiments/b3_ci_calibration.py``, CPU): raw 0.26-0.35,
    LAD 0.84-0.91, gain 0.53-0.62.
    """
    palette = random_palette(np.random.default_rng())
    raw, lad_score, _ = _gain(palette)
    print(f"palette {palette.tolist()}: raw {raw:.3f} LAD {lad_score:.3f}")
    assert lad_score >= raw + 0.30, f"palette {palette.tolist()}"


@pytest.mark.slow
def test_lad_swap_removes_a_class_texture():
    """Not a colour: a class grating behind 600 digits28 images (100 % bias).

    ``LADClassifier`` with ``method="swap"`` against the same LeNet on raw images, on test images
    with the grating of a random class. Measured (``benchmarks/experiments/b3_swap_ci_calibration.py``,
    CPU, 1 thread), seeds 0 / 1 / 2: raw 0.17 / 0.11 / 0.12, LAD swap 0.78 / 0.79 / 0.80 (gain
    0.61-0.69; the issue's bar is 0.20). The amplitude probe reads the texture at 1.0, so the
    swap is on.
    """
    from benchmarks.experiments.b3_swap_ci_calibration import swap_gain

    raw, score, lad = swap_gain("texture", seed=0)
    print(f"raw {raw:.3f} LAD swap {score:.3f} probe {lad.debiaser_.swap_probe_accuracy_:.3f}")
    assert lad.debiaser_.swap_active_
    assert score >= raw + 0.30
