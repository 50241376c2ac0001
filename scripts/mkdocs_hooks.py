"""mkdocs hook: the repository's README, CONTRIBUTING and CHANGELOG become pages of the docs.

They stay where GitHub and PyPI show them (the repository root); at build time each is added
as a page, with links into ``docs/`` made relative to the docs folder. Nothing is copied into
``docs/``, so there is one copy of each text.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: repository file -> page in the docs
PAGES = {"README.md": "index.md", "CONTRIBUTING.md": "contributing.md", "CHANGELOG.md": "changelog.md"}
#: how links between these files and into docs/ read from inside the docs folder
LINKS = {"docs/": "", **{src: dst for src, dst in PAGES.items()}}


def _relink(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        target = match.group(1)
        for src, dst in LINKS.items():
            if target.startswith(src):
                return f"]({dst}{target[len(src):]})"
        return match.group(0)

    return re.sub(r"\]\(([^)#:]+)", repl, text)


def on_files(files: Files, config: Any) -> Files:
    for src, dst in PAGES.items():
        text = _relink((ROOT / src).read_text(encoding="utf-8"))
        files.append(File.generated(config, dst, content=text))
    return files
