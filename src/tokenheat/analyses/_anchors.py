"""Where an anchor stands in encoded texts: each occurrence's first and last token.

An anchor is found by the character offsets of its text (so a tokenizer that splits it
differently in different contexts still finds it), by its token ids, or given directly as
positions. A multi-token anchor is one unit: ``first`` is where distances count back from,
``last`` the position whose hidden state is compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokenheat.core._checks import check_given, check_int_range, fail
from tokenheat.errors import ArgumentTypeError


@dataclass(frozen=True)
class Occurrence:
    """One anchor occurrence: text ``example``, token span ``[first, last]``.

    ``last`` is ``m``, whose hidden state is compared; distances count back from ``first``.
    """

    example: int
    first: int
    last: int


def find_anchors(encoded: Sequence[Any], anchor: Any, tokenizer: Any = None) -> list[Occurrence]:
    """Locate the anchor in each encoded text.

    A string anchor is found by **character offsets**: each non-overlapping occurrence of
    the string in the text maps to the tokens whose character spans overlap it, and ``m`` is
    the last of them (so ``"_PAUSE_"`` split into ``"Ġ_" "PAUSE" "_"`` gives the ``"_"``).
    Texts without an offset mapping (slow tokenizers) fall back to matching the token ids of
    ``anchor`` (with and without a leading space, via ``tokenizer``) as a subsequence. An
    occurrence whose last token was cut by truncation is skipped. A list anchor gives the
    positions ``m`` of each text directly (negative ones count from the end).

    Raises
    ------
    tokenheat.errors.ArgumentError
        If a string anchor is empty, or a list anchor's length or positions do not fit the
        texts (a ``ValueError``).
    tokenheat.errors.ArgumentTypeError
        If ``anchor`` is neither a string nor a list of position lists, or a position is not
        an int (a ``TypeError``).
    """
    out: list[Occurrence] = []
    if isinstance(anchor, str):
        if not anchor:
            fail("anchor", "a non-empty string (e.g. '_PAUSE_')", anchor)
        for ex, e in enumerate(encoded):
            if e.offsets is not None:
                spans = _offset_spans(e.text, e.offsets, anchor)
            else:
                spans = _id_spans(e.ids, _anchor_ids(tokenizer, anchor))
            out.extend(Occurrence(ex, a, b) for a, b in spans)
        return out
    if not isinstance(anchor, Sequence) or not all(
        isinstance(p, Sequence) and not isinstance(p, str) for p in anchor
    ):
        fail(
            "anchor",
            "a string (e.g. '_PAUSE_') or a list with one list of token positions per text",
            anchor,
            kind=ArgumentTypeError,
        )
    if len(anchor) != len(encoded):
        fail("anchor", f"{len(encoded)} position lists (one per text)", anchor)
    for ex, (positions, e) in enumerate(zip(anchor, encoded, strict=True)):
        for p in positions:
            hint = f"text {ex} has {len(e)} tokens"
            m = check_int_range(f"anchor[{ex}] positions", p, -len(e), len(e) - 1, hint) % len(e)
            out.append(Occurrence(ex, m, m))
    return out


def _offset_spans(
    text: str, offsets: Sequence[tuple[int, int]], anchor: str
) -> list[tuple[int, int]]:
    spans = []
    start = text.find(anchor)
    while start >= 0:
        end = start + len(anchor)
        hits = [j for j, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
        if any(offsets[j][0] <= end - 1 < offsets[j][1] for j in hits):
            spans.append((min(hits), max(hits)))
        start = text.find(anchor, end)
    return spans


def _anchor_ids(tokenizer: Any, anchor: str) -> list[list[int]]:
    if tokenizer is None:
        check_given(
            "tokenizer",
            tokenizer,
            "a tokenizer to match a string anchor by token ids when the texts have no "
            "character offsets (a slow tokenizer)",
            "pass tokenizer=, or give anchor as positions per text",
        )
    variants = []
    for text in (anchor, " " + anchor):
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        if ids and ids not in variants:
            variants.append(ids)
    return variants


def _id_spans(ids: Sequence[int], variants: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    spans, i = [], 0
    while i < len(ids):
        hit = next((v for v in variants if list(ids[i : i + len(v)]) == list(v)), None)
        if hit is None:
            i += 1
        else:
            spans.append((i, i + len(hit) - 1))
            i += len(hit)
    return spans
