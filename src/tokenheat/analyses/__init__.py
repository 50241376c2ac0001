"""The built-in analyses; each returns a :class:`tokenheat.TokenMatrix`.

``lens``, ``anchor_similarity``, ``flip_rate`` and ``attribution`` are loaded from their
modules on first access. Each function shares its name with its module
(``tokenheat.analyses.lens`` the module, ``tokenheat.analyses.lens`` the function), so the
package keeps the *function* under that name even after the module is imported.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    "lens": "tokenheat.analyses.lens",
    "anchor_similarity": "tokenheat.analyses.anchor_similarity",
    "flip_rate": "tokenheat.analyses.flip_rate",
    "attribution": "tokenheat.analyses.attribution",
}

__all__ = ["anchor_similarity", "attribution", "flip_rate", "lens"]

if TYPE_CHECKING:
    from tokenheat.analyses.anchor_similarity import anchor_similarity
    from tokenheat.analyses.attribution import attribution
    from tokenheat.analyses.flip_rate import flip_rate
    from tokenheat.analyses.lens import lens


class _Package(types.ModuleType):
    """Ignores the import system binding a same-named submodule over a function name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenheat.analyses' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
