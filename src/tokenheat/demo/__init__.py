"""``tokenheat demo`` and the corpus it reads (:mod:`tokenheat.datasets`).

:func:`build_demo` runs the four analyses on the default model (or any local model) and the
bundled corpus; :func:`run_demo` also writes the linked dashboard as one HTML file.
"""

from __future__ import annotations

from tokenheat.demo._run import DemoResult, build_demo, run_demo

__all__ = ["DemoResult", "build_demo", "run_demo"]
