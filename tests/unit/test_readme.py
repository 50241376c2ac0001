"""The README's quick start runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_gives_exactly_the_two_commands():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## The two commands\n\n```bash\n(.*?)```", text, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]


def test_quick_start_runs(tmp_path, monkeypatch):
    if not (Path(__file__).resolve().parents[2] / "src/tokenheat/static/standalone.js").exists():
        pytest.skip("front-end bundle not built")
    text = README.read_text(encoding="utf-8")
    code = re.search(r"## Quick start.*?```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README quick start", "exec"), namespace)
    assert (tmp_path / "heatmaps.html").stat().st_size > 10_000
    assert namespace["m"].shape == (2, 2)
    assert namespace["dash"].selected["matrix"] is None
