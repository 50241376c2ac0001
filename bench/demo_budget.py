"""The demo's time budget as ratios: ``tokenheat demo --quick`` and the full demo against one
plain batched forward of the same model, measured on the same machine in the same run.

Budget (issue 12): warm quick demo <= 15x, full demo <= 80x the time of a plain batched
SmolLM2 forward over 32 x 64 tokens. "Warm" means the model's weights are already converted
into the cache (``TOKENHEAT_CACHE``) and the OS has read them once; each demo runs as the
user runs it, ``python -m tokenheat demo`` in a fresh process (interpreter start, imports,
model load, the analyses, writing the HTML).

The reference forward is timed in a child process too, as the median of five forwards after
one warm-up, before and after the demos (the machine's load may change in between; both are
printed with the load average). Nothing is asserted; ``--smoke`` runs only the reference
forward and ``--quick-only`` skips the full demo.

    python bench/demo_budget.py [--quick-only] [--smoke] [--keep DIR] [--skip-warmup]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

ROOT = Path(__file__).resolve().parents[1]
QUICK_BUDGET, FULL_BUDGET = 15.0, 80.0

FORWARD = r"""
import statistics, time, torch
import tokenheat as th
torch.manual_seed(0)
model, tok = th.models.load_default()
ids = torch.randint(100, 40000, (32, 64))
times = []
with torch.inference_mode():
    for i in range(6):
        t = time.perf_counter()
        model(input_ids=ids)
        times.append(time.perf_counter() - t)
print(statistics.median(times[1:]))
"""


def env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def forward_seconds() -> float:
    done = subprocess.run(
        [sys.executable, "-c", FORWARD], env=env(), capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def demo_seconds(quick: bool, out: Path) -> tuple[float, str]:
    args = [sys.executable, "-m", "tokenheat", "demo", "--out", str(out), "--no-progress"]
    args += ["--save", str(out.with_suffix(".th"))]
    start = time.perf_counter()
    done = subprocess.run(
        [*args, *(["--quick"] if quick else [])], env=env(), capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"tokenheat demo failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick-only", action="store_true", help="skip the full demo")
    parser.add_argument("--smoke", action="store_true", help="only the reference forward")
    parser.add_argument("--keep", type=Path, help="keep the pages and results (.th) here")
    parser.add_argument(
        "--skip-warmup",
        action="store_true",
        help="no warm-up demo (the weights are already converted and read once)",
    )
    args = parser.parse_args()
    print(c.machine_info())
    load = [os.getloadavg()[0]]
    base = [forward_seconds()]
    print(f"plain forward 32 x 64 tokens: {base[0]:.2f} s (load average {load[0]:.1f})")
    rows = []
    if not args.smoke:
        with tempfile.TemporaryDirectory() as scratch:
            tmp = args.keep or Path(scratch)
            tmp.mkdir(parents=True, exist_ok=True)
            if not args.skip_warmup:  # warm: weights converted and cached, files read once
                demo_seconds(True, Path(tmp) / "warm.html")
            for name, quick, budget in (
                ("quick", True, QUICK_BUDGET),
                ("full", False, FULL_BUDGET),
            ):
                if name == "full" and args.quick_only:
                    continue
                before = os.getloadavg()[0]
                seconds, log = demo_seconds(quick, Path(tmp) / f"{name}.html")
                after = os.getloadavg()[0]
                load += [before, after]
                print(f"\n`tokenheat demo{' --quick' if quick else ''}`:\n{log.strip()}")
                rows.append([name, seconds, before, after, budget])
        base.append(forward_seconds())
        load.append(os.getloadavg()[0])
    ref = c.median(base)
    print()
    print(
        f"reference: median of {len(base)} plain forwards {ref:.2f} s "
        f"({', '.join(f'{b:.2f}' for b in base)}); load average {min(load):.1f}-{max(load):.1f}"
    )
    table = [
        [name, s, ref, c.ratio(s, ref), f"<= {budget:.0f}x", f"{lb:.1f} / {la:.1f}"]
        for name, s, lb, la, budget in rows
    ]
    print(
        c.table(["demo", "seconds", "forward (s)", "ratio", "budget", "load before / after"], table)
    )


if __name__ == "__main__":
    main()
