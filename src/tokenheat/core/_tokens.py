"""How tokens are shown and linked: the Python twin of ``js/tokens.ts``.

Byte-level BPE tokens (GPT-2, Llama 3, SmolLM2) are decoded to their text, SentencePiece's
``▁`` becomes a space, and whitespace and control characters are made visible, so that the
widget, the HTML export and the Altair charts all draw ``"Ġthe"`` as ``"␣the"``. A byte-level
piece that holds only part of a character (``"ç¤"`` + ``"º"`` for ``"示"``) shows the bytes it
holds of that character as ``<0xE7><0xA4>`` and ``<0xBA>``. The link key is what makes a
word row ``sadly``, the token ``Ġsadly`` and ``Sadly,`` outline each other.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Iterable, Sequence

# GPT-2's bytes_to_unicode, inverted: the printable bytes map to themselves, the rest to
# U+0100 onwards (the same table as js/tokens.ts).
_PRINTABLE = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
_BYTE_OF = {chr(b): b for b in _PRINTABLE}
_BYTE_OF.update(
    {chr(256 + n): b for n, b in enumerate(b for b in range(256) if b not in set(_PRINTABLE))}
)
_CONTROL = {" ": "␣", "\n": "⏎", "\r": "↵", "\t": "⇥", "\x7f": "␡"}
#: Zero-width characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM) are drawn as "·" and bidi
#: controls (marks, embeddings, overrides, isolates) as "⇄", never obeyed: the same marks as
#: ZERO_WIDTH / BIDI in js/tokens.ts.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROL.update({ch: "·" for ch in ZERO_WIDTH})
_CONTROL.update({ch: "⇄" for ch in BIDI})


#: What JavaScript's ``String.prototype.trim`` removes (Python's ``str.strip()`` also takes
#: U+001C to U+001F and U+0085 but keeps U+FEFF), so both twins mark the same ends.
_TRIMMED = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def isolate(text: str) -> str:
    """``text`` between FSI and PDI (U+2068 … U+2069): it cannot reorder its neighbours."""
    return f"\u2068{text}\u2069"


def display_token(token: str, *, byte_level: bool = False) -> str:
    """A token as people should see it: byte-level BPE decoded, whitespace made visible.

    Mirrors ``displayToken`` in ``js/tokens.ts`` (``"Ġthe"`` → ``"␣the"``, ``"\\n"`` → ``"⏎"``).
    A byte-level piece holding part of a character shows those bytes as ``<0xE7><0xA4>``
    (see :func:`piece_parts`).

    Parameters
    ----------
    token : str
        The token's raw string (untrusted: the result is text, never markup).
    byte_level : bool
        ``token`` is known to come from a byte-level vocabulary (see :func:`is_byte_level`),
        so a piece made only of Latin-1 letters (``"¥"``, the byte 0xA5) is read as bytes too.
        Without it, only a piece holding a remapped byte (``"Ġ"``, ``"Ĺ"``: U+0100 to U+0143)
        is, so that plain text such as ``"à"`` or ``"café"`` stays as it is.

    Examples
    --------
    >>> display_token("Ġthe"), display_token("▁a\\n"), display_token(""), display_token("8 x 4")
    ('␣the', '␣a⏎', '∅', '8 x 4')
    >>> display_token("æĹ"), display_token("ĠðŁ"), display_token("ç¤", byte_level=True)
    ('<0xE6><0x97>', '␣<0xF0><0x9F>', '<0xE7><0xA4>')
    """
    if token == "":
        return "∅"
    parts = piece_parts(token, byte_level=byte_level)
    if parts is not None:
        head, text, tail = parts
        return _hex(head) + _shown(text) + _hex(tail)
    return _shown(_token_text(token))


def _hex(data: bytes) -> str:
    return "".join(f"<0x{b:02X}>" for b in data)


def _shown(text: str) -> str:
    """``text`` with spaces marked at its ends only and other invisible characters marked."""
    # As in JS: spaces are marked at the ends only ("8 x 4" keeps its inner spaces).
    core = text.strip(_TRIMMED)
    lead = len(text) - len(text.lstrip(_TRIMMED))
    trail = len(text) - lead - len(core)
    return (
        _visible(text[:lead], spaces=True)
        + _visible(core, spaces=False)
        + _visible(text[len(text) - trail :], spaces=True)
    )


def _visible(text: str, *, spaces: bool) -> str:
    out = []
    for ch in text:
        if ch == " " and not spaces:
            out.append(" ")
        else:
            out.append(_CONTROL.get(ch, chr(0x2400 + ord(ch)) if ord(ch) < 0x20 else ch))
    return "".join(out)


def _byte_values(token: str) -> bytes | None:
    """The bytes a byte-level token stands for, or None when a character is outside the
    byte alphabet or the token is plain ASCII (which reads as it is)."""
    if all(ch in _BYTE_OF for ch in token) and any(ord(ch) >= 0x80 for ch in token):
        return bytes(_BYTE_OF[ch] for ch in token)
    return None


def piece_parts(token: str, *, byte_level: bool = False) -> tuple[bytes, str, bytes] | None:
    """Split a byte-level piece that holds part of a character: ``(head, text, tail)``.

    ``head`` are the last bytes of a character begun in an earlier token (at most three
    continuation bytes), ``text`` the complete characters, ``tail`` the first bytes of a
    character finished in a later token. ``None`` when ``token`` is not such a piece: complete
    UTF-8, not byte-level, bytes no UTF-8 text can hold, or (unless ``byte_level``) no remapped
    byte (U+0100 to U+0143) to show that the string is byte-level at all. Mirrors
    ``pieceParts`` in ``js/tokens.ts``.

    Examples
    --------
    >>> piece_parts("æĹ"), piece_parts("º", byte_level=True), piece_parts("café")
    ((b'', '', b'\\xe6\\x97'), (b'\\xba', '', b''), None)
    """
    data = _byte_values(token)
    if data is None or not (byte_level or any(ord(ch) >= 0x100 for ch in token)):
        return None
    try:
        data.decode("utf-8")
        return None  # complete: decoded whole
    except UnicodeDecodeError:
        pass
    lead = 0
    while lead < len(data) and lead < 3 and 0x80 <= data[lead] <= 0xBF:
        lead += 1
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(data[lead:], final=False)
    except UnicodeDecodeError:
        return None
    tail = decoder.getstate()[0]
    if tail and not _starts_a_character(tail):
        return None  # e.g. ED B5, a surrogate's bytes: Python's decoder defers that verdict
    # Control bytes inside are no text a byte-level tokenizer splits this way: plain text
    # such as "łąka" (whose letters fall in the byte alphabet) stays plain.
    if any((ord(ch) < 0x20 and ch not in "\t\n\r") or ch == "\x7f" for ch in text):
        return None
    return data[:lead], text, tail


#: Second-byte range of each multi-byte lead (RFC 3629), and the character's length in bytes.
_LEADS = {
    **{b: (0x80, 0xBF, 2) for b in range(0xC2, 0xE0)},
    0xE0: (0xA0, 0xBF, 3),
    **{b: (0x80, 0xBF, 3) for b in (*range(0xE1, 0xED), 0xEE, 0xEF)},
    0xED: (0x80, 0x9F, 3),
    0xF0: (0x90, 0xBF, 4),
    **{b: (0x80, 0xBF, 4) for b in range(0xF1, 0xF4)},
    0xF4: (0x80, 0x8F, 4),
}


def _starts_a_character(tail: bytes) -> bool:
    """Whether ``tail`` is the first bytes (not all) of one valid UTF-8 character."""
    if tail[0] not in _LEADS:
        return False
    lo, hi, size = _LEADS[tail[0]]
    if len(tail) >= size or (len(tail) > 1 and not lo <= tail[1] <= hi):
        return False
    return all(0x80 <= b <= 0xBF for b in tail[2:])


def is_byte_level(tokens: Iterable[str | None]) -> bool:
    """Whether ``tokens`` read as one byte-level vocabulary: every character of every token is
    in the byte alphabet and some token holds a remapped byte (``"Ġ"``, ``"Ċ"``, ``"Ĺ"``...).

    Plain words fail it (a space, or nearly any letter beyond Latin-1, is outside the alphabet).
    Mirrors ``isByteLevel`` in ``js/tokens.ts``.

    Examples
    --------
    >>> is_byte_level(["Ġthe", "¥"]), is_byte_level(["à", "the"]), is_byte_level(["8 x 4"])
    (True, False, False)
    """
    remapped = False
    for token in tokens:
        if token is None:
            continue
        for ch in token:
            if ch not in _BYTE_OF:
                return False
            remapped = remapped or ord(ch) >= 0x100
    return remapped


def tokens_text(tokens: Sequence[str]) -> str:
    """The text a sequence of tokens spells: byte-level tokens decoded together, so that a
    character split over several (``"Ġç"``, ``"¤"``, ``"º"``) comes out whole (``" 示"``).

    Examples
    --------
    >>> tokens_text(["I", "Ġç", "¤", "º"]), tokens_text(["▁a", "▁b"])
    ('I 示', ' a b')
    """
    if is_byte_level(tokens):
        return b"".join(bytes(_BYTE_OF[ch] for ch in t) for t in tokens).decode(
            "utf-8", errors="replace"
        )
    return "".join(_token_text(t) for t in tokens)


def _token_text(token: str) -> str:
    """The token's text: byte-level BPE decoded, SentencePiece's ``▁`` as a space."""
    # Byte-level when every character is in the byte alphabet, some byte is not ASCII (a
    # remapped one like "Ġ", or "ç¤º" for "示") and the bytes are complete UTF-8 ("café" is not).
    if any(ord(ch) >= 0x80 for ch in token) and all(ch in _BYTE_OF for ch in token):
        try:
            return bytes(_BYTE_OF[ch] for ch in token).decode("utf-8")
        except UnicodeDecodeError:
            pass
    return token.replace("▁", " ").replace("Ġ", " ").replace("Ċ", "\n").replace("ĉ", "\t")


def link_key(token: str | None) -> str | None:
    """The key under which tokens link across charts (mirrors ``linkKey`` in ``js/tokens.ts``).

    The token's text, trimmed, lower-cased, with punctuation stripped at both ends (as the
    flip rate's word units are), so the word ``sadly``, the BPE token ``Ġsadly`` and
    ``Sadly,`` link; a token of only punctuation keeps it.

    Examples
    --------
    >>> link_key("Ġsadly"), link_key("Sadly,"), link_key("Ġ,")
    ('sadly', 'sadly', ',')
    """
    if token is None:
        return None
    text = _token_text(token).strip(_TRIMMED)
    return normalize_word(text) if text else token


def normalize_word(word: str) -> str:
    """Lower-case ``word`` and strip punctuation at both ends (``"Great!"`` → ``"great"``).

    A word made only of punctuation is kept as is (lower-cased), so ``"!!"`` stays a unit.
    """
    lo, hi = 0, len(word)
    while lo < hi and unicodedata.category(word[lo])[0] == "P":
        lo += 1
    while hi > lo and unicodedata.category(word[hi - 1])[0] == "P":
        hi -= 1
    core = word[lo:hi] if hi > lo else word
    return core.lower()
