"""CPU quality tests: LAD removes a colour shortcut from 8x8 digits (100 % bias).

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
