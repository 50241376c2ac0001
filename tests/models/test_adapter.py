"""ModelAdapter and prompt encoding on tiny random models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import FAMILIES, MAX_POSITIONS, make_causal_lm, make_tokenizer

from tokenheat.models import ModelAdapter, encode_prompts, tokenize_texts

SRC = str(Path(__file__).resolve().parents[2] / "src")
TEXTS = ["The cat sat on the mat.", "Hello world", "A quick brown fox jumps over the lazy dog."]

EXPECTED = {
    "gpt2": ("transformer.h", "transformer.ln_f"),
    "llama": ("model.layers", "model.norm"),
    "qwen2": ("model.layers", "model.norm"),
    "gpt_neox": ("gpt_neox.layers", "gpt_neox.final_layer_norm"),
}


def _name(model: torch.nn.Module, module: torch.nn.Module) -> str:
    return next(n for n, m in model.named_modules() if m is module)


@pytest.mark.parametrize("family", FAMILIES)
def test_adapter_finds_blocks_norm_and_embeddings(family: str, tokenizer) -> None:
    model = make_causal_lm(family, len(tokenizer))
    adapter = ModelAdapter(model, tokenizer)
    blocks, norm = EXPECTED[family]
    assert _name(model, adapter.blocks) == blocks
    assert _name(model, adapter.final_norm) == norm
    assert adapter.unembedding is model.get_output_embeddings()
    assert adapter.input_embeddings is model.get_input_embeddings()
    assert adapter.n_layers == 2
    assert adapter.max_length == MAX_POSITIONS


def test_adapter_rejects_non_module(tokenizer) -> None:
    with pytest.raises(TypeError, match=r"model must be a transformers causal LM .*, got 'gpt2'"):
        ModelAdapter("gpt2", tokenizer)


def test_capture_matches_hidden_states_and_removes_hooks(causal_lm, tokenizer) -> None:
    adapter = ModelAdapter(causal_lm, tokenizer)
    enc = adapter.encode(TEXTS[0])
    batch = next(adapter.batches(enc, 1))
    with adapter.capture(embeddings=True) as store:
        final = adapter.forward(batch)
    for block in adapter.blocks:
        assert not block._forward_hooks and not block._forward_pre_hooks
    ids = torch.tensor([enc[0].ids])
    with torch.no_grad():
        hs = causal_lm(ids, output_hidden_states=True).hidden_states
    torch.testing.assert_close(store["emb"], hs[0])
    torch.testing.assert_close(store[0], hs[1])
    torch.testing.assert_close(final, hs[-1])  # HF's last hidden state is the normed one
    with torch.inference_mode():
        torch.testing.assert_close(adapter.final_norm(store[1]), hs[-1])


def test_batches_pad_left_with_positions(tokenizer) -> None:
    adapter = ModelAdapter(make_causal_lm("gpt2", len(tokenizer)), tokenizer)
    enc = adapter.encode(TEXTS)
    batch = next(adapter.batches(enc, 3))
    assert batch.index == [2, 0, 1]  # longest first
    width = batch.input_ids.shape[1]
    short = batch.index.index(1)
    n = len(enc[1])
    assert batch.attention_mask[short].tolist() == [0] * (width - n) + [1] * n
    assert batch.position_ids[short, width - n :].tolist() == list(range(n))
    assert batch.input_ids[short, width - n :].tolist() == enc[1].ids
    assert batch.valid(short) == slice(width - n, width)


def test_padded_forward_equals_one_by_one(causal_lm, tokenizer) -> None:
    adapter = ModelAdapter(causal_lm, tokenizer)
    enc = adapter.encode(TEXTS)
    together = {}
    for batch in adapter.batches(enc, 3):
        with adapter.capture() as store:
            adapter.forward(batch)
        for b, i in enumerate(batch.index):
            together[i] = [store[k][b, batch.valid(b)] for k in range(adapter.n_layers)]
    for i, e in enumerate(enc):
        with adapter.capture() as store:
            adapter.forward(next(adapter.batches([e], 1)))
        for k in range(adapter.n_layers):
            torch.testing.assert_close(together[i][k], store[k][0], atol=1e-5, rtol=1e-4)


def test_tokenizer_without_pad_token_is_not_modified(tokenizer_no_pad) -> None:
    adapter = ModelAdapter(make_causal_lm("llama", len(tokenizer_no_pad)), tokenizer_no_pad)
    batch = next(adapter.batches(adapter.encode(TEXTS), 3))
    assert tokenizer_no_pad.pad_token is None
    assert adapter.pad_id == tokenizer_no_pad.eos_token_id
    assert batch.input_ids[batch.index.index(1), 0] == tokenizer_no_pad.eos_token_id


def test_placed_moves_model_and_restores_it(tokenizer) -> None:
    model = make_causal_lm("gpt2", len(tokenizer)).train()
    adapter = ModelAdapter(model, tokenizer)
    with adapter.placed(device="cpu", dtype=torch.float64):
        assert next(model.parameters()).dtype == torch.float64
        assert not model.training
    assert next(model.parameters()).dtype == torch.float32
    assert model.training
    with (
        pytest.raises(TypeError, match=r"dtype must be a torch.dtype .*, got 'float16'"),
        adapter.placed(dtype="float16"),
    ):
        pass


def test_encode_with_chat_template_and_dummy_tokens(tokenizer) -> None:
    (enc,) = encode_prompts(tokenizer, "hi there", chat=True, append=" ...", n_dummy=3)
    dummy = tokenizer.convert_ids_to_tokens(tokenizer(" ...", add_special_tokens=False).input_ids)
    assert enc.text.startswith("<|im_start|>user\nhi there<|im_end|>")
    assert enc.text.endswith("<|im_start|>assistant\n ... ... ...")
    assert enc.n_appended == 3 * len(dummy)
    assert enc.tokens[-enc.n_appended :] == dummy * 3
    assert enc.tokens[0] == "<|im_start|>"
    conversation = [{"role": "user", "content": "hi there"}]
    (same,) = encode_prompts(tokenizer, [conversation], n_dummy=3)
    assert same.ids == enc.ids
    assert enc.offsets is not None
    spans = [enc.text[a:b] for a, b in enc.offsets[-enc.n_appended :]]
    assert "".join(spans) == " ... ... ..."
    assert enc.tokens[-enc.n_appended - 1] == "Ċ"  # the template's last token


def test_encode_chat_needs_a_template() -> None:
    tok = make_tokenizer(chat_template=False)
    with pytest.raises(
        ValueError, match=r"tokenizer must be a tokenizer with a chat template .*, got a"
    ):
        encode_prompts(tok, "hi", chat=True)


def test_plain_encode_adds_special_tokens(tokenizer_bos) -> None:
    (enc,) = encode_prompts(tokenizer_bos, "The cat")
    assert enc.tokens[0] == "<|endoftext|>"
    (chat,) = encode_prompts(tokenizer_bos, "The cat", chat=True)
    assert chat.tokens[0] == "<|im_start|>"  # the template writes its own start


def test_too_long_text_raises_naming_the_limit(tokenizer) -> None:
    adapter = ModelAdapter(make_causal_lm("gpt2", len(tokenizer)), tokenizer)
    long = "The cat sat on the mat. " * 20
    with pytest.raises(
        ValueError,
        match=rf"prompts\[0\] must be at most {MAX_POSITIONS} tokens long \(the model's context\), got a prompt of \d+ tokens; .*truncate=True",
    ):
        adapter.encode(long)
    (cut,) = adapter.encode(long, truncate=True, n_dummy=2)
    assert len(cut) == MAX_POSITIONS
    assert cut.truncated == len(tokenizer(long).input_ids) - (MAX_POSITIONS - cut.n_appended)
    dummy = tokenizer.convert_ids_to_tokens(tokenizer(" ...", add_special_tokens=False).input_ids)
    assert cut.tokens[-cut.n_appended :] == dummy * 2
    assert (
        cut.ids[: MAX_POSITIONS - cut.n_appended]
        == tokenizer(long).input_ids[: MAX_POSITIONS - cut.n_appended]
    )


def test_tokenize_texts_gives_raw_token_strings(tokenizer) -> None:
    tokens = tokenize_texts(tokenizer, ["Hello world", "The cat"])
    assert tokens == [
        ["Hello", "Ġworld"],
        tokenizer.convert_ids_to_tokens(tokenizer("The cat").input_ids),
    ]


def test_bad_prompts_raise_type_error(tokenizer) -> None:
    with pytest.raises(
        TypeError, match=r"prompts\[1\] must be a string or a list of chat messages .*, got 3"
    ):
        encode_prompts(tokenizer, ["ok", 3])
    with pytest.raises(ValueError, match="n_dummy must be an int >= 0, got -1"):
        encode_prompts(tokenizer, "ok", n_dummy=-1)


def test_import_tokenheat_does_not_import_torch() -> None:
    code = (
        "import sys, tokenheat, tokenheat.models, tokenheat.analyses;"
        "tokenheat.models.encode_prompts;"
        "assert 'torch' not in sys.modules, 'torch imported';"
        "assert 'transformers' not in sys.modules, 'transformers imported'"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr


def test_adapters_and_classifiers_share_one_pad_and_context_rule() -> None:
    from types import SimpleNamespace

    from tokenheat.models._batching import model_max_length, pad_id

    tok = SimpleNamespace(pad_token_id=None, eos_token_id=None, unk_token_id=3)
    assert pad_id(tok) == 3
    assert pad_id(SimpleNamespace()) == 0
    model = SimpleNamespace(config=SimpleNamespace(n_ctx=64))
    assert model_max_length(model, tok) == 64
    no_config = SimpleNamespace(config=SimpleNamespace())
    assert model_max_length(no_config, SimpleNamespace(model_max_length=512)) == 512
    assert model_max_length(no_config, SimpleNamespace(model_max_length=int(1e30))) is None
