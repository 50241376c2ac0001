"""Packaging conventions that need no build: one version, typed, licensed, anywidget's forms."""

from __future__ import annotations

import json
import pathlib
import re
import sys

import numpy as np
import pytest

import tokenheat as th

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (requires-python >= 3.10): pytest itself requires tomli there
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_one_version_source() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "src/tokenheat/_version.py"
    # npm allows a private package without a version, so the front end writes none.
    assert "version" not in json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert "version" not in lock and "version" not in lock["packages"][""]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {th.__version__}" in changelog, "CHANGELOG.md has no section for this version"


def test_typed_and_licensed() -> None:
    assert (ROOT / "src" / "tokenheat" / "py.typed").is_file()
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_widget_assets_are_paths_and_the_bundle_has_one_default_export() -> None:
    from tokenheat.widget import STATIC, Dashboard, Heatmap

    h = Heatmap(th.TokenMatrix(np.eye(2), rows=["a", "b"], cols=["x", "y"]))
    assert h._esm == (STATIC / "widget.js").read_text(encoding="utf-8")
    assert h._css == (STATIC / "widget.css").read_text(encoding="utf-8")
    # anywidget turned the class attributes (paths) into file contents it can hot-reload.
    assert type(Dashboard.__mro__[1].__dict__["_esm"]).__name__ == "FileContents"
    text = (STATIC / "widget.js").read_text(encoding="utf-8")
    exports = re.findall(r"export\s*\{([^}]*)\}", text)
    assert len(exports) == 1 and re.fullmatch(r"\s*\w+ as default\s*", exports[0]), exports
    assert not re.search(r"export\s+(function|const|let|var|class)\b", text)


def test_heatmap_is_not_a_dashboard() -> None:
    m = th.TokenMatrix(np.eye(2), rows=["a", "b"], cols=["x", "y"])
    assert not isinstance(th.Heatmap(m), th.Dashboard)
    assert not isinstance(th.Dashboard([m]), th.Heatmap)
    assert th.Heatmap(m).matrix is m


def test_a_matrix_shows_as_text_in_a_terminal() -> None:
    values = np.array([[0.25, np.nan], [-1.5, 3.0]])
    m = th.TokenMatrix(
        values,
        rows=["a", "b"],
        cols=["L0", "L1"],
        row_kind="token",
        col_kind="layer",
        value_label="entropy",
        title="lens",
    )
    text = "TokenMatrix('lens', 2 token × 2 layer, entropy -1.5 to 3, 1 missing)"
    assert repr(m) == text
    data, _ = m._repr_mimebundle_()
    assert data["text/plain"] == text
    assert "application/vnd.jupyter.widget-view+json" in data
    assert repr(th.Heatmap(m)) == f"Heatmap({text})"
    empty = th.TokenMatrix(np.full((1, 2), np.nan), rows=["a"], cols=["x", "y"])
    assert repr(empty) == "TokenMatrix(1 row × 2 col, value no finite values, 2 missing)"


def test_every_lazy_name_is_exported() -> None:
    import importlib

    for package in ("tokenheat", "tokenheat.models", "tokenheat.analyses"):
        mod = importlib.import_module(package)
        assert set(mod._LAZY) <= set(mod.__all__), package
        assert set(mod.__all__) <= set(mod._LAZY) | set(vars(mod)), package
        assert dir(mod) == sorted(mod.__all__)
    with pytest.raises(AttributeError, match=r"module 'tokenheat\.models' has no attribute 'nope'"):
        _ = th.models.nope


def test_docs_live_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/design.md)" in readme
    for path in [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        *sorted((ROOT / "docs").rglob("*.md")),
    ]:
        assert "../shared" not in path.read_text(encoding="utf-8"), path
