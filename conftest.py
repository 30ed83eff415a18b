"""Repository-wide pytest setup: plots draw off-screen and are closed after each test.

(tests/conftest.py holds the test-suite fixtures; this file also covers the
doctests of ``sklproxy/displays``.)
"""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
