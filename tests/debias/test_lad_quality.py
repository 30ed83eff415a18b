"""CPU quality tests: LAD removes a colour shortcut from 8x8 digits (100 % bias).

scikit-learn's digits with a background colour equal to the class (every
training image) and test images whose colour is drawn independently of the
class. ``make_pipeline(LADDebiaser(), LogisticRegression())`` at default
settings against the same pipeline without LAD.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklproxy.datasets import make_colour_biased
from sklproxy.debias import LADDebiaser


def _biased_digits(palette=None, seed=0):
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8)
    perm = np.random.RandomState(seed).permutation(len(X))
    tr, te = perm[:1200], perm[1200:]
    kw = dict(kind="background", max_value=16, palette=palette)
    Xtr, _ = make_colour_biased(X[tr], y[tr], random_state=seed, **kw)
    Xind, _ = make_colour_biased(X[te], y[te], test_mode="independent", random_state=seed + 1, **kw)
    flat = lambda A: A.reshape(len(A), -1)  # noqa: E731  (flattened, as LogisticRegression wants)
    return flat(Xtr), y[tr], flat(Xind), y[te]


def _gain(palette=None, seed=0):
    Xtr, ytr, Xind, yte = _biased_digits(palette, seed)
    raw = make_pipeline(LogisticRegression(max_iter=3000)).fit(Xtr, ytr).score(Xind, yte)
    lad = LADDebiaser(image_shape=(3, 8, 8), device="cpu", random_state=seed)
    pipe = make_pipeline(lad, LogisticRegression(max_iter=3000)).fit(Xtr, ytr)
    return raw, pipe.score(Xind, yte), lad


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


def random_palette(rng):
    """Ten random colours, none close to white (the digit) or to each other."""
    colours = []
    while len(colours) < 10:
        c = rng.integers(0, 256, 3)
        if np.abs(c - 255).max() < 60 or any(np.abs(c - o).max() < 40 for o in colours):
            continue
        colours.append(c)
    return np.array(colours)


@pytest.mark.slow
def test_lad_removes_a_palette_drawn_at_test_time():
    """A spurious colour nobody tuned for: ten background colours drawn now (OS entropy).

    Measured over 10 draws (``benchmarks/b3_ci_calibration.py``, CPU): raw 0.26-0.35,
    LAD 0.84-0.91, gain 0.53-0.62.
    """
    palette = random_palette(np.random.default_rng())
    raw, lad_score, _ = _gain(palette)
    print(f"palette {palette.tolist()}: raw {raw:.3f} LAD {lad_score:.3f}")
    assert lad_score >= raw + 0.30, f"palette {palette.tolist()}"
