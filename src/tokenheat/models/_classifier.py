"""Text classifiers for :func:`tokenheat.flip_rate`.

A classifier is anything with ``labels: list[str]`` and
``predict_proba(texts: list[str]) -> np.ndarray`` of shape ``(len(texts), len(labels))``.
Three wrappers are provided: :class:`HFClassifier` (a transformers sequence classifier),
:class:`LMClassifier` (a causal LM scoring verbalised labels) and
:class:`CallableClassifier` (any function returning probabilities).
:func:`as_classifier` picks the right one. torch is imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tokenheat.core._checks import check_given, error, fail
from tokenheat.errors import ArgumentTypeError
from tokenheat.models._batching import (
    check_batch_size,
    check_texts,
    model_device,
    model_max_length,
    nonempty,
    pad,
    pad_id,
    prepare_model,
)
from tokenheat.models._lm_classifier import LMClassifier
from tokenheat.models._wrapped import unwrap

__all__ = ["CallableClassifier", "Classifier", "HFClassifier", "LMClassifier", "as_classifier"]


@runtime_checkable
class Classifier(Protocol):
    """Protocol of the classifiers accepted by :func:`tokenheat.flip_rate`.

    A classifier may also offer ``predict_proba_with_states(texts) -> (probs, states)`` and
    ``predict_proba_continued(texts, states) -> probs`` (as :class:`LMClassifier` does):
    ``flip_rate`` then classifies each perturbed text together with the state of its
    original text, so shared work (a causal LM's key/value cache of the common prefix) is
    done once.
    """

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
            fail("labels", f"{n} names (one per class of the model)", labels)
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
                    fail(
                        f"texts[{i}]",
                        f"at most {self.max_length} tokens long (the model's context)",
                        given=f"a text of {len(s)} tokens",
                        hint="shorten it or pass truncate=True",
                    )
        return seqs

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape ``(len(texts), len(self.labels))``, float32."""
        import torch

        texts = check_texts(texts)
        out = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        device = model_device(self.model)
        encoded = self._encode(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))  # less padding
        # decoder-style classifiers read the last token that is not config.pad_token_id
        fill = getattr(self.model.config, "pad_token_id", None)
        fill = fill if isinstance(fill, int) else pad_id(self.tokenizer)
        with torch.inference_mode():
            for lo in range(0, len(texts), self.batch_size):
                idx = order[lo : lo + self.batch_size]
                seqs = [encoded[i] for i in idx]
                # right padding keeps absolute positions right without position ids
                ids, mask = pad(seqs, fill, "right", device)
                logits = self.model(input_ids=ids, attention_mask=mask).logits
                self.forward_calls += 1
                self.n_forward_texts += len(seqs)
                out[idx] = torch.softmax(logits.float(), -1).cpu().numpy()
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
            fail("classifier", "callable", fn, kind=ArgumentTypeError)
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
        k = None if self._labels is None else len(self._labels)
        probs = check_probabilities("classifier", self.fn(texts), len(texts), k)
        if self._labels is None:
            self._labels = [f"class_{i}" for i in range(probs.shape[1])]
        return probs


def check_probabilities(source: str, probs: Any, n: int, k: int | None) -> np.ndarray:
    """What a classifier returned, as float32 ``(n, k)`` probabilities, or a clear error.

    Every path that calls a classifier (a callable, an object's ``predict_proba`` and its
    prefix-sharing methods) goes through here: NaN, ±inf, negative values or rows that do
    not sum to 1 would otherwise read as "no flip" everywhere.
    """
    name = f"what {source} returned"
    try:
        arr = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise error(name, "an array of probabilities", probs, kind=ArgumentTypeError) from None
    if arr.ndim != 2 or arr.shape[0] != n or (k is not None and arr.shape[1] != k):
        want = f"({n}, {k if k is not None else 'k'})"
        fail(
            name,
            f"probabilities of shape {want} (one row per text, one column per label)",
            arr,
            f"{n} texts were given",
        )
    if not np.all(np.isfinite(arr)) or arr.min(initial=0) < 0:
        r = int(np.argwhere(~np.isfinite(arr) | (arr < 0))[0][0])
        fail(
            name,
            "finite, non-negative probabilities",
            given=f"{arr[r].tolist()} for text {r}",
            hint="apply a softmax to logits first",
        )
    if arr.size:
        sums = arr.sum(1)
        bad = np.abs(sums - 1.0) > 1e-3
        if bad.any():
            r = int(np.argmax(bad))
            fail(
                name,
                "rows that sum to 1 (probabilities)",
                given=f"a row summing to {sums[r]:.4g} for text {r}",
                hint="apply a softmax to logits first",
            )
    return arr.astype(np.float32)


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
    classifier, tokenizer = unwrap(classifier, tokenizer)  # a bridge or an nnsight model
    if hasattr(classifier, "predict_proba") and hasattr(classifier, "labels"):
        return classifier
    config = getattr(classifier, "config", None)
    if config is not None and hasattr(classifier, "parameters"):
        check_given(
            "tokenizer", tokenizer, "the tokenizer of the transformers model", "pass tokenizer=..."
        )
        name = type(classifier).__name__
        if name.endswith("ForCausalLM") or name.endswith("LMHeadModel"):
            if labels is not None:
                kwargs["labels"] = labels
            return LMClassifier(classifier, tokenizer, **kwargs)
        if "SequenceClassification" in name:
            return HFClassifier(classifier, tokenizer, labels=labels, **kwargs)
        fail(
            "classifier",
            "a causal LM or a sequence classifier when it is a transformers model",
            classifier,
            "wrap it in LMClassifier or HFClassifier",
            kind=ArgumentTypeError,
        )
    if callable(classifier):
        return CallableClassifier(classifier, labels=labels)
    fail(
        "classifier",
        "an object with predict_proba() and labels, a transformers model, or a callable "
        "returning probabilities",
        classifier,
        kind=ArgumentTypeError,
    )
