"""The documentation site's sources cover the public API (issue 13), without building it.

The build itself (Sphinx, gallery executed, warnings as errors) runs in CI:
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

import importlib
import inspect
import re
from pathlib import Path

import pytest

import sklproxy

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ["hashing", "cluster", "debias", "classification", "neighbors", "metrics",
               "datasets", "inspection", "displays", "nn", "exceptions", "parallel", "utils",
               "_training"]


def _api_reference() -> set[str]:
    """Fully qualified names listed in docs/api.rst (autosummary entries and data)."""
    names, module = set(), None
    for line in (ROOT / "docs" / "api.rst").read_text().splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = m.group(1)
        elif m := re.match(r"\.\. data:: (\w+)", line):
            names.add(f"{module}.{m.group(1)}")
        elif module and re.match(r"^   [A-Za-z_]\w*$", line):
            names.add(f"{module}.{line.strip()}")
    return names


def test_every_public_name_is_in_the_api_reference():
    listed = _api_reference()
    missing = [f"sklproxy.{sub}.{name}" for sub in SUBPACKAGES
               for name in importlib.import_module(f"sklproxy.{sub}").__all__
               if f"sklproxy.{sub}.{name}" not in listed]
    assert not missing, f"add these to docs/api.rst: {missing}"
    # the top-level re-exports are documented under their subpackage (the
    # configuration functions under the top-level package itself)
    for name in sklproxy.__all__:
        obj = getattr(sklproxy, name)
        assert f"{obj.__module__.rsplit('.', 1)[0]}.{name}" in listed, name


def test_the_site_includes_the_guide_methods_gallery_benchmarks_and_changelog():
    """The top navigation: user guide (guide, methods, scaling, changelog), gallery, API,
    benchmarks; on the PyData theme (scikit-learn-contrib's)."""
    toc = (ROOT / "docs" / "contents.rst").read_text()
    for page in ("user_guide", "auto_examples/index", "api", "benchmarks"):
        assert re.search(rf"^   {re.escape(page)}$", toc, re.M), page
    guide = (ROOT / "docs" / "user_guide.rst").read_text()
    for page in ("index", "methods", "scaling", "changelog"):
        assert re.search(rf"^   {re.escape(page)}$", guide, re.M), page
    assert 'html_theme = "pydata_sphinx_theme"' in (ROOT / "docs" / "conf.py").read_text()
    assert "../CHANGELOG.md" in (ROOT / "docs" / "changelog.md").read_text()


def test_every_display_is_used_by_the_gallery():
    from sklproxy import displays

    gallery = " ".join(p.read_text() for p in (ROOT / "examples" / "gallery").glob("plot_*.py"))
    unused = [name for name in displays.__all__ if name.endswith("Display") and name not in gallery]
    assert not unused


def test_no_docstring_points_at_the_unshipped_methods_file():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "sklproxy").rglob("*.py")
                 if "METHODS.md" in p.read_text()]
    assert not offenders, "point at the methods page (docs/methods.md) instead"


def _public_callables():
    for sub in SUBPACKAGES:
        module = importlib.import_module(f"sklproxy.{sub}")
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{sub}.{name}", obj
            elif inspect.isclass(obj):
                for attr, member in inspect.getmembers(obj):
                    func = getattr(member, "__func__", member)
                    if (attr.startswith("_") or not inspect.isfunction(func)
                            or not func.__module__.startswith("sklproxy")):
                        continue
                    yield f"{sub}.{name}.{attr}", func


def test_public_api_has_type_hints():
    """Every public function and method has annotated parameters and return.

    (Estimator constructors are left out: as in scikit-learn, their
    parameters are typed in the numpydoc ``Parameters`` section.)
    """
    missing = []
    for qualname, func in _public_callables():
        sig = inspect.signature(func)
        params = [p for n, p in sig.parameters.items() if n not in ("self", "cls")
                  and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if any(p.annotation is inspect.Parameter.empty for p in params) or \
                sig.return_annotation is inspect.Signature.empty:
            missing.append(qualname)
    assert not missing


def test_package_is_marked_typed():
    assert (ROOT / "sklproxy" / "py.typed").is_file()
    assert 'sklproxy = ["py.typed"]' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize("command", [
    "python -m sphinx -W --keep-going -b html docs docs/_build/html",
])
def test_readme_and_ci_build_the_site_with_warnings_as_errors(command):
    assert command in (ROOT / "README.md").read_text()
    assert command.replace(" -b", " -q -b") in (ROOT / ".ci" / "run").read_text()
