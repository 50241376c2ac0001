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

from tokenheat.core._checks import check_bool, check_choice, check_int_range, check_type, fail
from tokenheat.errors import ArgumentTypeError

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
        check_type("Group.label", self.label, str, "a str")
        for name in ("start", "end"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                fail(f"Group.{name}", "an int", v, kind=ArgumentTypeError)
        if not 0 <= self.start < self.end:
            fail(
                "Group start/end",
                "a span with 0 <= start < end",
                given=f"start={self.start}, end={self.end}",
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
            check_choice(name, getattr(self, name), ORDERS)
        check_choice("cell_text", self.cell_text, CELL_TEXT)
        check_int_range("digits", self.digits, 0, 6)
        if self.min_count is not None:
            if isinstance(self.min_count, bool) or not isinstance(self.min_count, (int, float)):
                fail("min_count", "a number >= 0 or None", self.min_count, kind=ArgumentTypeError)
            if not self.min_count >= 0:
                fail("min_count", "a number >= 0 or None", self.min_count)
            object.__setattr__(self, "min_count", float(self.min_count))
        object.__setattr__(self, "mark_outliers", check_bool("mark_outliers", self.mark_outliers))
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
                    fail(
                        name,
                        f"groups spanning within 0:{n} (the matrix along that axis)",
                        given=f"{g.label!r} spanning {g.start}:{g.end}",
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
        check_type("display", data, Mapping, "a mapping")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            fail(
                "display",
                f"a mapping with keys among {sorted(cls.__dataclass_fields__)}",
                given=f"the unknown keys {sorted(unknown)}",
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


def _groups(name: str, value: Any) -> tuple[Group, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        fail(name, "a sequence of Group", value, kind=ArgumentTypeError)
    out = []
    for g in value:
        if isinstance(g, Mapping):
            g = Group(**dict(g))
        if not isinstance(g, Group):
            fail(f"{name} entries", "tokenheat Group objects or dicts", g, kind=ArgumentTypeError)
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
