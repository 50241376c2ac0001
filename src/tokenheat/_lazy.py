"""Lazy package attributes (PEP 562), written once for every package that uses them.

``tokenheat``, ``tokenheat.models`` and ``tokenheat.analyses`` name what they export and the
module each name lives in; the module is imported on first access only, so that
``import tokenheat`` never imports torch. Type checkers read the same names from each
package's ``if TYPE_CHECKING:`` imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping, MutableMapping
from typing import Any


def lazy_attributes(
    namespace: MutableMapping[str, Any],
    where: Mapping[str, str],
    *,
    modules: Collection[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__``.

    Parameters
    ----------
    namespace
        The package's ``globals()``: it must hold ``__name__`` and ``__all__``, and each
        value is cached there on first access.
    where
        Exported name -> the module it lives in.
    modules
        Names whose value is the module itself rather than an attribute of it.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)``, to be assigned to those names in the package.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            imported = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name in ("torch", "transformers"):  # a base install: say what to install
                raise ModuleNotFoundError(
                    f"{package}.{name} needs {err.name}, which is not installed; install it "
                    "with pip install 'tokenheat[torch]'",
                    name=err.name,
                ) from err
            raise
        value = imported if name in modules else getattr(imported, name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(namespace["__all__"])

    return __getattr__, __dir__
