"""Text classifiers for :func:`tokenheat.flip_rate`.

A classifier is anything with ``labels: list[str]`` and
``predict_proba(texts: list[str]) -> np.ndarray`` of shape ``(len(texts), len(labels))``.
Three wrappers are provided: :class:`HFClassifier` (a transformers sequence classifier),
:class:`LMClassifier` (a causal LM scoring verbalised labels) and
:class:`CallableClassifier` (any function returning probabilities).
:func:`as_classifier` picks the right one. torch is imported lazily.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tokenheat.models._batching import (
    accepts,
    check_batch_size,
    check_texts,
    model_device,
    model_max_length,
    nonempty,
    pad,
    pad_id,
    position_ids,
    prepare_model,
)

__all__ = ["CallableClassifier", "Classifier", "HFClassifier", "LMClassifier", "as_classifier"]

_DEFAULT_LM_LABELS = ("sadness", "joy", "anger", "optimism")


@runtime_checkable
class Classifier(Protocol):
    """Protocol of the classifiers accepted by :func:`tokenheat.flip_rate`."""

    labels: list[str]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Return class probabilities, shape ``(len(texts), len(self.labels))``."""
        ...


class HFClassifier:
    """A transformers sequence classifier (``AutoModelForSequenceClassification``).

    Parameters
    ----------
    model, tokenizer
        The model (its ``config.id2label`` names the classes) and its tokenizer.
    labels
        Override the class names (default ``config.id2label`` in id order).
    device, dtype
        Move/cast the model before use (default: leave it where it is).
    batch_size
        Texts per forward pass.
    truncate
        Texts longer than the model's context raise a ``ValueError`` unless ``truncate=True``.

    Examples
    --------
    >>> clf = HFClassifier(model, tokenizer)  # doctest: +SKIP
    >>> clf.predict_proba(["great movie"]).shape  # doctest: +SKIP
    (1, 2)
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        labels: Sequence[str] | None = None,
        device: Any = None,
        dtype: Any = None,
        batch_size: int = 32,
        truncate: bool = False,
    ) -> None:
        self.model = prepare_model(model, device, dtype)
        self.tokenizer = tokenizer
        self.batch_size = check_batch_size(batch_size)
        self.truncate = bool(truncate)
        self.max_length = model_max_length(model, tokenizer)
        n = int(getattr(model.config, "num_labels", 0) or 0)
        if labels is None:
            id2label = getattr(model.config, "id2label", None) or {}
            labels = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(n)]
        elif n and len(labels) != n:
            raise ValueError(f"labels has {len(labels)} names but the model has {n} classes")
        self.labels = [str(label) for label in labels]
        self.forward_calls = 0
        self.n_forward_texts = 0

    def _encode(self, texts: list[str]) -> list[list[int]]:
        kwargs: dict[str, Any] = {}
        if self.truncate and self.max_length:
            kwargs = {"truncation": True, "max_length": self.max_length}
        seqs = [
            nonempty(list(s), self.tokenizer) for s in self.tokenizer(texts, **kwargs)["input_ids"]
        ]
        if self.max_length:
            for i, s in enumerate(seqs):
                if len(s) > self.max_length:
                    raise ValueError(
                        f"text {i} has {len(s)} tokens but the model accepts {self.max_length}; "
                        "shorten it or pass truncate=True"
                    )
        return seqs

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape ``(len(texts), len(self.labels))``, float32."""
        import torch

        texts = check_texts(texts)
        out = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        device = model_device(self.model)
        with torch.inference_mode():
            for lo in range(0, len(texts), self.batch_size):
                seqs = self._encode(texts[lo : lo + self.batch_size])
                # decoder-style classifiers read the last token that is not config.pad_token_id
                fill = getattr(self.model.config, "pad_token_id", None)
                fill = fill if isinstance(fill, int) else pad_id(self.tokenizer)
                # right padding keeps absolute positions right without position ids
                ids, mask = pad(seqs, fill, "right", device)
                logits = self.model(input_ids=ids, attention_mask=mask).logits
                self.forward_calls += 1
                self.n_forward_texts += len(seqs)
                out[lo : lo + len(seqs)] = torch.softmax(logits.float(), -1).cpu().numpy()
        return out


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
    device, dtype, batch_size, truncate
        As in :class:`HFClassifier`; ``truncate=True`` shortens the text, never the template.

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
        labels: Sequence[str] = _DEFAULT_LM_LABELS,
        *,
        label_prefix: str = " ",
        device: Any = None,
        dtype: Any = None,
        batch_size: int = 32,
        truncate: bool = False,
    ) -> None:
        if not isinstance(template, str) or "{text}" not in template:
            raise ValueError(f"template must be a str containing '{{text}}', got {template!r}")
        if isinstance(labels, str) or len(labels) < 2:
            raise ValueError(f"labels must be a list of at least two label words, got {labels!r}")
        self.model = prepare_model(model, device, dtype)
        self.tokenizer = tokenizer
        self.template = template
        self.labels = [str(label) for label in labels]
        self.batch_size = check_batch_size(batch_size)
        self.truncate = bool(truncate)
        self.max_length = model_max_length(model, tokenizer)
        enc = tokenizer([label_prefix + label for label in self.labels], add_special_tokens=False)
        self.label_ids = [list(s) for s in enc["input_ids"]]
        empty = [label for label, s in zip(self.labels, self.label_ids, strict=True) if not s]
        if empty:
            raise ValueError(f"labels {empty} tokenize to no tokens")
        if len({tuple(s) for s in self.label_ids}) < len(self.label_ids):
            raise ValueError(f"labels {self.labels} do not all tokenize differently")
        self._single = all(len(s) == 1 for s in self.label_ids)
        self._keep = accepts(model, "logits_to_keep")
        self.forward_calls = 0
        self.n_forward_texts = 0

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
            raise ValueError(
                f"text {index} gives a prompt of {len(ids)} tokens but the model accepts "
                f"{self.max_length} (including the labels); shorten it or pass truncate=True"
            )
        while len(ids) > room and text:
            text = text[
                : max(0, len(text) - max(1, math.ceil(len(text) * (len(ids) - room) / len(ids))))
            ]
            ids = list(self.tokenizer(self.template.format(text=text))["input_ids"])
        if len(ids) > room:
            raise ValueError(
                f"the template alone needs {len(ids)} tokens; the model accepts {room}"
            )
        return ids

    def _forward(self, **kwargs: Any) -> Any:
        self.forward_calls += 1
        return self.model(**kwargs)

    def _score_batch(self, prompts: list[list[int]]) -> Any:
        import torch

        device = model_device(self.model)
        ids, mask = pad(prompts, pad_id(self.tokenizer), "left", device)
        extra = {"logits_to_keep": 1} if self._keep else {}
        out = self._forward(
            input_ids=ids,
            attention_mask=mask,
            position_ids=position_ids(mask),
            use_cache=not self._single,
            **extra,
        )
        first = torch.log_softmax(out.logits[:, -1].float(), -1)  # (n, V)
        firsts = torch.tensor([s[0] for s in self.label_ids], device=device)
        scores = first[:, firsts]  # (n, k)
        if self._single:
            return scores
        k, n = len(self.label_ids), len(prompts)
        # Continuation inputs: every label token but the last; targets: all but the first.
        rest = [s[1:] for s in self.label_ids]
        width = max(map(len, rest))
        cont = [s[:-1] + [s[0]] * (width - len(s) + 1) for s in self.label_ids]
        cont_ids = torch.tensor(cont, device=device).repeat(n, 1)  # (n*k, width)
        valid = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rest], device=device)
        cache = out.past_key_values
        if hasattr(cache, "batch_repeat_interleave"):
            cache.batch_repeat_interleave(k)
            full_mask = torch.cat([mask.repeat_interleave(k, 0), valid.repeat(n, 1)], 1)
            pos = mask.sum(-1, keepdim=True).repeat_interleave(k, 0) + torch.arange(
                width, device=device
            )
            logits = self._forward(
                input_ids=cont_ids,
                attention_mask=full_mask,
                position_ids=pos,
                past_key_values=cache,
            ).logits
        else:  # no cache API: rerun prompt + label for every label
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
        return scores + tail

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Label probabilities, shape ``(len(texts), len(self.labels))``, float32."""
        import torch

        texts = check_texts(texts)
        out = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for lo in range(0, len(texts), self.batch_size):
                chunk = texts[lo : lo + self.batch_size]
                prompts = [self._prompt_ids(t, lo + i) for i, t in enumerate(chunk)]
                self.n_forward_texts += len(prompts)
                out[lo : lo + len(chunk)] = (
                    torch.softmax(self._score_batch(prompts), -1).cpu().numpy()
                )
        return out


class CallableClassifier:
    """Wrap ``fn(texts) -> probabilities`` as a classifier, validating what it returns.

    Parameters
    ----------
    fn
        Called with a list of str; must return an array-like of shape ``(len(texts), k)`` with
        non-negative rows summing to 1.
    labels
        The ``k`` class names (default ``"class_0"``, ``"class_1"``, … found on first call).
    """

    def __init__(self, fn: Callable[[list[str]], Any], labels: Sequence[str] | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"classifier must be callable, got {type(fn).__name__}")
        self.fn = fn
        self._labels = None if labels is None else [str(label) for label in labels]

    @property
    def labels(self) -> list[str]:
        """Class names; if not given, probed by classifying one empty string."""
        if self._labels is None:
            k = self.predict_proba([""]).shape[1]
            self._labels = [f"class_{i}" for i in range(k)]
        return self._labels

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Call ``fn`` and check its output."""
        texts = check_texts(texts)
        probs = np.asarray(self.fn(texts), dtype=np.float64)
        k = None if self._labels is None else len(self._labels)
        if (
            probs.ndim != 2
            or probs.shape[0] != len(texts)
            or (k is not None and probs.shape[1] != k)
        ):
            want = f"({len(texts)}, {k if k is not None else 'k'})"
            raise ValueError(
                f"classifier returned shape {probs.shape} for {len(texts)} texts; expected {want}"
            )
        if not np.all(np.isfinite(probs)) or probs.min(initial=0) < 0:
            raise ValueError("classifier returned negative or non-finite probabilities")
        if probs.size and not np.allclose(probs.sum(1), 1.0, atol=1e-3):
            raise ValueError(
                "classifier rows must sum to 1 (probabilities); apply a softmax to logits first"
            )
        if self._labels is None:
            self._labels = [f"class_{i}" for i in range(probs.shape[1])]
        return probs.astype(np.float32)


def as_classifier(
    classifier: Any,
    tokenizer: Any = None,
    *,
    labels: Sequence[str] | None = None,
    **kwargs: Any,
) -> Any:
    """Return a classifier object for ``classifier``.

    Parameters
    ----------
    classifier
        An object with ``predict_proba`` and ``labels``; a transformers sequence classifier
        or causal LM (needs ``tokenizer``); or a callable returning probabilities.
    tokenizer
        Required for transformers models.
    labels
        Class names for a callable, or label words for a causal LM.
    **kwargs
        Passed to :class:`HFClassifier` / :class:`LMClassifier` (``device``, ``batch_size``…).
    """
    if hasattr(classifier, "predict_proba") and hasattr(classifier, "labels"):
        return classifier
    config = getattr(classifier, "config", None)
    if config is not None and hasattr(classifier, "parameters"):
        if tokenizer is None:
            raise ValueError("a transformers model needs its tokenizer: pass tokenizer=...")
        name = type(classifier).__name__
        if name.endswith("ForCausalLM") or name.endswith("LMHeadModel"):
            if labels is not None:
                kwargs["labels"] = labels
            return LMClassifier(classifier, tokenizer, **kwargs)
        if "SequenceClassification" in name:
            return HFClassifier(classifier, tokenizer, labels=labels, **kwargs)
        raise TypeError(
            f"cannot use a {name} as a classifier; wrap it in LMClassifier or HFClassifier"
        )
    if callable(classifier):
        return CallableClassifier(classifier, labels=labels)
    raise TypeError(
        "classifier must have predict_proba() and labels, be a transformers model, or be a "
        f"callable returning probabilities; got {type(classifier).__name__}"
    )
