"""The tuned lens: one affine translator per layer, read through the model's own head.

Belrose et al. 2023 ("Eliciting Latent Predictions from Transformers with the Tuned Lens")
replace the logit lens's "decode every layer as if it were the last" with a learned affine
map per layer, trained so that the translated layer's next-token distribution is close (in
KL) to the model's final one. The final norm and unembedding stay frozen; the last block's
translator is the identity.

Here translator ``l`` maps a residual state ``h`` (the output of block ``l``, before the
final norm) to ``h + A_l h + b_l``, i.e. the affine map ``(I + A_l) h + b_l``. ``A`` and
``b`` start at zero, so an untrained lens *is* the logit lens, and weight decay pulls the
map towards the identity (the paper's own parametrisation). Training lives in
:mod:`tokenheat.analyses._tuned_lens_train`; this module holds the lens, its file format
(safetensors with a JSON header, no pickle) and the model fingerprint that ties a lens to
the model it was trained for.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tokenheat.core._checks import fail
from tokenheat.errors import ArgumentError, ArgumentTypeError, DamagedFileError

__all__ = ["TunedLens", "model_fingerprint"]

#: Written into every lens file's header; a file without it is not a tuned lens.
FORMAT = "tokenheat.tuned_lens"
FORMAT_VERSION = 1
#: Elements sampled (evenly spaced) from each parameter tensor for the fingerprint.
FINGERPRINT_SAMPLES = 4096
#: The file name of a lens inside a cache folder.
CACHE_FILE = "lens.safetensors"
CACHE_PREFIX = "tuned-lens"


def model_fingerprint(model: Any) -> str:
    """A short hash that tells one model's weights and shape from another's.

    It covers the model class, ``n_layers``/hidden size/vocabulary from the config, every
    parameter's name, shape and dtype, and :data:`FINGERPRINT_SAMPLES` evenly spaced
    values of each parameter (as float32). Reading a few thousand values per tensor keeps
    it fast (well under a second for SmolLM2) while any fine-tuning, another checkpoint or
    another dtype changes it.

    Parameters
    ----------
    model : torch.nn.Module
        A transformers causal LM or a HookedTransformer.

    Returns
    -------
    str
        32 hex digits.

    Examples
    --------
    >>> model_fingerprint(model)  # doctest: +SKIP
    '3f9c0e...'
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        fail(
            "model",
            "a torch model (a transformers causal LM or a HookedTransformer)",
            model,
            kind=ArgumentTypeError,
        )
    digest = hashlib.sha256(type(model).__name__.encode())
    config = getattr(model, "config", None) or getattr(model, "cfg", None)
    for key in ("model_type", "num_hidden_layers", "hidden_size", "vocab_size", "n_layers"):
        digest.update(f"{key}={getattr(config, key, None)!r};".encode())
    with torch.no_grad():
        for name, param in model.named_parameters():
            digest.update(f"{name}:{tuple(param.shape)}:{param.dtype};".encode())
            flat = param.detach().reshape(-1)
            if flat.numel() > FINGERPRINT_SAMPLES:
                step = torch.arange(FINGERPRINT_SAMPLES, dtype=torch.int64)
                idx = step * (flat.numel() - 1) // (FINGERPRINT_SAMPLES - 1)
                flat = flat[idx.to(flat.device)]
            digest.update(flat.float().cpu().numpy().tobytes())
    return digest.hexdigest()[:32]


class TunedLens:
    """Affine translators, one per block, that turn the logit lens into the tuned lens.

    Build one with :func:`tokenheat.train_tuned_lens` (``steps=0`` gives the untrained
    lens, which equals the logit lens) or :meth:`identity`; read one with :meth:`load` or
    :meth:`cached`; use it with ``th.lens(model, tokenizer, prompts, translator=lens)``.

    Parameters
    ----------
    weight : torch.Tensor
        ``(n_layers, d, d)``: ``A_l`` of the map ``h -> h + A_l h + b_l`` (float32).
    bias : torch.Tensor
        ``(n_layers, d)``: ``b_l``.
    info : dict
        JSON-able facts: ``fingerprint`` (of the model it was trained for, see
        :func:`model_fingerprint`), ``model`` (its name), ``steps`` (training steps done),
        and the training settings.

    Attributes
    ----------
    n_layers, d_model : int
    fingerprint : str
    steps : int
        Training steps behind this lens (0: the logit lens).
    """

    def __init__(self, weight: Any, bias: Any, *, info: dict[str, Any]) -> None:
        import torch

        weight = torch.as_tensor(weight, dtype=torch.float32).detach().cpu()
        bias = torch.as_tensor(bias, dtype=torch.float32).detach().cpu()
        if weight.dim() != 3 or weight.shape[1] != weight.shape[2]:
            fail("weight", "of shape (n_layers, d, d)", weight)
        if tuple(bias.shape) != tuple(weight.shape[:2]):
            fail("bias", f"of shape {tuple(weight.shape[:2])} to match weight", bias)
        if "fingerprint" not in info:
            fail(
                "info",
                "a dict naming the model's 'fingerprint' (model_fingerprint)",
                given=f"one with the keys {sorted(info)}",
            )
        self.weight = weight
        self.bias = bias
        self.info = dict(info)
        self._placed: dict[tuple[Any, Any], tuple[Any, Any]] = {}

    @property
    def n_layers(self) -> int:
        """Number of blocks (one translator each)."""
        return int(self.weight.shape[0])

    @property
    def d_model(self) -> int:
        """Width of the residual stream."""
        return int(self.weight.shape[1])

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the model this lens belongs to."""
        return str(self.info["fingerprint"])

    @property
    def steps(self) -> int:
        """Training steps behind this lens (0 for the logit lens)."""
        return int(self.info.get("steps", 0))

    def __repr__(self) -> str:
        return (
            f"TunedLens(model={self.info.get('model', '?')!r}, n_layers={self.n_layers}, "
            f"d_model={self.d_model}, steps={self.steps})"
        )

    @classmethod
    def identity(cls, model: Any) -> TunedLens:
        """The untrained lens of ``model``: every translator is the identity (the logit lens).

        Parameters
        ----------
        model : transformers causal LM or HookedTransformer

        Returns
        -------
        TunedLens
        """
        import torch

        n_layers, d_model, name = model_shape(model)
        info = {"fingerprint": model_fingerprint(model), "model": name, "steps": 0}
        return cls(
            torch.zeros(n_layers, d_model, d_model), torch.zeros(n_layers, d_model), info=info
        )

    def translate(self, layer: int, hidden: Any) -> Any:
        """``hidden + hidden @ A_l.T + b_l``: block ``layer``'s states as the last block's.

        Parameters
        ----------
        layer : int
            Block index (0-based).
        hidden : torch.Tensor
            ``(..., d_model)`` residual states, before the final norm.

        Returns
        -------
        torch.Tensor
            Same shape, device and dtype. An untrained translator returns ``hidden``'s
            values exactly (``A = 0``, ``b = 0``).
        """
        from torch.nn import functional

        weight, bias = self._on(hidden.device, hidden.dtype)
        return hidden + functional.linear(hidden, weight[layer], bias[layer])

    def _on(self, device: Any, dtype: Any) -> tuple[Any, Any]:
        key = (device, dtype)
        if key not in self._placed:
            self._placed = {key: (self.weight.to(device, dtype), self.bias.to(device, dtype))}
        return self._placed[key]

    def check_model(self, model: Any, *, name: str = "translator") -> None:
        """Raise :class:`~tokenheat.errors.ArgumentError` unless this lens was trained for ``model``.

        Parameters
        ----------
        model : torch.nn.Module
        name : str
            The argument named in the message.
        """
        n_layers, d_model, model_name = model_shape(model)
        trained_for = self.info.get("model", "?")
        if (n_layers, d_model) != (self.n_layers, self.d_model):
            fail(
                name,
                f"a tuned lens for this model ({model_name!r}: {n_layers} layers of width "
                f"{d_model})",
                given=f"one for {trained_for!r} ({self.n_layers} layers of width {self.d_model})",
                hint="train one for this model with th.train_tuned_lens(model, tokenizer, texts)",
            )
        found = model_fingerprint(model)
        if found != self.fingerprint:
            fail(
                name,
                f"a tuned lens trained for this model ({model_name!r}, fingerprint {found})",
                given=f"one trained for another model ({trained_for!r}, fingerprint "
                f"{self.fingerprint}: other weights, config or dtype)",
                hint="train one for this model with th.train_tuned_lens(model, tokenizer, texts)",
            )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the lens to one ``.safetensors`` file (tensors + a JSON header), atomically.

        Parameters
        ----------
        path : str or path-like
            The file to write; an existing file is replaced only once the new one is
            complete.

        Returns
        -------
        Path
            ``path``.

        Examples
        --------
        >>> lens.save("smollm2.tuned-lens.safetensors")  # doctest: +SKIP
        """
        from safetensors.torch import save_file

        target = _as_path(path)
        if target.is_dir():
            fail("path", "a file name to write", given=f"the folder {str(target)!r}")
        header = {"format": FORMAT, "version": str(FORMAT_VERSION), "info": json.dumps(self.info)}
        fd, tmp = tempfile.mkstemp(prefix=".tl-", suffix=".tmp", dir=target.parent or ".")
        os.close(fd)
        try:
            tensors = {"weight": self.weight.contiguous(), "bias": self.bias.contiguous()}
            save_file(tensors, tmp, metadata=header)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, model: Any = None) -> TunedLens:
        """Read a lens written by :meth:`save` (no pickle: safetensors and JSON only).

        Parameters
        ----------
        path : str or path-like
            A ``.safetensors`` file from :meth:`save`.
        model : torch.nn.Module, optional
            When given, the lens must belong to it (see :meth:`check_model`).

        Returns
        -------
        TunedLens

        Raises
        ------
        FileNotFoundError
            No such file.
        DamagedFileError
            The file is not a tuned lens, or its tensors do not fit its header.
        ArgumentError
            ``model`` is another model than the one the lens was trained for.
        """
        from safetensors import SafetensorError, safe_open

        target = _as_path(path)
        if not target.is_file():
            raise FileNotFoundError(f"path {str(target)!r}: no tuned-lens file there")
        try:
            with safe_open(str(target), framework="pt") as f:
                header = f.metadata() or {}
                if header.get("format") != FORMAT:
                    raise DamagedFileError(
                        f"{str(target)!r} is a safetensors file but not a tokenheat tuned "
                        f"lens (its header has format={header.get('format')!r})"
                    )
                if header.get("version") != str(FORMAT_VERSION):
                    raise DamagedFileError(
                        f"{str(target)!r} is a tuned lens of format version "
                        f"{header.get('version')!r}; this tokenheat reads version "
                        f"{FORMAT_VERSION}"
                    )
                info = json.loads(header["info"])
                weight, bias = f.get_tensor("weight"), f.get_tensor("bias")
        except (SafetensorError, KeyError, json.JSONDecodeError, OSError) as err:
            raise DamagedFileError(
                f"{str(target)!r} cannot be read as a tuned lens: {err}"
            ) from None
        try:
            lens = cls(weight, bias, info=info)
        except ArgumentError as err:
            raise DamagedFileError(f"{str(target)!r} holds an inconsistent lens: {err}") from None
        if model is not None:
            lens.check_model(model, name=f"the lens in {str(target)!r}")
        return lens

    @classmethod
    def cached(
        cls, model: Any, *, cache_dir: str | os.PathLike[str] | None = None
    ) -> TunedLens | None:
        """The most recently trained cached lens of ``model``, or None when there is none.

        :func:`tokenheat.train_tuned_lens` (with ``cache=True``, the default) and
        ``tokenheat demo --tuned-lens`` fill the cache.

        Parameters
        ----------
        model : torch.nn.Module
        cache_dir : str or path-like, optional
            See :func:`tokenheat.models.cache_root`.

        Returns
        -------
        TunedLens or None
        """
        from tokenheat.models._cache import MARKER, cache_root

        root = cache_root(cache_dir)
        prefix = f"{CACHE_PREFIX}-{model_fingerprint(model)[:16]}-"
        found = [
            p
            for p in root.glob(f"{prefix}*")
            if p.is_dir() and (p / MARKER).is_file() and (p / CACHE_FILE).is_file()
        ]
        if not found:
            return None
        newest = max(found, key=lambda p: (p / MARKER).stat().st_mtime)
        return cls.load(newest / CACHE_FILE, model=model)


def check_translator(translator: Any, model: Any) -> None:
    """Refuse a ``translator`` that is not a :class:`TunedLens` of ``model``."""
    if not isinstance(translator, TunedLens):
        fail(
            "translator",
            "a tokenheat.TunedLens (th.train_tuned_lens or th.TunedLens.load) or None",
            translator,
            kind=ArgumentTypeError,
        )
    translator.check_model(model)


def name_lens(matrix: Any, translator: Any, title: str | None) -> Any:
    """Say which lens made ``matrix``: title (unless ``title`` is given) and meta."""
    if translator is not None:
        matrix.title = matrix.title.replace("Logit lens", "Tuned lens", 1)
        matrix.meta["translator"] = {
            k: translator.info.get(k) for k in ("model", "fingerprint", "steps", "settings")
        }
    matrix.meta["lens"] = "logit" if translator is None else "tuned"
    if title is not None:
        matrix.title = title
    return matrix


def model_shape(model: Any) -> tuple[int, int, str]:
    """``(n_layers, d_model, name)`` of a transformers causal LM or HookedTransformer."""
    from tokenheat.models._select import adapter_for

    adapter = adapter_for(model, getattr(model, "tokenizer", None) or _NO_TOKENIZER)
    config = adapter.config
    width = getattr(config, "hidden_size", None) or getattr(config, "d_model", None)
    if not isinstance(width, int):
        embedding: Any = adapter.input_embeddings
        width = int(embedding.weight.shape[-1])
    return adapter.n_layers, width, adapter.name


class _NoTokenizer:
    """Stands in for a tokenizer where only the model's shape is read."""


_NO_TOKENIZER = _NoTokenizer()


def _as_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        fail("path", "a file name (str or os.PathLike)", path, kind=ArgumentTypeError)
    return Path(path).expanduser()
