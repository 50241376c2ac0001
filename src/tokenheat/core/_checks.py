"""THE module of argument checks: every failure names the argument, what was given and what
would work, in one phrasing — ``"<arg> must be <what works>, got <what was given>"`` — and
raises a :mod:`tokenheat.errors` class (``ArgumentError`` for a bad value,
``ArgumentTypeError`` for a bad type), so callers may also catch ``ValueError``/``TypeError``.

The data model's constructors run every input through here, so the same checks hold for a
matrix built by hand, by an analysis, by ``from_dataframe`` or by ``th.load``:

- numbers: torch tensors (``requires_grad``, bfloat16, on a GPU) are detached and moved to the
  CPU here (torch is never imported); masked arrays have their masked cells turned into NaN;
  complex, datetime, timedelta, string, bool-as-value and ragged inputs are refused; values
  are cast to float32 *first* and checked for ±inf *after* the cast, so ``1e39`` (which
  overflows float32) is refused rather than stored as inf;
- strings: a lone surrogate (``"\\ud800"``, which no UTF-8 file, page or terminal can carry)
  is replaced by U+FFFD, with a :class:`~tokenheat.errors.TokenheatWarning` naming the field —
  the one policy for every string that enters the data model.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import numpy as np

from tokenheat.errors import ArgumentError, ArgumentTypeError, TokenheatWarning

_SURROGATE = re.compile("[\ud800-\udfff]")


def describe(value: Any) -> str:
    """A short, safe description of ``value`` for an error message.

    Scalars and short reprs are shown as they are (strings via ``ascii``); sequences, arrays,
    frames and tensors by their type and size; any other object whose repr is long, spans
    lines or is the default ``<... at 0x...>`` by its type alone (``"a GPT2LMHeadModel"``).
    """
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    if hasattr(value, "shape") and hasattr(value, "dtypes"):  # a pandas frame
        return f"a {type(value).__name__} of shape {tuple(value.shape)}"
    if _is_torch(value):
        return f"a torch tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if value is None or isinstance(value, (str, bytes, numbers.Number, np.generic)):
        text = ascii(value) if isinstance(value, str) else repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = "<"
    if "\n" in text or len(text) > 60 or text.startswith("<"):
        return a_type(value)
    return text


def a_type(value: Any) -> str:
    """``"a dict"``, ``"an HFClassifier"``: the type of ``value`` with its article."""
    name = type(value).__name__
    return ("an " if name[:1] in "AEIOUaeiou" or name[:2] in ("HF", "LM") else "a ") + name


# Same parameters as error() below, on purpose: fail raises, error returns (for `from None`).
def fail(
    name: str,
    works: str,
    value: Any = None,
    hint: str = "",
    *,
    kind: type[Exception] = ArgumentError,
    given: str | None = None,
) -> NoReturn:
    """Raise ``kind("<name> must be <works>, got <what was given>[; hint]")``.

    What was given is ``describe(value)``, or ``given`` where a count or a property says it
    better than the value (``given="a prompt of 600 tokens"``).
    """
    raise error(name, works, value, hint, kind=kind, given=given)


# Same parameters as fail() above, on purpose: the one builder both use.
def error(
    name: str,
    works: str,
    value: Any = None,
    hint: str = "",
    *,
    kind: type[Exception] = ArgumentError,
    given: str | None = None,
) -> Exception:
    """The exception :func:`fail` raises, for ``raise error(...) from None`` inside an
    ``except`` (the message says what went wrong; the caught error's traceback is noise)."""
    got = describe(value) if given is None else given
    return kind(f"{name} must be {works}, got {got}" + (f"; {hint}" if hint else ""))


# ---------------------------------------------------------------------- scalars
def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a bool (numpy's included); ``"no"``, 0 or ``None`` are refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    fail(name, "True or False", value, kind=ArgumentTypeError)


def check_number(
    name: str, value: Any, *, finite: bool = True, allow_none: bool = False
) -> float | None:
    """``value`` as a float; strings and bools are refused (``"0"`` is not a number)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(name, "a number" + (" or None" if allow_none else ""), value, kind=ArgumentTypeError)
    out = float(value)
    if finite and not math.isfinite(out):
        fail(name, "a finite number", value)
    return out


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum``; bools, floats and strings are refused.

    A wrong type is an :class:`ArgumentTypeError`, a too small int an :class:`ArgumentError`,
    in every module.
    """
    return _int_at_least(name, value, minimum, "")


def check_optional_positive_int(name: str, value: Any, *, minimum: int = 1) -> int | None:
    """:func:`check_positive_int` that lets ``None`` through (``n=None`` for "all")."""
    return None if value is None else _int_at_least(name, value, minimum, " or None")


def _int_at_least(name: str, value: Any, minimum: int, extra: str) -> int:
    what = ("a positive int" if minimum == 1 else f"an int >= {minimum}") + extra
    hint = f"pass e.g. {name}={max(minimum, 1)}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        fail(name, what, value, hint, kind=ArgumentTypeError)
    if int(value) < minimum:
        fail(name, what, value, hint)
    return int(value)


def check_int_range(name: str, value: Any, low: int, high: int, hint: str = "") -> int:
    """``value`` as an int in ``low..high`` (both included); bools and floats are refused."""
    what = f"an int from {low} to {high}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        fail(name, what, value, hint, kind=ArgumentTypeError)
    if not low <= int(value) <= high:
        fail(name, what, value, hint)
    return int(value)


def check_type(
    name: str,
    value: Any,
    types: type | tuple[type, ...],
    works: str,
    hint: str = "",
    *,
    allow_none: bool = False,
) -> Any:
    """``value`` if it is an instance of ``types`` (or ``None`` with ``allow_none``).

    ``works`` says it in the user's words (``"a torch.nn.Module"``); the callers pass the
    class, so this module imports no torch.
    """
    if (value is None and allow_none) or isinstance(value, types):
        return value
    fail(name, works + (" or None" if allow_none else ""), value, hint, kind=ArgumentTypeError)


def check_given(name: str, value: Any, works: str, hint: str = "") -> Any:
    """``value`` unless it is ``None``: a missing object (``tokenizer=None`` where one is
    needed) is an :class:`ArgumentTypeError`, as Python's own missing argument is."""
    if value is None:
        fail(name, works, value, hint, kind=ArgumentTypeError)
    return value


def check_choice(name: str, value: Any, options: Iterable[Any], hint: str = "") -> Any:
    """``value`` if it is one of ``options`` (the one phrasing of an unknown option)."""
    options = list(options)
    if not any(value is o or (type(value) is type(o) and value == o) for o in options):
        fail(name, "one of " + ", ".join(repr(o) for o in options), value, hint)
    return value


def check_str(name: str, value: Any, *, allow_none: bool = False) -> str | None:
    """``value`` if it is a ``str`` (surrogates replaced); numbers and ``None`` are refused."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        fail(name, "a str" + (" or None" if allow_none else ""), value, kind=ArgumentTypeError)
    return clean_text(name, value)


def check_pair(name: str, value: Any) -> tuple[float, float]:
    """Two finite numbers ``(low, high)`` with ``low <= high``; ``"01"`` is refused."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        fail(name, "two numbers (low, high)", value, kind=ArgumentTypeError)
    if len(value) != 2:
        fail(name, "two numbers (low, high)", value)
    lo = check_number(f"{name}[0]", value[0])
    hi = check_number(f"{name}[1]", value[1])
    assert lo is not None and hi is not None
    if lo > hi:
        fail(name, "(low, high) with low <= high", value)
    return (lo, hi)


def check_template(name: str, value: Any, field: str = "{text}") -> str:
    """``value`` if it is a str holding the placeholder ``field`` (``"{text}"``)."""
    works = f"a str containing {field!r}"
    if not isinstance(value, str):
        fail(name, works, value, kind=ArgumentTypeError)
    if field not in value:
        fail(name, works, value)
    return value


def check_list(
    name: str,
    value: Any,
    works: str,
    *,
    min_items: int = 0,
    item_type: type | tuple[type, ...] | None = None,
    item_works: str = "",
) -> list[Any]:
    """``value`` as a list: a lone str, a non-sequence or an item not of ``item_type`` is an
    :class:`ArgumentTypeError` (naming the item: ``texts[2]``), fewer than ``min_items``
    items an :class:`ArgumentError`. ``works`` says all of it (``"a list of at least two
    label words"``)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        hint = f"wrap a single one in a list: [{value!r:.40}]" if isinstance(value, str) else ""
        fail(name, works, value, hint, kind=ArgumentTypeError)
    if item_type is not None:
        for k, item in enumerate(value):
            if not isinstance(item, item_type):
                fail(f"{name}[{k}]", item_works, item, kind=ArgumentTypeError)
    if len(value) < min_items:
        fail(name, works, value)
    return list(value)


def check_str_list(
    name: str, value: Any, *, min_items: int = 0, works: str = "a list of str"
) -> list[str]:
    """:func:`check_list` of str items (``texts``, ``labels``)."""
    return check_list(name, value, works, min_items=min_items, item_type=str, item_works="a str")


# ---------------------------------------------------------------------- strings
def clean_text(name: str, text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (warning once, naming ``name``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        _warn_surrogate(name)
        return _SURROGATE.sub("\ufffd", text)
    return text


def clean_texts(name: str, texts: list[str]) -> list[str]:
    """:func:`clean_text` over a list, one warning at most; the list is returned as is when clean."""
    try:
        "\x00".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        _warn_surrogate(name)
        return [_SURROGATE.sub("\ufffd", t) for t in texts]
    return texts


def _warn_surrogate(name: str) -> None:
    """Warn that ``name`` held a lone surrogate, at the caller of the clean_text* function."""
    warnings.warn(
        f"{name} holds a lone surrogate (not valid Unicode, cannot be written as UTF-8); "
        "it was replaced by U+FFFD",
        TokenheatWarning,
        stacklevel=4,  # here, clean_text(s), its caller, the user's call
    )


def as_labels(name: str, labels: Any, expected: int | None = None) -> list[str]:
    """Turn ``labels`` into a list of ``str`` (surrogates replaced), checking its length."""
    if labels is None:
        fail(name, "a sequence of labels", labels, kind=ArgumentTypeError)
    if isinstance(labels, str):
        fail(
            name,
            "a sequence of labels",
            labels,
            f"wrap a single label in a list: [{labels!r}]",
            kind=ArgumentTypeError,
        )
    try:
        out = [x if isinstance(x, str) else str(x) for x in labels]
    except TypeError:
        fail(name, "a sequence of labels", labels, kind=ArgumentTypeError)
    if expected is not None and len(out) != expected:
        fail(name, f"{expected} labels (one per matrix {name[:-1]})", labels)
    return clean_texts(name, out)


# ---------------------------------------------------------------------- arrays
def _is_torch(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def as_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a NumPy array of a real numeric dtype (torch and masked arrays handled).

    Torch tensors are detached, moved to the CPU and, if floating (bfloat16, float16, ...),
    cast to float32; masked cells of a ``numpy.ma`` array become NaN. Complex, datetime,
    timedelta, string, object and ragged inputs raise an error naming ``name``.
    """
    if _is_torch(value):
        if value.is_complex():
            fail(name, "real numbers", value, "take .real or .abs() first")
        t = value.detach().cpu()
        value = t.float().numpy() if t.is_floating_point() else t.numpy()
    if isinstance(value, np.ma.MaskedArray):
        if value.dtype.kind in "biuf":
            value = np.ma.filled(value.astype(np.float64), np.nan)
        else:
            value = np.ma.getdata(value)
    try:
        arr = np.asarray(value)
    except ValueError:
        fail(name, "a rectangular array of numbers (all rows of one length)", value)
    if arr.dtype == object:
        if any(isinstance(x, (str, bytes)) for x in arr.flat):
            fail(
                name,
                "numbers",
                arr,
                "it holds strings; convert them with pd.to_numeric(...)",
                kind=ArgumentTypeError,
            )
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            fail(
                name,
                "a rectangular array of numbers",
                value,
                "rows of different lengths or non-numbers inside; pad ragged rows with NaN",
                kind=ArgumentTypeError,
            )
    kind = arr.dtype.kind
    if kind == "c":
        fail(name, "real numbers", arr, "take .real or np.abs(...) first", kind=ArgumentTypeError)
    if kind in "mM":
        fail(
            name,
            "real numbers",
            arr,
            "convert datetimes to numbers explicitly, e.g. (t - t0) / np.timedelta64(1, 's')",
            kind=ArgumentTypeError,
        )
    if kind not in "biuf":
        fail(
            name, "numbers", arr, "convert strings with pd.to_numeric(...)", kind=ArgumentTypeError
        )
    return arr


def as_float_grid(
    name: str, value: Any, shape: tuple[int, ...], *, allow_nan: bool = True
) -> np.ndarray:
    """``value`` as a float32 array of ``shape``: NaN allowed, ±inf refused *after* the cast.

    The float32 values are kept bit for bit (-0.0, subnormals, NaN) from here to the bytes of
    the page and the results file.
    """
    arr = as_array(name, value)
    if arr.shape != shape:
        fail(name, f"an array of shape {shape} (the matrix shape)", arr)
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(np.float32, copy=arr.dtype != np.float32)
    inf = np.isinf(out)
    if inf.any():
        where = tuple(int(i) for i in np.argwhere(inf)[0])
        raw = arr[where]
        cause = (
            "±inf"
            if np.isinf(raw)
            else f"{float(raw):g}, beyond float32's range (±3.4e38) and so inf as float32"
        )
        fail(
            name,
            "finite numbers or NaN (float32)",
            arr,
            f"it holds {cause} at {_at(where)}; use NaN for a missing cell or clip to a finite "
            "value",
        )
    if not allow_nan and np.isnan(out).any():
        fail(name, "free of NaN", arr)
    return out


def _at(where: tuple[int, ...]) -> str:
    if len(where) == 2:
        return f"row {where[0]}, col {where[1]}"
    return f"entry {where[0]}" if len(where) == 1 else str(list(where))


def as_int_array(name: str, value: Any, length: int | None = None) -> np.ndarray:
    """Turn ``value`` into a 1-D int32 array of an optional ``length``."""
    arr = as_array(name, value) if not isinstance(value, np.ndarray) or value.size else value
    if arr.ndim != 1:
        fail(name, "one-dimensional", arr)
    if (
        arr.size
        and arr.dtype.kind not in "iu"
        and (arr.dtype.kind != "f" or not np.all(np.mod(arr, 1) == 0))
    ):
        fail(name, "integers", arr, kind=ArgumentTypeError)
    if arr.size and (arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min):
        fail(name, "integers within the int32 range", arr)
    arr = arr.astype(np.int32, copy=False)
    if length is not None and arr.shape[0] != length:
        fail(name, f"of length {length}", arr)
    return arr


def check_index_range(name: str, arr: np.ndarray, low: int, high: int, what: str) -> None:
    """Every entry of ``arr`` in ``[low, high)``; else an error naming the first outlier."""
    if arr.size:
        bad = (arr < low) | (arr >= high)
        if bad.any():
            k = int(np.argmax(bad))
            fail(
                name,
                f"indices in {low}..{high - 1} ({what})",
                arr,
                f"entry {k} is {int(arr[k])}",
            )


def unique_or_raise(name: str, labels: Sequence[str], kind: str) -> None:
    """Reject duplicate labels on an axis where they would be ambiguous."""
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise ArgumentError(
                f"{name} must hold each label once on an axis of kind {kind!r}, got "
                f"{label!r} more than once; aggregate duplicates first "
                "(from_dataframe(..., agg='mean')) or use kind 'position' / 'example' where "
                "repeats are expected"
            )
        seen.add(label)
