"""The flip-rate, attribution and memory benchmarks run end to end in ``--smoke`` mode.

Each runs on a tiny random model in a subprocess; no timing is asserted, only that the
benchmark finishes and that the results it checks (flip counts against the naive loop,
attributions against captum) agree.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_bench(name: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), "--smoke", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_flip_rate_bench_smoke() -> None:
    out = run_bench("flip_rate_bench.py")
    assert "perturbed texts / s" in out
    for variant in ("naive", "batched full", "batched, last logits", "tokenheat"):
        assert f"| {variant} " in out
    assert re.search(r"ratio: \d+% of matmul FLOP/s", out)
    assert "equality with the naive loop: flip counts equal" in out
    assert " 0 label mismatches" in out


def test_attribution_bench_smoke() -> None:
    pytest.importorskip("captum")
    out = run_bench("attribution_bench.py")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "captum (" in line]
    assert len(rows) == 6  # three target sets x two captum references
    for line in rows:
        diff = float(line.strip(" |").split("|")[-1])
        assert diff < 1e-3, line  # tokenheat and captum agree


def test_flip_memory_bench_smoke() -> None:
    import tokenheat as th

    out = run_bench("flip_memory_bench.py")
    rows = [line for line in out.splitlines() if re.match(r"\| (20|60) ", line)]
    assert len(rows) == 2
    texts = th.datasets.emotions()["text"].tolist()
    for line in rows:
        cells = [c.strip().replace(",", "") for c in line.strip(" |").split("|")]
        n = int(cells[0])
        assert int(cells[1]) == sum(len(texts[i % len(texts)].split()) for i in range(n))
        assert float(cells[4]) >= float(cells[3]) > 0  # peak RSS >= baseline RSS
