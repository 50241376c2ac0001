"""Turning prompts into token ids: chat templates, appended dummy tokens, length limits.

Nothing here imports torch; the tokenizer is any Hugging Face tokenizer (fast or slow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenheat.core._checks import a_type, check_positive_int, check_type, fail
from tokenheat.errors import ArgumentTypeError

#: A prompt: plain text, or a chat conversation ``[{"role": ..., "content": ...}, ...]``.
Prompt = str | Sequence[Mapping[str, Any]]

#: The text appended ``n_dummy`` times when ``n_dummy`` is given without ``append``.
DEFAULT_DUMMY = " ..."


@dataclass(frozen=True)
class EncodedText:
    """One tokenized prompt.

    Attributes
    ----------
    ids : list of int
        Token ids, special tokens included, appended tokens last.
    tokens : list of str
        The raw token strings (``tokenizer.convert_ids_to_tokens``), one per id.
    text : str
        The rendered text (chat template applied, ``append`` added).
    offsets : list of (int, int) or None
        Character span of each token in ``text`` (``(0, 0)`` for added special tokens);
        ``None`` when the tokenizer gives no offset mapping (slow tokenizers).
    n_appended : int
        How many of the last tokens come from ``append`` / ``n_dummy``.
    truncated : int
        How many prompt tokens ``truncate=True`` removed.
    """

    ids: list[int]
    tokens: list[str]
    text: str
    offsets: list[tuple[int, int]] | None = None
    n_appended: int = 0
    truncated: int = field(default=0)

    def __len__(self) -> int:
        return len(self.ids)


def _is_conversation(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) > 0
        and all(isinstance(m, Mapping) for m in value)
    )


def normalize_prompts(prompts: Any, *, name: str = "prompts") -> list[Prompt]:
    """Return ``prompts`` as a list: a lone string or conversation becomes a list of one.

    Raises
    ------
    tokenheat.errors.ArgumentTypeError
        If an element is neither a string nor a list of ``{"role", "content"}`` mappings
        (a ``TypeError``).
    tokenheat.errors.ArgumentError
        If there are no prompts (a ``ValueError``).
    """
    if isinstance(prompts, str) or _is_conversation(prompts):
        return [prompts]
    if not isinstance(prompts, Sequence) and not hasattr(prompts, "__iter__"):
        fail(
            name,
            "a string, a chat conversation or a list of them",
            prompts,
            kind=ArgumentTypeError,
        )
    out = list(prompts)
    if not out:
        fail(name, "a non-empty list of texts", out)
    for k, p in enumerate(out):
        if not (isinstance(p, str) or _is_conversation(p)):
            fail(
                f"{name}[{k}]",
                'a string or a list of chat messages [{"role": "user", "content": ...}]',
                p,
                kind=ArgumentTypeError,
            )
    return out


def render_prompt(tokenizer: Any, prompt: Prompt, *, chat: bool = False) -> tuple[str, bool]:
    """Render one prompt to text.

    A conversation, or a string with ``chat=True`` (wrapped as one user message), goes
    through ``tokenizer.apply_chat_template(..., add_generation_prompt=True)``.

    Returns
    -------
    text : str
        The text to tokenize.
    add_special_tokens : bool
        ``False`` for template output (templates write their own BOS), else ``True``.

    Raises
    ------
    tokenheat.errors.ArgumentError
        If a chat rendering is needed and the tokenizer has no chat template (a
        ``ValueError``).
    """
    if isinstance(prompt, str) and not chat:
        return prompt, True
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    if getattr(tokenizer, "chat_template", None) is None:
        fail(
            "tokenizer",
            "a tokenizer with a chat template for chat=True (or a chat message list)",
            given=f"{a_type(tokenizer)} with none",
            hint="pass plain strings with chat=False, or set tokenizer.chat_template",
        )
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return str(text), False


def _tokenize(tokenizer: Any, text: str, add_special_tokens: bool) -> tuple[list[int], Any]:
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(
            text, add_special_tokens=add_special_tokens, return_offsets_mapping=True, verbose=False
        )
        return list(enc["input_ids"]), [tuple(map(int, o)) for o in enc["offset_mapping"]]
    enc = tokenizer(text, add_special_tokens=add_special_tokens, verbose=False)
    return list(enc["input_ids"]), None


# tokenize_texts takes the same keywords on purpose: it encodes texts through this function.
def encode_prompts(
    tokenizer: Any,
    prompts: Any,
    *,
    chat: bool = False,
    append: str | None = None,
    n_dummy: int | None = None,
    max_length: int | None = None,
    truncate: bool = False,
) -> list[EncodedText]:
    """Tokenize prompts, with an optional chat template and appended dummy tokens.

    Parameters
    ----------
    tokenizer : transformers tokenizer
        Used as is; never modified.
    prompts : str, conversation, or list of them
        Plain strings or chat message lists ``[{"role": "user", "content": ...}]``.
    chat : bool
        Wrap plain strings as a user message and render them with the chat template
        (``add_generation_prompt=True``). Conversations always use the template.
    append : str, optional
        Text appended after the (rendered) prompt, tokenized on its own so that its tokens
        are exactly those of ``append`` (e.g. ``" ... ... ..."``).
    n_dummy : int, optional
        Append the tokens of ``append`` (default ``" ..."``) this many times: the ids of
        one copy are repeated, so each copy gives the same tokens.
    max_length : int, optional
        The model's context size.
    truncate : bool
        If a text is longer than ``max_length``: ``False`` raises, ``True`` keeps the
        first prompt tokens and every appended token.

    Returns
    -------
    list of EncodedText

    Raises
    ------
    tokenheat.errors.ArgumentError
        For a text longer than ``max_length`` with ``truncate=False``, or a negative
        ``n_dummy`` (a ``ValueError``; an ``n_dummy`` that is not an int is an
        ``ArgumentTypeError``, a ``TypeError``).

    Examples
    --------
    >>> enc = encode_prompts(tok, ["Hello world"], append=" ...", n_dummy=3)  # doctest: +SKIP
    >>> enc[0].n_appended  # doctest: +SKIP
    3
    """
    items = normalize_prompts(prompts)
    append, app_ids, app_offsets = _appended(tokenizer, append, n_dummy)
    out = []
    for k, prompt in enumerate(items):
        text, special = render_prompt(tokenizer, prompt, chat=chat)
        ids, offsets = _tokenize(tokenizer, text, special)
        ids, offsets, cut = _fit(ids, offsets, len(app_ids), max_length, truncate, k)
        if offsets is not None and app_offsets is not None:
            shift = len(text)
            offsets = offsets + [(a + shift, b + shift) for a, b in app_offsets]
        else:
            offsets = None
        ids = ids + app_ids
        tokens = [str(t) for t in tokenizer.convert_ids_to_tokens(ids)]
        out.append(
            EncodedText(
                ids=ids,
                tokens=tokens,
                text=text + (append or ""),
                offsets=offsets,
                n_appended=len(app_ids),
                truncated=cut,
            )
        )
    return out


def _appended(
    tokenizer: Any, append: str | None, n_dummy: int | None
) -> tuple[str | None, list[int], list[tuple[int, int]] | None]:
    """The appended text (``append`` × ``n_dummy``), its ids (one copy's, repeated) and their
    character offsets in it (None where the tokenizer gives none)."""
    repeats = 1
    if n_dummy is not None:
        check_positive_int("n_dummy", n_dummy, minimum=0)
        append, repeats = (DEFAULT_DUMMY if append is None else append), n_dummy
    check_type("append", append, str, "a string", allow_none=True)
    app_ids: list[int] = []
    app_offsets: list[tuple[int, int]] | None = []
    if append and repeats:
        unit_ids, unit_offsets = _tokenize(tokenizer, append, False)
        app_ids = unit_ids * repeats
        if unit_offsets is not None:
            step = len(append)
            app_offsets = [
                (a + r * step, b + r * step) for r in range(repeats) for a, b in unit_offsets
            ]
        else:
            app_offsets = None
        append = append * repeats
    return append, app_ids, app_offsets


def _fit(
    ids: list[int],
    offsets: list[tuple[int, int]] | None,
    n_appended: int,
    max_length: int | None,
    truncate: bool,
    k: int,
) -> tuple[list[int], list[tuple[int, int]] | None, int]:
    """Prompt ``k``'s ids and offsets cut to leave room for ``n_appended`` tokens within
    ``max_length`` (``truncate``), and how many were cut; too long otherwise raises."""
    if max_length is None or len(ids) + n_appended <= max_length:
        return ids, offsets, 0
    total = len(ids) + n_appended
    if not truncate:
        fail(
            f"prompts[{k}]",
            f"at most {max_length} tokens long (the model's context)",
            given=f"a prompt of {total} tokens" + (" with append" if n_appended else ""),
            hint="shorten it or pass truncate=True to keep its first tokens",
        )
    keep = max_length - n_appended
    if keep < 1:
        fail(
            "append",
            f"shorter than the model's context of {max_length} tokens, to leave room for the "
            "prompt",
            given=f"{n_appended} tokens",
            hint="append less",
        )
    return ids[:keep], offsets[:keep] if offsets is not None else None, len(ids) - keep


# The keywords of encode_prompts on purpose: it encodes through it and keeps the token strings.
def tokenize_texts(
    tokenizer: Any,
    texts: Any,
    *,
    chat: bool = False,
    append: str | None = None,
    n_dummy: int | None = None,
) -> list[list[str]]:
    """Token strings of each text, as the model sees them, for :meth:`Corpus.from_tokens`.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    texts : str, conversation, or list of them
    chat, append, n_dummy
        As in :func:`encode_prompts`.

    Returns
    -------
    list of list of str
        Raw token strings (``convert_ids_to_tokens``), special tokens included.

    Examples
    --------
    >>> import tokenheat as th  # doctest: +SKIP
    >>> corpus = th.Corpus.from_tokens(tokenize_texts(tok, ["a b", "c"]))  # doctest: +SKIP
    """
    encoded = encode_prompts(tokenizer, texts, chat=chat, append=append, n_dummy=n_dummy)
    return [e.tokens for e in encoded]
