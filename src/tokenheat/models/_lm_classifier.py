"""A causal LM used as a text classifier by scoring verbalised labels.

Besides ``predict_proba``, :class:`LMClassifier` speaks the *prefix-sharing protocol* that
:func:`tokenheat.flip_rate` uses: :meth:`~LMClassifier.predict_proba_with_states` classifies
original texts and keeps their key/value caches, and
:meth:`~LMClassifier.predict_proba_continued` classifies perturbed texts by running only the
tokens after the prefix each shares with its original (see :mod:`tokenheat.models._prefix`).
Prompts are sorted by the length actually computed before batching, so padding is small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenheat.core._checks import check_str_list, check_template, check_type, fail
from tokenheat.errors import ModelError
from tokenheat.models._batching import (
    accepts,
    check_batch_size,
    check_texts,
    length_batches,
    model_device,
    model_max_length,
    nonempty,
    pad,
    pad_id,
    position_ids,
)
from tokenheat.models._prefix import (
    PromptState,
    cache_kwargs,
    continuation_batch,
    output_cache,
    prompt_states,
    shared_length,
)
from tokenheat.models._state import converted, eval_mode

DEFAULT_LM_LABELS = ("sadness", "joy", "anger", "optimism")


class LMClassifier:
    """A causal LM used as a classifier by scoring verbalised labels.

    For each text the prompt ``template.format(text=text)`` is run once; the score of label
    ``j`` is the log-probability of the tokens of ``label_prefix + labels[j]`` after the
    prompt, and the probabilities are the softmax of these scores over the labels. When every
    label is a single token only the next-token logits of the last position are computed;
    otherwise the labels continue from the prompt's key/value cache in one batched forward.

    Parameters
    ----------
    model, tokenizer
        A transformers causal LM and its tokenizer (a pad token is not required).
    template
        Prompt with a ``{text}`` field.
    labels
        Label words, scored after the prompt.
    label_prefix
        Prepended to each label before tokenising (a space for BPE vocabularies).
    device, dtype
        Run a moved/cast copy of the model (default: the model itself, where it is). The
        model given is never moved or cast, and it is in eval mode only while it runs:
        its train/eval mode is restored after every call.
    batch_size
        Prompts per forward pass. Continuations of a shared prefix are batched by length
        instead: up to ``4 * batch_size`` rows and ``32 * batch_size`` tokens, rows of equal
        length together (little padding).
    truncate
        Texts longer than the model's context raise a ``ValueError`` unless ``truncate=True``,
        which shortens the text, never the template.
    share_prefix
        Let :meth:`predict_proba_continued` reuse the key/value cache of an original prompt
        for the tokens a perturbed prompt shares with it (``False``: always run in full).

    Attributes
    ----------
    forward_calls, n_forward_texts
        Forward passes made and prompts classified so far.
    n_forward_tokens, n_padded_tokens
        Prompt tokens computed so far, without and with padding (label continuations of
        multi-token labels not included).

    Examples
    --------
    >>> clf = LMClassifier(lm, tok, labels=["negative", "positive"])  # doctest: +SKIP
    >>> clf.predict_proba(["I loved it"])  # doctest: +SKIP
    """

    mask_string = "_"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        template: str = "Text: {text}\nEmotion:",
        labels: Sequence[str] = DEFAULT_LM_LABELS,
        *,
        label_prefix: str = " ",
        device: Any = None,
        dtype: Any = None,
        batch_size: int = 32,
        truncate: bool = False,
        share_prefix: bool = True,
    ) -> None:
        check_template("template", template, "{text}")
        check_str_list("labels", labels, min_items=2, works="a list of at least two label words")
        import torch

        check_type("model", model, torch.nn.Module, "a torch.nn.Module")
        self.model = converted(model, device, dtype)
        self.tokenizer = tokenizer
        self.template = template
        self.labels = [str(label) for label in labels]
        self.batch_size = check_batch_size(batch_size)
        self.truncate = bool(truncate)
        self.share_prefix = bool(share_prefix)
        self.max_length = model_max_length(model, tokenizer)
        enc = tokenizer([label_prefix + label for label in self.labels], add_special_tokens=False)
        self.label_ids = [list(s) for s in enc["input_ids"]]
        seen: dict[tuple[int, ...], str] = {}
        for i, (label, s) in enumerate(zip(self.labels, self.label_ids, strict=True)):
            if not s:
                fail(f"labels[{i}]", "a word that tokenizes to at least one token", label)
            if tuple(s) in seen:
                fail(
                    "labels",
                    "words that all tokenize differently",
                    given=f"{seen[tuple(s)]!r} and {label!r}, which tokenize alike",
                )
            seen[tuple(s)] = label
        self._single = all(len(s) == 1 for s in self.label_ids)
        self._keep = accepts(model, "logits_to_keep")
        self.forward_calls = 0
        self.n_forward_texts = 0
        self.n_forward_tokens = 0
        self.n_padded_tokens = 0

    # ------------------------------------------------------------------ prompts

    def _prompt_ids(self, text: str, index: int) -> list[int]:
        ids = nonempty(
            list(self.tokenizer(self.template.format(text=text))["input_ids"]), self.tokenizer
        )
        room = (
            None if self.max_length is None else self.max_length - max(map(len, self.label_ids)) + 1
        )
        if room is None or len(ids) <= room:
            return ids
        if not self.truncate:
            fail(
                f"texts[{index}]",
                f"a prompt of at most {room} tokens (the model accepts {self.max_length}, "
                "including the labels)",
                given=f"a prompt of {len(ids)} tokens",
                hint="shorten it or pass truncate=True",
            )
        while len(ids) > room and text:
            text = text[
                : max(0, len(text) - max(1, math.ceil(len(text) * (len(ids) - room) / len(ids))))
            ]
            ids = list(self.tokenizer(self.template.format(text=text))["input_ids"])
        if len(ids) > room:
            fail(
                "template",
                f"at most {room} tokens long with an empty text (the model's context less the "
                "labels)",
                given=f"a template of {len(ids)} tokens",
            )
        return ids

    def _prompts(self, texts: Any) -> list[list[int]]:
        return [self._prompt_ids(t, i) for i, t in enumerate(check_texts(texts))]

    # ------------------------------------------------------------------ scoring

    def _forward(self, **kwargs: Any) -> Any:
        self.forward_calls += 1
        return self.model(**kwargs)

    def _score(
        self,
        ids: Any,
        mask: Any,
        pos: Any,
        *,
        past: Any = None,
        prompts: list[list[int]] | None = None,
        keep_states: bool = False,
    ) -> tuple[Any, list[PromptState | None] | None]:
        """Label log-scores ``(n, k)`` of a batch whose last column is every row's last token.

        ``prompts`` are the unpadded rows of a left-padded batch (for the no-cache fallback
        and, with ``keep_states``, to cut their :class:`PromptState`).
        """
        import torch

        device = ids.device
        extra = {"logits_to_keep": 1} if self._keep else {}
        want_cache = keep_states or past is not None or not self._single
        out = self._forward(
            input_ids=ids,
            attention_mask=mask,
            position_ids=pos,
            use_cache=want_cache,
            **cache_kwargs(self.model, past),
            **extra,
        )
        states = None
        if keep_states and prompts is not None:
            states = prompt_states(output_cache(out), prompts, ids.shape[1])
        first = torch.log_softmax(out.logits[:, -1].float(), -1)  # (n, V)
        firsts = torch.tensor([s[0] for s in self.label_ids], device=device)
        scores = first[:, firsts]  # (n, k)
        if self._single:
            return scores, states
        k, n = len(self.label_ids), ids.shape[0]
        # Continuation inputs: every label token but the last; targets: all but the first.
        rest = [s[1:] for s in self.label_ids]
        width = max(map(len, rest))
        cont = [s[:-1] + [s[0]] * (width - len(s) + 1) for s in self.label_ids]
        cont_ids = torch.tensor(cont, device=device).repeat(n, 1)  # (n*k, width)
        valid = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rest], device=device)
        cache = output_cache(out)
        if hasattr(cache, "batch_repeat_interleave"):
            cache.batch_repeat_interleave(k)
            full_mask = torch.cat([mask.repeat_interleave(k, 0), valid.repeat(n, 1)], 1)
            cont_pos = (pos[:, -1:] + 1).repeat_interleave(k, 0) + torch.arange(
                width, device=device
            )
            logits = self._forward(
                input_ids=cont_ids,
                attention_mask=full_mask,
                position_ids=cont_pos,
                **cache_kwargs(self.model, cache),
            ).logits
        else:  # no cache API: rerun prompt + label for every label
            if prompts is None:
                raise ModelError(
                    f"{type(self.model).__name__}'s cache has no batch_repeat_interleave, which "
                    "a continuation batch of multi-token labels needs; pass share_prefix=False"
                )
            seqs = [p + c for p in prompts for c in cont]
            ids2, mask2 = pad(seqs, pad_id(self.tokenizer), "left", device)
            logits = self._forward(
                input_ids=ids2, attention_mask=mask2, position_ids=position_ids(mask2)
            ).logits
            logits = logits[:, -width:]
        targets = torch.tensor([r + [0] * (width - len(r)) for r in rest], device=device).repeat(
            n, 1
        )
        logp = torch.log_softmax(logits.float(), -1).gather(-1, targets[..., None])[..., 0]
        tail = (logp * valid.repeat(n, 1)).sum(-1).view(n, k)
        return scores + tail, states

    def _classify(
        self, prompts: list[list[int]], keep_states: bool = False
    ) -> tuple[np.ndarray, list[PromptState | None]]:
        """Probabilities of full prompts, batched by length; optionally their states."""
        import torch

        out = np.empty((len(prompts), len(self.labels)), dtype=np.float32)
        states: list[PromptState | None] = [None] * len(prompts)
        lengths = [len(p) for p in prompts]
        device = model_device(self.model)
        with torch.inference_mode(), eval_mode(self.model):
            for idx in length_batches(lengths, self.batch_size, 32 * self.batch_size):
                batch = [prompts[i] for i in idx]
                ids, mask = pad(batch, pad_id(self.tokenizer), "left", device)
                scores, got = self._score(
                    ids, mask, position_ids(mask), prompts=batch, keep_states=keep_states
                )
                out[idx] = torch.softmax(scores, -1).cpu().numpy()
                self.n_forward_texts += len(batch)
                self.n_forward_tokens += sum(map(len, batch))
                self.n_padded_tokens += int(ids.numel())
                for i, state in zip(idx, got or (), strict=False):
                    states[i] = state
        return out, states

    # ------------------------------------------------------------------ public API

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Label probabilities, shape ``(len(texts), len(self.labels))``, float32."""
        return self._classify(self._prompts(texts))[0]

    def predict_proba_with_states(
        self, texts: list[str]
    ) -> tuple[np.ndarray, list[PromptState | None]]:
        """Like :meth:`predict_proba`, also returning each prompt's key/value state.

        The states (``None`` where the model's cache cannot be reused, or with
        ``share_prefix=False``) go to :meth:`predict_proba_continued`.
        """
        return self._classify(self._prompts(texts), keep_states=self.share_prefix)

    def predict_proba_continued(
        self, texts: list[str], states: Sequence[PromptState | None]
    ) -> np.ndarray:
        """Label probabilities of ``texts``, each continuing the cached prefix of a state.

        Parameters
        ----------
        texts : list of str
            Usually perturbations of the texts the states were made from.
        states : list
            One :class:`PromptState` (or ``None``) per text, from
            :meth:`predict_proba_with_states`. Text ``i`` reuses the keys/values of the
            tokens its prompt shares with ``states[i]``'s prompt (longest common prefix of
            the token ids, at most all but its last token) and computes only the rest;
            texts that share nothing are run in full. Results equal :meth:`predict_proba`
            up to float rounding.

        Returns
        -------
        numpy.ndarray
            Shape ``(len(texts), len(self.labels))``, float32.
        """
        import torch

        prompts = self._prompts(texts)
        if isinstance(states, (str, bytes)) or len(states) != len(prompts):
            fail("states", f"one PromptState (or None) per text ({len(prompts)})", states)
        shared = [
            0 if s is None else min(shared_length(s.ids, p), len(p) - 1)
            for s, p in zip(states, prompts, strict=True)
        ]
        full = [i for i, n in enumerate(shared) if n == 0]
        out = np.empty((len(prompts), len(self.labels)), dtype=np.float32)
        if full:
            out[full] = self._classify([prompts[i] for i in full])[0]
        rest = [i for i, n in enumerate(shared) if n > 0]
        computed = [len(prompts[i]) - shared[i] for i in rest]
        size = self.batch_size
        batches = length_batches(computed, 4 * size, 32 * size)
        device = model_device(self.model)
        fill = pad_id(self.tokenizer)
        with torch.inference_mode(), eval_mode(self.model):
            for batch in batches:
                idx = [rest[j] for j in batch]
                rows = [(states[i], shared[i], prompts[i][shared[i] :]) for i in idx]
                ids, mask, pos, cache = continuation_batch(rows, fill, device)  # type: ignore[arg-type]
                scores, _ = self._score(ids, mask, pos, past=cache)
                out[idx] = torch.softmax(scores, -1).cpu().numpy()
                self.n_forward_texts += len(idx)
                self.n_forward_tokens += sum(len(r[2]) for r in rows)
                self.n_padded_tokens += int(ids.numel())
        return out
