"""THE description of a matrix's fields: what each is, its dtype and shape, whether it may be
missing, and how it travels — in the widget spec (``core/_spec.py``, decoded by
``js/codec.ts`` into the types of ``js/types.ts``) and in a ``.th`` results file
(``store/_members.py``).

The three follow this table and tests hold them to it (``tests/unit/test_fields.py``): the
keys ``matrix_spec`` writes, the keys of a saved manifest, and the interfaces of
``js/types.ts`` (parsed) must equal what is listed here. Adding a field means adding a row
here first; the tests then say which of the three is missing it.

Columns of a :class:`Field`:

``wire``
    the key in the widget spec (``None``: not sent to the page);
``ts``
    the property of the decoded TypeScript type (``None``: not in it);
``th``
    the key in the ``.th`` manifest (``None``: not saved, e.g. derived on the way out);
``kind``
    ``f32`` / ``i32`` (little-endian buffers: a ``memoryview`` in the widget, ``{"$b64"}`` in
    HTML, an ``.npy`` member in ``.th``), ``str``, ``strs`` (list of str), ``strs?`` (list of
    str or null), ``int``, ``num``, ``bool``, ``pair`` (two numbers), ``json`` (free-form) or
    the name of another table (``Axis``, ``[Axis]`` for a list of them);
``shape``
    in terms of ``R``, ``C`` (matrix), ``n`` (contexts), ``T`` (corpus tokens), ``E``
    (examples), ``V`` (a vocabulary), ``S`` (all scores);
``optional``
    may be ``null`` / ``None``.

Values stay float32 from the constructor (``core/_checks.as_float_grid``) to the bytes of the
page and the file: no float64 step in between.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Version of the widget spec (``spec.version``); ``js/codec.ts`` refuses any other.
SPEC_VERSION = 1


@dataclass(frozen=True)
class Field:
    """One field of one part of the data model (see the module docstring)."""

    wire: str | None
    ts: str | None
    th: str | None
    kind: str
    shape: str = ""
    optional: bool = False


def _f(
    name: str,
    kind: str,
    shape: str = "",
    *,
    optional: bool = False,
    ts: str | None = "",
    th: str | None = "",
) -> Field:
    """A field named ``name`` everywhere unless ``ts``/``th`` say otherwise (``None``: absent)."""
    return Field(
        wire=name,
        ts=name if ts == "" else ts,
        th=name if th == "" else th,
        kind=kind,
        shape=shape,
        optional=optional,
    )


TABLES: dict[str, tuple[Field, ...]] = {
    "Spec": (
        _f("version", "int", th=None),
        _f("corpora", "[Corpus]", th=None),
        _f("matrices", "[Matrix]", th=None),
        _f("layout", "Layout", th=None),
    ),
    "Layout": (
        _f("columns", "int", th=None),
        _f("cell_size", "int", ts="cellSize", th=None),
    ),
    "Corpus": (
        _f("vocab", "strs", "(V,)"),
        _f("ids", "i32", "(T,)"),
        _f("offsets", "i32", "(E + 1,)"),
        _f("names", "strs", "(E,)", optional=True),
        Field(wire=None, ts=None, th="texts", kind="strs", shape="(E,)", optional=True),
        Field(wire=None, ts=None, th="meta", kind="json", optional=True),
    ),
    "Matrix": (
        _f("title", "str"),
        _f("value_label", "str", ts="valueLabel"),
        _f("shape", "pair", "(2,)", ts="nRows,nCols"),
        _f("values", "f32", "(R, C)"),
        _f("rows", "Axis"),
        _f("cols", "Axis"),
        _f("cell_text", "CellText", ts="cellText", optional=True),
        _f("counts", "f32", "(R, C)", optional=True),
        _f("extras", "[NumericColumn]"),
        _f("scale", "Scale"),
        # A dashboard's is saved as its reader left it: the sort menus' choice (its
        # ``orders``) replaces row_order / col_order (core/_display.as_left), in .th and HTML.
        _f("display", "Display"),
        _f("corpus", "int", optional=True),
        _f("contexts", "Contexts", optional=True),
        Field(wire=None, ts=None, th="meta", kind="json"),
    ),
    "Axis": (
        _f("labels", "strs", "(R,) or (C,)"),
        _f("kind", "str"),
        _f("title", "str"),
        _f("tokens", "strs?", "(R,) or (C,)", optional=True),
        _f("examples", "i32", "(R,) or (C,)", optional=True),
    ),
    "CellText": (
        _f("vocab", "strs", "(V,)"),
        _f("codes", "i32", "(R, C)"),
    ),
    "Scale": (
        _f("palette", "str"),
        _f("kind", "str", th=None),
        _f("domain", "pair", "(2,)"),
        _f("center", "num", optional=True),
        _f("reverse", "bool"),
    ),
    "Display": (
        _f("row_order", "str", ts="rowOrder"),
        _f("col_order", "str", ts="colOrder"),
        _f("cell_text", "str", ts="cellText"),
        _f("digits", "int"),
        _f("min_count", "num", ts="minCount", optional=True),
        _f("mark_outliers", "bool", ts="markOutliers"),
        _f("row_groups", "[Group]", ts="rowGroups"),
        _f("col_groups", "[Group]", ts="colGroups"),
    ),
    "Group": (
        _f("label", "str"),
        _f("start", "int"),
        _f("end", "int"),
    ),
    "NumericColumn": (
        _f("name", "str"),
        _f("values", "f32", "(R, C) or (n,)", th="array"),
    ),
    "LabelColumn": (
        _f("name", "str"),
        _f("categories", "strs", "(V,)"),
        _f("codes", "i32", "(n,)"),
    ),
    "Contexts": (
        _f("n", "int"),
        _f("row", "i32", "(n,)"),
        _f("col", "i32", "(n,)"),
        _f("example", "i32", "(n,)"),
        _f("start", "i32", "(n,)"),
        _f("end", "i32", "(n,)"),
        _f("start2", "i32", "(n,)", optional=True),
        _f("end2", "i32", "(n,)", optional=True),
        _f("score_start", "i32", "(n,)", optional=True, ts="scoreStart"),
        _f("score_end", "i32", "(n,)", optional=True, ts="scoreEnd"),
        _f("scores", "f32", "(S,)", optional=True),
        _f("numeric", "[NumericColumn]"),
        _f("labels", "[LabelColumn]"),
        # The option that capped each cell's list and its value, from the matrix's meta
        # (``{"option": "contexts_per_cell", "value": 50}``), so a capped list can say so.
        _f("limit", "json", optional=True, th=None),
    ),
}

#: How each kind is written as a TypeScript type in ``js/types.ts``.
_TS_KIND = {
    "f32": "Float32Array",
    "i32": "Int32Array",
    "str": "string",
    "strs": "string[]",
    "strs?": "(string | null)[]",
    "int": "number",
    "num": "number",
    "bool": "boolean",
}
#: Fields whose TypeScript type is narrower than their kind (a union of literals).
_TS_OVERRIDE = {
    ("Scale", "palette"): "Palette",
    ("Scale", "kind"): '"sequential" | "diverging"',
    ("Scale", "domain"): "[number, number]",
    ("Matrix", "nRows"): "number",
    ("Matrix", "nCols"): "number",
    ("Spec", "layout"): "{ columns: number; cellSize: number }",
    ("Display", "rowOrder"): "Order",
    ("Display", "colOrder"): "Order",
    ("Display", "cellText"): '"auto" | "value" | "none"',
    ("Contexts", "limit"): "{ option: string; value: number } | null",
}


def ts_interfaces() -> dict[str, dict[str, str]]:
    """The TypeScript interfaces ``js/types.ts`` must declare: name -> {property: type}."""
    out: dict[str, dict[str, str]] = {}
    for table, fields in TABLES.items():
        if table == "Layout":  # inline in Spec
            continue
        props: dict[str, str] = {}
        for field in fields:
            if field.ts is None:
                continue
            for prop in field.ts.split(","):
                if (table, prop) in _TS_OVERRIDE:
                    props[prop] = _TS_OVERRIDE[(table, prop)]
                    continue
                kind = field.kind
                typ = kind[1:-1] + "[]" if kind.startswith("[") else _TS_KIND.get(kind, kind)
                props[prop] = typ + (" | null" if field.optional else "")
        out[table] = props
    return out


def wire_keys(table: str) -> list[str]:
    """Keys of one part of the widget spec, in table order."""
    return [f.wire for f in TABLES[table] if f.wire is not None]


def th_keys(table: str) -> list[str]:
    """Keys of one part of a ``.th`` manifest, in table order."""
    return [f.th for f in TABLES[table] if f.th is not None]
