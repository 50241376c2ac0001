"""Colour scales: a palette, a domain and, for diverging palettes, a centre."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tokenheat.core._checks import check_bool, check_choice, check_number, check_pair, fail
from tokenheat.errors import ArgumentTypeError

SEQUENTIAL = ("viridis", "magma", "Blues", "Greys")
DIVERGING = ("RdBu", "RdYlGn")
PALETTES = SEQUENTIAL + DIVERGING


@dataclass(frozen=True)
class ColorScale:
    """How values map to colours.

    Parameters
    ----------
    palette : str
        One of ``viridis``, ``magma``, ``Blues``, ``Greys`` (sequential) or ``RdBu``,
        ``RdYlGn`` (diverging).
    domain : (float, float), optional
        Values at the two ends of the palette. ``None`` takes the finite range of the data
        (for a diverging palette, symmetric about ``center``).
    center : float, optional
        The value drawn with the palette's middle colour. Diverging palettes default to 0.
    reverse : bool
        Flip the palette.

    Examples
    --------
    >>> ColorScale("magma", domain=(0, 1)).kind
    'sequential'
    >>> ColorScale.diverging().center
    0.0
    """

    palette: str = "viridis"
    domain: tuple[float, float] | None = None
    center: float | None = None
    reverse: bool = False

    def __post_init__(self) -> None:
        check_choice("palette", self.palette, PALETTES)
        object.__setattr__(self, "reverse", check_bool("reverse", self.reverse))
        center = check_number("center", self.center, allow_none=True)
        if self.palette in DIVERGING and center is None:
            center = 0.0
        if self.palette in SEQUENTIAL and center is not None:
            fail(
                "center",
                f"None for the sequential palette {self.palette!r}",
                self.center,
                f"a centre needs a diverging palette ({', '.join(DIVERGING)})",
            )
        object.__setattr__(self, "center", center)
        if self.domain is not None:
            object.__setattr__(self, "domain", check_pair("domain", self.domain))

    @property
    def kind(self) -> str:
        """``"diverging"`` or ``"sequential"``."""
        return "diverging" if self.palette in DIVERGING else "sequential"

    @classmethod
    def diverging(
        cls,
        palette: str = "RdBu",
        center: float = 0.0,
        domain: tuple[float, float] | None = None,
    ) -> ColorScale:
        """A diverging scale centred on ``center`` (default 0)."""
        check_choice("palette", palette, DIVERGING)
        return cls(palette=palette, domain=domain, center=center)

    @classmethod
    def coerce(cls, value: Any) -> ColorScale:
        """Accept a ``ColorScale``, a palette name or ``None`` (viridis)."""
        if value is None:
            return cls()
        if isinstance(value, ColorScale):
            return value
        if isinstance(value, str):
            return cls(palette=value)
        if isinstance(value, dict):
            unknown = set(value) - {"palette", "domain", "center", "reverse"}
            if unknown:
                fail("scale", "a dict of palette, domain, center, reverse", value)
            return cls(**value)
        fail("scale", "a ColorScale, a palette name or a dict", value, kind=ArgumentTypeError)
        raise AssertionError  # unreachable

    def resolve(self, values: np.ndarray) -> tuple[float, float]:
        """The domain to draw ``values`` with: the given one or the data's finite range."""
        if self.domain is not None:
            return self.domain
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            lo, hi = 0.0, 1.0
        else:
            lo, hi = float(finite.min()), float(finite.max())
        if self.center is not None:
            c = float(self.center)
            half = max(abs(hi - c), abs(c - lo)) or 1.0
            return (c - half, c + half)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        return (lo, hi)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (the saved and transported form)."""
        return {
            "palette": self.palette,
            "domain": list(self.domain) if self.domain is not None else None,
            "center": self.center,
            "reverse": self.reverse,
        }
