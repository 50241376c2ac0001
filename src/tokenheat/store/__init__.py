"""The results file: ``tokenheat.save`` / ``tokenheat.load`` (``.th``, zip of JSON + ``.npy``).

The format is documented in :mod:`tokenheat.store._archive`.
"""

from __future__ import annotations

from tokenheat.store._archive import FORMAT_VERSION, load, save

__all__ = ["FORMAT_VERSION", "load", "save"]
