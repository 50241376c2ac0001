"""The benchmarks in bench/ run end to end in their tiny ``--smoke`` mode.

Benchmarks are not tests: nothing here looks at a timing. What is checked is that each script
runs, prints its tables, and that the correctness checks built into them hold (the naive and
the chunked logit lens agree; every hovered cell showed its own tooltip; the HTML export is
smaller per cell than the Altair spec).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def run_bench(name: str, *args: str, timeout: int = 600) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def table_rows(out: str, first_cell: str) -> list[list[str]]:
    """Rows of the printed Markdown tables whose first cell starts with ``first_cell``."""
    rows = []
    for line in out.splitlines():
        if line.startswith("| "):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0].startswith(first_cell):
                rows.append(cells)
    return rows


def test_payload_smoke_prints_every_format_and_html_is_smallest_per_cell():
    out = run_bench("payload.py", "--smoke")
    assert "20 × 20 = 400 cells" in out
    rows = {(r[0], r[1]): r for r in table_rows(out, "") if r[0] != "format"}
    assert len(rows) == 12
    html = float(rows["tokenheat HTML (to_html)", "values"][4])
    vl = float(rows["Altair / Vega-Lite spec (to_json)", "values"][4])
    lists = float(rows["JSON lists (json.dumps(values.tolist()))", "values"][4])
    assert 5.0 < html < vl and html < lists  # base64 float32 is 5.33 B/cell


@pytest.mark.slow
def test_lens_memory_smoke_naive_and_chunked_lens_agree():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    out = run_bench("lens_memory.py", "--smoke")
    for variant in ("th.lens", "lens_arrays", "naive"):
        assert table_rows(out, variant), f"no row for {variant}:\n{out}"
    diffs = [float(x) for x in re.findall(r"− naive\| = ([0-9.e+-]+) nats", out)]
    assert len(diffs) == 2 and max(diffs) < 1e-3, out


@pytest.mark.browser
@pytest.mark.slow
def test_frontend_smoke_tooltips_show_the_hovered_cell():
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is missing")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("vl_convert")
    out = run_bench("frontend.py", "--smoke")
    assert re.search(r"hover → tooltip \(5 cells; ms; 0 wrong tooltips\)", out), out
    for row in ("script start → first cells drawn", "scroll (handler: redraw)", "fit (whole"):
        assert table_rows(out, row), f"no row {row!r}:\n{out}"
    altair = table_rows(out, "20 × 20")
    assert altair and altair[0][-1].endswith("×"), f"the Altair chart was not drawn:\n{out}"


@pytest.mark.slow
def test_scale_bench_smoke_prints_lens_memory_for_both_variants():
    """The Ray half of the scale benchmark is covered by tests/models/test_engine_ray.py."""
    pytest.importorskip("torch")
    out = run_bench("scale_bench.py", "--smoke", "--skip-ray")
    assert [r[0] for r in table_rows(out, "lens")] == ["lens"] * 2 + ["lens_arrays"] * 2
    assert "load average" in out


@pytest.mark.browser
@pytest.mark.slow
def test_limits_smoke_reaches_the_last_context():
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is missing")
    pytest.importorskip("playwright.sync_api")
    out = run_bench("limits.py", "--smoke")
    (row,) = table_rows(out, "2,000")[:1]
    assert "yes (k=1,999" in " ".join(row), out
    assert table_rows(out, "50 × 50"), out
