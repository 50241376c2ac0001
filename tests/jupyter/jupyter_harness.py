"""A real JupyterLab server and a headless Chromium for the notebook-frontend tests.

Everything Jupyter writes (config, data, runtime, IPython profile, workspaces, notebooks)
lives in one temporary directory; the Python environment's own ``share/jupyter`` stays on
the data path, because that is where anywidget's prebuilt JupyterLab extension lives. The
kernel runs ``sys.executable`` with this process's environment, so it imports the same
``tokenheat`` the tests do.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import nbformat

import tokenheat

CHROMIUM = os.environ.get("TOKENHEAT_CHROMIUM", "/usr/bin/chromium")
KERNEL_NAME = "tokenheat-test"
SERVER_START_S = 120.0


def package_root() -> pathlib.Path:
    """The directory that holds the ``tokenheat`` package the tests import."""
    return pathlib.Path(tokenheat.__file__).resolve().parent.parent


def bundle_or_fail() -> None:
    """Fail (not skip) when the front-end bundle is missing: without it nothing can render."""
    import pytest

    static = pathlib.Path(tokenheat.__file__).resolve().parent / "static"
    missing = [n for n in ("widget.js", "widget.css") if not (static / n).is_file()]
    if missing:
        pytest.fail(
            f"front-end bundle missing in {static}: {missing}; build it with "
            "`npm install && npm run build` at the repository root (scripts/setup.sh does this)"
        )


def jupyter_env(root: pathlib.Path) -> dict[str, str]:
    """Environment for Jupyter processes whose config, data and runtime live under ``root``.

    ``JUPYTER_PATH`` is left alone so ``sys.prefix/share/jupyter`` (labextensions, nbconvert
    templates) stays on the data path; ``PYTHONPATH`` gains the directory ``tokenheat`` was
    imported from, so a source checkout works as well as an installed package.
    """
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ]:
        path = root / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    parts = [str(package_root()), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    env["PYTHONUNBUFFERED"] = "1"
    env["MPLBACKEND"] = "agg"
    return env


def install_kernelspec(env: dict[str, str]) -> None:
    """A kernelspec named ``KERNEL_NAME`` that runs this interpreter, in the temp data dir."""
    kdir = pathlib.Path(env["JUPYTER_DATA_DIR"]) / "kernels" / KERNEL_NAME
    kdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tokenheat test kernel",
        "language": "python",
        "env": {"PYTHONPATH": env["PYTHONPATH"]},
    }
    (kdir / "kernel.json").write_text(json.dumps(spec, indent=1))


def write_notebook(path: pathlib.Path, cells: list[str]) -> pathlib.Path:
    """Write a notebook of code cells that uses the test kernel."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "tokenheat test kernel",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, str(path))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quiet_lab_settings(config_dir: pathlib.Path, frontend: str) -> None:
    """No news, update checks or notifications that could cover the notebook."""
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "LabApp": {
                    "news_url": None,
                    "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                    "expose_app_in_browser": True,
                },
                "ServerApp": {"disable_check_xsrf": True},
            }
        )
    )
    if frontend != "jupyterlab":
        return
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


#: frontend -> (module run with ``python -m``, its app's config class, notebook URL prefix)
FRONTENDS = {
    "jupyterlab": ("jupyterlab", "LabApp", "lab/tree"),
    "notebook7": ("notebook", "JupyterNotebookApp", "notebooks"),
}


@dataclass
class LabServer:
    """A running JupyterLab (or Notebook 7); ``url(path)`` gives a tokenised address."""

    frontend: str
    root: pathlib.Path
    notebooks: pathlib.Path
    env: dict[str, str]
    port: int
    token: str
    log_path: pathlib.Path
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str, query: str = "") -> str:
        sep = "&" if query else ""
        return f"{self.base}/{path.lstrip('/')}?{query}{sep}token={self.token}"

    def notebook_url(self, name: str) -> str:
        """The address that opens notebook ``name`` (relative to the notebook root)."""
        prefix = FRONTENDS[self.frontend][2]
        return self.url(f"{prefix}/{name}", "reset" if self.frontend == "jupyterlab" else "")

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def api(self, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.base}/api/{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        module, app, _ = FRONTENDS[self.frontend]
        cmd = [
            sys.executable,
            "-m",
            module,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.notebooks}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.disable_check_xsrf=True",
            f"--{app}.expose_app_in_browser=True",
        ]
        if app == "LabApp":
            cmd.append("--LabApp.extension_manager=readonly")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.notebooks
        )
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{module} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                self.api("status")
                return
            time.sleep(0.3)
        raise RuntimeError(f"{module} did not answer within {SERVER_START_S}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()


@contextlib.contextmanager
def lab_server(root: pathlib.Path, frontend: str = "jupyterlab") -> Iterator[LabServer]:
    """Start JupyterLab (or ``"notebook7"``) with everything under ``root``; stop it after.

    Stopping the server shuts down the kernels it started.
    """
    if frontend not in FRONTENDS:
        raise ValueError(f"frontend must be one of {sorted(FRONTENDS)}, got {frontend!r}")
    env = jupyter_env(root)
    install_kernelspec(env)
    _quiet_lab_settings(pathlib.Path(env["JUPYTER_CONFIG_DIR"]), frontend)
    notebooks = root / "notebooks"
    notebooks.mkdir(exist_ok=True)
    server = LabServer(
        frontend=frontend,
        root=root,
        notebooks=notebooks,
        env=env,
        port=free_port(),
        token=secrets.token_hex(16),
        log_path=root / "jupyterlab.log",
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


def labextensions(env: dict[str, str]) -> str:
    """The output of ``jupyter labextension list`` under ``env``."""
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return out.stdout + out.stderr


def chromium_or_skip() -> str:
    import pytest

    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        pytest.skip(
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TOKENHEAT_CHROMIUM)"
        )
    return path


@contextlib.contextmanager
def screenshot_on_failure(page: Any, path: pathlib.Path, server: LabServer | None = None):
    """Re-raise any failure with a screenshot (and the server log tail) attached."""
    try:
        yield
    except Exception as exc:
        note = ""
        try:
            page.screenshot(path=str(path), full_page=True)
            note = f"\nscreenshot: {path}"
        except Exception as shot_exc:  # the page may be gone
            note = f"\n(no screenshot: {shot_exc})"
        if server is not None:
            note += f"\nJupyterLab log tail:\n{server.log_tail(25)}"
        if isinstance(exc, AssertionError):
            raise AssertionError(f"{exc}{note}") from exc
        raise RuntimeError(f"{type(exc).__name__}: {exc}{note}") from exc


#: The context rows a click on flip-rate cell ("dog", middle bucket) must list, by example.
CLICK_MATRIX, CLICK_ROW, CLICK_COL = 0, 1, 1
CLICK_EXAMPLES = {1: ["A", "dog", "ran", "far"], 2: ["The", "dog", "sat", "down"]}


def dashboard_source(selection_log: pathlib.Path | None = None) -> str:
    """Notebook code that builds and displays ``dash``: two matrices, one with contexts.

    With ``selection_log``, every change of ``dash.selected`` seen by the kernel is appended
    there as one JSON line, so a test can watch the kernel side of a click.
    """
    observe = ""
    if selection_log is not None:
        observe = f"""
SELECTION_LOG = pathlib.Path({str(selection_log)!r})


def _log_selection(change):
    with SELECTION_LOG.open("a") as f:
        f.write(json.dumps(change["new"], sort_keys=True) + "\\n")


dash.observe(_log_selection, names="selected")
"""
    # flips and lens below share their keywords on purpose: two small matrices, each spelled out.
    return f"""\
import json
import pathlib

import numpy as np

import tokenheat as th

corpus = th.Corpus.from_tokens(
    [["The", "cat", "sat"], {CLICK_EXAMPLES[1]!r}, {CLICK_EXAMPLES[2]!r}],
    names=["cat sat", "dog ran", "dog sat"],
)
flips = th.TokenMatrix(
    np.array([[0.1, 0.9, 0.3], [0.5, 0.2, 0.7]]),
    rows=["cat", "dog"],
    cols=["start", "middle", "end"],
    row_kind="token",
    col_kind="bucket",
    title="flip rate",
    value_label="flip rate",
    corpus=corpus,
    contexts=th.Contexts(
        row=[0, 1, 1], col=[1, 1, 1], example=[0, 1, 2], start=[1, 1, 1], end=[2, 2, 2]
    ),
)
lens = th.TokenMatrix(
    np.array([[2.0, 1.5, 0.2], [1.0, 0.5, 0.1]]),
    rows=["L0", "L1"],
    cols=["The", "dog", "sat"],
    row_kind="layer",
    col_kind="position",
    title="entropy",
    value_label="entropy (nats)",
    cell_text=[["a", "dog", "sat"], ["the", "dog", "down"]],
    scale="magma",
)
dash = th.Dashboard([flips, lens])
{observe}
dash
"""
