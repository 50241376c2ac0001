"""How tokens are shown and linked: the Python twin of ``js/tokens.ts``.

Byte-level BPE tokens (GPT-2, Llama 3, SmolLM2) are decoded to their text, SentencePiece's
``▁`` becomes a space, and whitespace and control characters are made visible, so that the
widget, the HTML export and the Altair charts all draw ``"Ġthe"`` as ``"␣the"``. The link key
is what makes a word row ``sadly``, the token ``Ġsadly`` and ``Sadly,`` outline each other.
"""

from __future__ import annotations

import unicodedata

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


def isolate(text: str) -> str:
    """``text`` between FSI and PDI (U+2068 … U+2069): it cannot reorder its neighbours."""
    return f"\u2068{text}\u2069"


def display_token(token: str) -> str:
    """A token as people should see it: byte-level BPE decoded, whitespace made visible.

    Mirrors ``displayToken`` in ``js/tokens.ts`` (``"Ġthe"`` → ``"␣the"``, ``"\\n"`` → ``"⏎"``).

    Examples
    --------
    >>> display_token("Ġthe"), display_token("▁a\\n"), display_token(""), display_token("8 x 4")
    ('␣the', '␣a⏎', '∅', '8 x 4')
    """
    if token == "":
        return "∅"
    text = _token_text(token)
    # As in JS: spaces are marked at the ends only ("8 x 4" keeps its inner spaces).
    core = text.strip()
    lead = len(text) - len(text.lstrip())
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
    text = _token_text(token).strip()
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
