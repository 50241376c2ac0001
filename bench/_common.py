"""Small helpers shared by the benchmarks in ``bench/``: machine info, timing, tables, memory
counters, the front-end bundle and Debian's Chromium.

The benchmarks print numbers and ratios measured in one run; they assert nothing about
timings. Import this module as ``_common`` (each benchmark is run as ``python bench/<name>.py``,
which puts ``bench/`` on ``sys.path``).
"""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "tokenheat" / "static"
MIB = 1024 * 1024

CHROMIUM = Path("/usr/bin/chromium")
#: A copy of tests/conftest.py's flags on purpose: the benchmarks do not import the tests.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# ---- numbers and tables -------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """Median of ``values`` (NaN when empty)."""
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    """``a / b``, NaN when ``b`` is 0 or either is NaN."""
    return a / b if b and b == b and a == a else float("nan")


def fmt(value: Any, digits: int = 1) -> str:
    """A number for a table: fixed decimals, thousands separators; other values as ``str``."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:,.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (so the output can be pasted into bench/README.md)."""
    cells = [[str(h) for h in headers]] + [[fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# ---- the machine ----------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_kib(field: str, path: str = "/proc/meminfo") -> int | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def chromium_version() -> str | None:
    """``chromium --version`` of Debian's Chromium, or None when it is not installed."""
    if not CHROMIUM.exists():
        return None
    try:
        out = subprocess.run(
            [str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def machine_info(extra: dict[str, str] | None = None) -> str:
    """A few lines naming the machine: CPU, cores, memory, load, Python and packages."""
    total = _mem_kib("MemTotal")
    avail = _mem_kib("MemAvailable")
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    lines = [
        f"cpu: {_cpu_model()}, {os.cpu_count()} logical cores (load average {load})",
        f"memory: {fmt((total or 0) / MIB, 1)} GiB total, {fmt((avail or 0) / MIB, 1)} GiB available",
        f"python {platform.python_version()} on {platform.system()} {platform.release()}",
    ]
    for key, value in (extra or {}).items():
        lines.append(f"{key}: {value}")
    return "\n".join("# " + line for line in lines)


def mem_available_bytes() -> int | None:
    """``MemAvailable`` from /proc/meminfo in bytes (None off Linux)."""
    kib = _mem_kib("MemAvailable")
    return None if kib is None else kib * 1024


# ---- memory of this process (Linux) -----------------------------------------------------------


def rss_bytes() -> int:
    """Current resident set size of this process (``VmRSS``)."""
    kib = _mem_kib("VmRSS", "/proc/self/status")
    if kib is None:
        raise RuntimeError("VmRSS is not available: the memory benchmark needs Linux /proc")
    return kib * 1024


def peak_rss_bytes() -> int:
    """Resident set size high-water mark of this process (``VmHWM``)."""
    kib = _mem_kib("VmHWM", "/proc/self/status")
    if kib is None:
        raise RuntimeError("VmHWM is not available: the memory benchmark needs Linux /proc")
    return kib * 1024


def file_rss_bytes() -> int:
    """File-backed part of the resident set (``RssFile``: mapped files such as libraries)."""
    kib = _mem_kib("RssFile", "/proc/self/status")
    return 0 if kib is None else kib * 1024


def reset_peak_rss() -> None:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def release_free_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc ``malloc_trim``), so
    that memory freed earlier is not counted in a baseline and then silently reused."""
    import gc

    gc.collect()
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# ---- the front end and the browser -------------------------------------------------------------


def ensure_bundle() -> Path:
    """The built front end (``src/tokenheat/static``), built with ``npm run build`` if missing."""
    if (STATIC / "standalone.js").exists() and (STATIC / "widget.css").exists():
        return STATIC
    npm = shutil.which("npm")
    if npm is None or not (ROOT / "node_modules").exists():
        raise SystemExit(
            f"the front-end bundle is missing in {STATIC}; build it with `npm ci && npm run build`"
        )
    subprocess.run([npm, "run", "build"], cwd=ROOT, check=True, capture_output=True)
    return STATIC


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium (``/usr/bin/chromium``) launched headless through Playwright."""
    if not CHROMIUM.exists():
        raise SystemExit(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("playwright (Python) is not installed: pip install playwright") from None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def run_child(
    args: Sequence[str], timeout: float | None = None, env: dict[str, str] | None = None
) -> str:
    """Run this Python on ``args`` in a fresh process; return its stdout (stderr passes through)."""
    done = subprocess.run(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child process {list(args)} exited with {done.returncode}")
    return done.stdout


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn()`` took (``time.perf_counter``) and its result."""
    import time

    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out
