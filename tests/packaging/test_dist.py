"""The wheel and the sdist install without Node and carry the front end and the licence.

Both are built once (``python -m build``, no isolation: the build backend comes from the test
environment) and each is installed into a fresh venv whose PATH holds no ``node`` or ``npm``.
The fresh venvs see this environment's packages through a ``.pth`` line (so nothing is
downloaded) but not its editable tokenheat, so the imported tokenheat is the installed one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import tokenheat

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ("widget.js", "standalone.js", "widget.css")


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _no_node_env(bin_dir: Path) -> dict[str, str]:
    """The environment with only ``bin_dir`` on PATH (no Node) and no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env["PATH"] = str(bin_dir)
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    assert shutil.which("node", path=env["PATH"]) is None
    assert shutil.which("npm", path=env["PATH"]) is None
    return env


def _fresh_venv(where: Path) -> Path:
    """A venv without pip of its own that sees this environment's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shared = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "_tokenheat_test_shared.pth").write_text("\n".join(sorted(shared)) + "\n")
    return python


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not all((ROOT / "src" / "tokenheat" / "static" / name).exists() for name in BUNDLE):
        pytest.fail("the front-end bundle is not built; run `npm run build` first")
    out = tmp_path_factory.mktemp("dist")
    env = _no_node_env(Path(sys.executable).parent)
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), "."], env, ROOT)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_wheel_and_sdist_carry_bundle_licence_and_types(dists: dict[str, Path]) -> None:
    names = zipfile.ZipFile(dists["wheel"]).namelist()
    for name in BUNDLE:
        assert f"tokenheat/static/{name}" in names
    assert "tokenheat/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    with tarfile.open(dists["sdist"]) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    for name in BUNDLE:
        assert f"src/tokenheat/static/{name}" in members
    assert {"LICENSE", "CHANGELOG.md", "src/tokenheat/py.typed"} <= members
    assert dists["wheel"].name == f"tokenheat-{tokenheat.__version__}-py3-none-any.whl"


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_installs_without_node(kind: str, dists: dict[str, Path], tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path / "venv")
    env = _no_node_env(python.parent)
    pip = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    _run([*pip, str(dists[kind])], env, tmp_path)
    probe = (
        "import pathlib, tokenheat, tokenheat.widget as w;"
        "print(tokenheat.__file__);"
        "print(tokenheat.__version__);"
        "print(*sorted(p.name for p in pathlib.Path(w.__file__).parent.joinpath('static').iterdir()));"
        "print(len(str(w.Heatmap._esm)) > 1000)"
    )
    where, version, static, esm_ok = _run([str(python), "-c", probe], env, tmp_path).split("\n")[:4]
    assert Path(where).is_relative_to(tmp_path / "venv"), where
    assert version == tokenheat.__version__
    assert static.split() == sorted(BUNDLE)
    assert esm_ok == "True"
