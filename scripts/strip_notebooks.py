"""Strip outputs, execution counts and editor metadata from the notebooks kept in git.

    python scripts/strip_notebooks.py              # strip notebooks/*.ipynb in place
    python scripts/strip_notebooks.py --check      # exit 1 and name the ones not stripped
    python scripts/strip_notebooks.py a.ipynb ...  # only these files

What stays: the cells' source, their ``id`` and a cell's ``tags`` (if any); the notebook's
``kernelspec`` and ``language_info.name``. Everything else (outputs, execution counts,
widget state, timings, editor metadata) is removed, so a notebook changes in git only when
its source does.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Any

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def strip(nb: Any) -> Any:
    """Return ``nb`` (a ``nbformat.NotebookNode``) stripped in place: see the module doc."""
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags")
        cell["metadata"] = nbformat.NotebookNode({"tags": list(tags)} if tags else {})
        if cell.cell_type == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    kernelspec = dict(nb.metadata.get("kernelspec") or KERNELSPEC)
    language = (nb.metadata.get("language_info") or {}).get("name", "python")
    nb["metadata"] = nbformat.NotebookNode(
        {
            "kernelspec": nbformat.NotebookNode(
                {k: kernelspec[k] for k in ("display_name", "language", "name") if k in kernelspec}
            ),
            "language_info": nbformat.NotebookNode({"name": language}),
        }
    )
    return nb


def dumps(nb: Any) -> str:
    """The notebook as text, the way Jupyter writes it (one-space indent, final newline)."""
    return nbformat.writes(nb) + "\n"


def stripped_text(path: pathlib.Path) -> tuple[str, str]:
    """``(current text, stripped text)`` of the notebook at ``path``."""
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    return text, dumps(strip(nb))


def main(argv: list[str] | None = None) -> int:
    """Strip (or with ``--check``, only check) notebooks; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if unstripped")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks found in {NOTEBOOKS}", file=sys.stderr)
        return 2
    dirty = []
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"{path}: not a notebook file", file=sys.stderr)
            return 2
        text, clean = stripped_text(path)
        if text == clean:
            continue
        dirty.append(path)
        if not args.check:
            path.write_text(clean, encoding="utf-8")
    verb = "not stripped" if args.check else "stripped"
    for path in dirty:
        print(f"{verb}: {path}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
