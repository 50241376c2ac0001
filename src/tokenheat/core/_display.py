"""How a matrix is read, beyond its colours: order, printed values, thin cells, groups.

A :class:`Display` travels with a :class:`~tokenheat.TokenMatrix` (``m.display``) into the
widget, the HTML export and the results file, so the figure a notebook shows is the figure a
colleague opens. Everything here is a default for the reader: the widget's controls change
the order live, and the choice made there is what an export keeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tokenheat.errors import ArgumentError, ArgumentTypeError

#: Row/column orders the widget offers. All but "original" and "label" sort descending by a
#: statistic of the row's (column's) finite values; "cluster" puts similar profiles together
#: (greedy nearest-neighbour chain over Euclidean distance of the NaN-filled profiles).
ORDERS = ("original", "label", "mean", "max", "variance", "count", "cluster")
#: What a cell prints: "auto" (the matrix's cell text where it fits), "value" (the value,
#: formatted with ``digits``), "none".
CELL_TEXT = ("auto", "value", "none")


@dataclass(frozen=True)
class Group:
    """A contiguous span of rows or columns set apart and named, e.g. appended dummy tokens.

    Parameters
    ----------
    label : str
        What the span is, drawn beside it (``"dummy tokens"``).
    start, end : int
        The span, ``start`` included, ``end`` excluded, in data (not display) order.
    """

    label: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if not isinstance(self.label, str):
            raise ArgumentTypeError(f"Group.label must be a str, got {type(self.label).__name__}")
        for name in ("start", "end"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ArgumentTypeError(f"Group.{name} must be an int, got {v!r}")
        if not 0 <= self.start < self.end:
            raise ArgumentError(
                f"Group span must satisfy 0 <= start < end, got start={self.start}, end={self.end}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Display:
    """Reading defaults of a heatmap.

    Parameters
    ----------
    row_order, col_order : str
        Initial order: ``"original"``, ``"label"``, ``"mean"``, ``"max"``, ``"variance"``,
        ``"count"`` (descending) or ``"cluster"``. Columns of a position, layer, bucket or
        distance axis are usually best left ``"original"``.
    cell_text : str
        ``"auto"`` draws the matrix's cell text where it fits, ``"value"`` prints each value
        (``digits`` after the point), ``"none"`` draws colour only.
    digits : int
        Digits after the decimal point when values are printed (tooltips always show more).
    min_count : float or None
        Cells backed by fewer observations (``counts``) are drawn faded and marked, and their
        tooltip says so. ``None`` marks nothing.
    mark_outliers : bool
        Mark cells whose value lies outside the colour scale's domain (they are drawn with the
        end colour; the mark says the value is beyond it).
    row_groups, col_groups : sequence of Group
        Spans set apart and labelled (for example the dummy tokens appended to a prompt).

    Examples
    --------
    >>> Display(row_order="mean", min_count=3).row_order
    'mean'
    """

    row_order: str = "original"
    col_order: str = "original"
    cell_text: str = "auto"
    digits: int = 2
    min_count: float | None = None
    mark_outliers: bool = False
    row_groups: tuple[Group, ...] = field(default=())
    col_groups: tuple[Group, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("row_order", "col_order"):
            _choice(name, getattr(self, name), ORDERS)
        _choice("cell_text", self.cell_text, CELL_TEXT)
        if isinstance(self.digits, bool) or not isinstance(self.digits, int):
            raise ArgumentTypeError(f"digits must be an int from 0 to 6, got {self.digits!r}")
        if not 0 <= self.digits <= 6:
            raise ArgumentError(f"digits must be an int from 0 to 6, got {self.digits!r}")
        if self.min_count is not None:
            if isinstance(self.min_count, bool) or not isinstance(self.min_count, (int, float)):
                raise ArgumentTypeError(
                    f"min_count must be a number or None, got {self.min_count!r}"
                )
            if not self.min_count >= 0:
                raise ArgumentError(f"min_count must be >= 0 or None, got {self.min_count!r}")
            object.__setattr__(self, "min_count", float(self.min_count))
        if not isinstance(self.mark_outliers, bool):
            raise ArgumentTypeError(f"mark_outliers must be a bool, got {self.mark_outliers!r}")
        for name in ("row_groups", "col_groups"):
            object.__setattr__(self, name, _groups(name, getattr(self, name)))

    def check_against(self, shape: tuple[int, int]) -> None:
        """Raise unless every group lies inside a matrix of ``shape``."""
        for name, groups, n in (
            ("row_groups", self.row_groups, shape[0]),
            ("col_groups", self.col_groups, shape[1]),
        ):
            for g in groups:
                if g.end > n:
                    raise ArgumentError(
                        f"{name} holds {g.label!r} spanning {g.start}:{g.end}, beyond the "
                        f"matrix's {n} along that axis; use spans within 0:{n}"
                    )

    def replace(self, **changes: Any) -> Display:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the widget spec and the results file."""
        return {
            "row_order": self.row_order,
            "col_order": self.col_order,
            "cell_text": self.cell_text,
            "digits": self.digits,
            "min_count": self.min_count,
            "mark_outliers": self.mark_outliers,
            "row_groups": [g.to_dict() for g in self.row_groups],
            "col_groups": [g.to_dict() for g in self.col_groups],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Display:
        """Inverse of :meth:`to_dict` (unknown keys are refused)."""
        if not isinstance(data, Mapping):
            raise ArgumentTypeError(f"display must be a mapping, got {type(data).__name__}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ArgumentError(
                f"display has unknown keys {sorted(unknown)}; known: "
                f"{sorted(cls.__dataclass_fields__)}"
            )
        return cls(**dict(data))

    @classmethod
    def coerce(cls, value: Display | Mapping[str, Any] | None) -> Display:
        """``None`` → the defaults; a mapping → :meth:`from_dict`; a Display as is."""
        if value is None:
            return cls()
        if isinstance(value, Display):
            return value
        return cls.from_dict(value)


def _choice(name: str, value: Any, options: Sequence[str]) -> None:
    if value not in options:
        raise ArgumentError(f"{name} must be one of {', '.join(options)}, got {value!r}")


def _groups(name: str, value: Any) -> tuple[Group, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ArgumentTypeError(f"{name} must be a sequence of Group, got {value!r}")
    out = []
    for g in value:
        if isinstance(g, Mapping):
            g = Group(**dict(g))
        if not isinstance(g, Group):
            raise ArgumentTypeError(
                f"{name} must hold tokenheat Group objects or dicts, got {type(g).__name__}"
            )
        out.append(g)
    return tuple(out)


def as_left(displays: Sequence[Display], orders: Any) -> list[Display]:
    """The displays of a dashboard's matrices as its reader left them.

    ``orders`` is a widget's ``orders`` trait: one ``{"row": ..., "col": ...}`` per matrix,
    written by the page's sort menus (possibly shorter than ``displays``, or empty when the
    reader sorted nothing). A chosen order replaces that matrix's ``row_order`` /
    ``col_order``; everything else, and every matrix without a choice, is kept as is. The HTML
    export and the results file both save a dashboard this way, so the order a reader chose is
    the order the file opens in.
    """
    out = list(displays)
    for i, entry in enumerate(list(orders or [])[: len(out)]):
        if not isinstance(entry, Mapping):
            raise ArgumentTypeError(
                f"orders[{i}] must be a dict with keys 'row' and 'col', got {entry!r}"
            )
        chosen = {
            f"{axis}_order": entry[axis] for axis in ("row", "col") if entry.get(axis) is not None
        }
        if chosen:
            out[i] = out[i].replace(**chosen)
    return out
