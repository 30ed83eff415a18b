"""Sphinx configuration of the sklproxy documentation site.

Build (from the repository root, after ``pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``-W`` turns every warning into an error (CI runs it so). The gallery
(``examples/gallery/plot_*.py``) is executed on the CPU during the build;
its output goes to ``docs/auto_examples/`` and the API stubs to
``docs/generated/`` (both generated, not committed).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("MPLBACKEND", "Agg")
# The gallery's models are tiny: one thread is faster than two fighting over
# a shared 2-core machine (measured: 19 s vs 126 s for the retrieval example).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    if not os.environ.get(_var, "").strip().isdigit():
        os.environ[_var] = "1"

import torch  # noqa: E402

import sklproxy  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

project = "sklproxy"
author = "the sklproxy developers"
copyright = "2026, the sklproxy developers"
release = sklproxy.__version__
version = release

root_doc = "contents"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.codeobj.json", "sg_execution_times.rst"]

# -- markdown sources (docs/index.md, docs/benchmarks.md, CHANGELOG.md) -------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
# The markdown pages are edited by hand and by benchmarks/docs.py; their
# heading levels jump (H1 -> H3) and they name repository files that are not
# pages of this site: neither is an error of the site.
suppress_warnings = ["myst.header", "myst.xref_missing"]

# -- API reference --------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- gallery ----------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples" / "gallery"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "doc_module": ("sklproxy",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklproxy": None},
    "min_reported_time": 0,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_signature": False,
}

# -- HTML -----------------------------------------------------------------------------
# The PyData theme (scikit-learn-contrib's): the four sections as the top
# navigation, a version switcher, light/dark, search over the API names.
html_theme = "pydata_sphinx_theme"
html_title = f"sklproxy {release}"
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 4,
    "navbar_center": ["navbar-nav"],
    "navbar_end": ["version-switcher", "theme-switcher"],
    "switcher": {"json_url": "_static/switcher.json", "version_match": release},
    "check_switcher": False,  # the JSON ships with the site; no network at build time
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"contents": [], "benchmarks": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]


# -- docstring types are plain text ------------------------------------------------
# In "name : type" lines of the numpydoc sections, the type is prose such as
# "ndarray of shape (n_samples_fit_, n_bits)" or "Tensor of shape (B, D, *S)";
# reStructuredText would read ``n_samples_fit_`` as a link and ``*S`` as
# emphasis. Escape both before numpydoc turns the sections into markup.
_TYPE_LINE = re.compile(r"^(\s*[\w*\\][\w, *\\]*) : (.+)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=\W|$)")
_SECTION = re.compile(r"^\s*(Parameters|Attributes|Returns|Yields|Raises|Other Parameters)\s*$")


def _escape_types(app, what, name, obj, options, lines):
    in_section = False
    for i, line in enumerate(lines):
        if _SECTION.match(line):
            in_section = True
            continue
        if in_section and line.strip() and not line.startswith((" ", "-")) and i + 1 < len(lines) \
                and set(lines[i + 1].strip()) == {"-"}:
            in_section = False  # the next section starts
        match = _TYPE_LINE.match(line) if in_section else None
        if match and "``" not in match.group(2):
            kind = _TRAILING_UNDERSCORE.sub(r"\\_", match.group(2).replace("*", r"\*"))
            lines[i] = f"{match.group(1)} : {kind}"


# Methods inherited from scikit-learn (set_output, score, fit_transform) keep
# their docstrings, whose :ref: labels point into scikit-learn's own site.
_FOREIGN_REF = re.compile(r":ref:`([^`<]*?)\s*<[^>`]+>`|:ref:`([^`]+)`")


def _plain_foreign_refs(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", "") or ""
    if not module.startswith("sklproxy"):
        lines[:] = [_FOREIGN_REF.sub(lambda m: m.group(1) or m.group(2), line) for line in lines]


def setup(app):
    # before numpydoc (priority 500) rewrites the sections
    app.connect("autodoc-process-docstring", _escape_types, priority=400)
    app.connect("autodoc-process-docstring", _plain_foreign_refs, priority=400)
