"""TransformerLens HookedTransformers give the same numbers as the HF model they were built from.

Each HookedTransformer is built offline from a ``HookedTransformerConfig`` and the weights
of a tiny random HF model (TransformerLens's own conversion functions), so both paths run
on the same weights.
"""

from __future__ import annotations

import importlib
import tempfile
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from conftest import make_causal_lm

import tokenheat as th
from tokenheat.analyses._attribution import attribution
from tokenheat.models._adapter import ModelAdapter
from tokenheat.models._select import adapter_for
from tokenheat.models._tlens import HookedTransformerForCausalLM, TLensAdapter, as_causal_lm

pytest.importorskip("transformer_lens")
try:
    from transformer_lens import HookedTransformer, HookedTransformerConfig
    from transformer_lens.pretrained.weight_conversions import (
        convert_gpt2_weights,
        convert_llama_weights,
        convert_neox_weights,
    )
except ImportError:  # TransformerLens 4 removed HookedTransformer
    pytest.skip("needs TransformerLens 2.x/3.x (HookedTransformer)", allow_module_level=True)

transformers = pytest.importorskip("transformers")
lens_module = importlib.import_module("tokenheat.analyses._lens")

PROMPTS = ["The cat sat on the mat.", "Hello world", "A quick brown fox jumps over the lazy dog."]
TEXTS = [
    "The cat sat on the mat and then _PAUSE_ the dog came.",
    "Hello world, _PAUSE_ and then more text _PAUSE_",
]
TARGETS = [" the", None, 5, " sat on the"]  # the last has several tokens
TL_FAMILIES = ("gpt2", "llama", "gpt_neox")
CONVERT = {"gpt2": convert_gpt2_weights, "llama": convert_llama_weights}
CONVERT["gpt_neox"] = convert_neox_weights


def tl_config(hf: Any, n_ctx: int | None = None) -> Any:
    """The HookedTransformerConfig of a conftest HF model (hidden 32, 4 heads)."""
    c = hf.config
    family = c.model_type
    d_model, n_heads = c.hidden_size, c.num_attention_heads
    common = {
        "d_model": d_model, "d_head": d_model // n_heads, "n_heads": n_heads,
        "n_layers": c.num_hidden_layers, "d_vocab": c.vocab_size, "device": "cpu",
        "n_ctx": n_ctx or getattr(c, "max_position_embeddings", None) or c.n_positions,
    }  # fmt: skip
    if family == "gpt2":
        return HookedTransformerConfig(
            **common, d_mlp=4 * d_model, act_fn=c.activation_function, normalization_type="LN",
            eps=c.layer_norm_epsilon, positional_embedding_type="standard",
            original_architecture="GPT2LMHeadModel",
        )  # fmt: skip
    rope = getattr(c, "rope_parameters", None) or {  # transformers < 5 keeps them flat
        "rope_theta": getattr(c, "rope_theta", None) or c.rotary_emb_base,
        "partial_rotary_factor": getattr(c, "rotary_pct", 1.0),
    }
    if family == "llama":
        return HookedTransformerConfig(
            **common, d_mlp=c.intermediate_size, act_fn=c.hidden_act, normalization_type="RMS",
            eps=c.rms_norm_eps, positional_embedding_type="rotary", rotary_dim=d_model // n_heads,
            n_key_value_heads=c.num_key_value_heads, gated_mlp=True, final_rms=True,
            rotary_base=rope["rope_theta"], original_architecture="LlamaForCausalLM",
        )  # fmt: skip
    return HookedTransformerConfig(
        **common, d_mlp=c.intermediate_size, act_fn=c.hidden_act, normalization_type="LN",
        eps=c.layer_norm_eps, positional_embedding_type="rotary",
        rotary_dim=int(rope["partial_rotary_factor"] * d_model // n_heads),
        parallel_attn_mlp=c.use_parallel_residual, rotary_base=rope["rope_theta"],
        original_architecture="GPTNeoXForCausalLM",
    )  # fmt: skip


def hooked(
    hf: Any, *, process: bool = False, tokenizer: Any = None, n_ctx: int | None = None
) -> Any:
    """A HookedTransformer with ``hf``'s weights; ``process`` = TransformerLens's defaults
    (fold_ln, center_writing_weights, center_unembed), else the weights as they are."""
    cfg = tl_config(hf, n_ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = HookedTransformer(cfg, tokenizer=tokenizer)
    flags = {} if process else {"fold_ln": False, "center_writing_weights": False}
    if not process:
        flags.update(center_unembed=False, fold_value_biases=False)
    model.load_and_process_state_dict(CONVERT[hf.config.model_type](hf, cfg), **flags)
    return model.eval()


@pytest.fixture(scope="module", params=TL_FAMILIES)
def pair(request: pytest.FixtureRequest, tokenizer: Any) -> tuple[Any, Any]:
    hf = make_causal_lm(request.param, len(tokenizer))
    return hf, hooked(hf)


def assert_same_lens(a: Any, b: Any, atol: float = 1e-4) -> None:
    np.testing.assert_allclose(a.values, b.values, atol=atol)
    for name in a.extras:
        np.testing.assert_allclose(a.extras[name], b.extras[name], atol=atol)
    assert (a.cell_text_array() == b.cell_text_array()).all()
    assert a.rows == b.rows and a.cols == b.cols
    ca, cb = a.contexts.to_pandas(), b.contexts.to_pandas()
    assert (ca["top1"] == cb["top1"]).all()
    np.testing.assert_allclose(ca["p_next"], cb["p_next"], atol=atol)


def test_the_hooked_transformer_computes_the_hf_logits(pair, tokenizer) -> None:
    hf, tl = pair
    ids = torch.tensor([tokenizer(PROMPTS[2]).input_ids])
    with torch.no_grad():
        np.testing.assert_allclose(tl(ids).numpy(), hf(ids).logits.numpy(), atol=1e-4)


@pytest.mark.parametrize("stat", ["entropy", "kl_final", "top1_prob"])
def test_lens_rows_equal_the_hf_path(pair, tokenizer, stat: str) -> None:
    hf, tl = pair
    kwargs = {"stat": stat, "batch_size": 3, "progress": False}  # left-padded batches
    assert_same_lens(
        th.lens(hf, tokenizer, PROMPTS, **kwargs), th.lens(tl, tokenizer, PROMPTS, **kwargs)
    )


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_lens_does_not_depend_on_weight_processing(family: str, tokenizer) -> None:
    hf = make_causal_lm(family, len(tokenizer))
    folded = hooked(hf, process=True)  # fold_ln, center_writing_weights, center_unembed
    assert not torch.allclose(folded.W_U, hooked(hf).W_U)  # the weights did change
    assert_same_lens(
        th.lens(hf, tokenizer, PROMPTS, progress=False),
        th.lens(folded, tokenizer, PROMPTS, progress=False),
    )


def test_padded_batch_equals_one_by_one(tokenizer) -> None:
    adapter = TLensAdapter(hooked(make_causal_lm("llama", len(tokenizer))), tokenizer)
    enc = adapter.encode(PROMPTS)
    batched = lens_module.lens_arrays(adapter, enc, [0, 1], top_k=5, batch_size=3)
    for e, res in zip(enc, batched, strict=True):
        (alone,) = lens_module.lens_arrays(adapter, [e], [0, 1], top_k=5, batch_size=1)
        np.testing.assert_allclose(res.entropy, alone.entropy, atol=1e-4)
        np.testing.assert_allclose(res.top_probs, alone.top_probs, atol=1e-4)


@pytest.mark.parametrize("center", [False, "mean"])
def test_anchor_similarity_equals_the_hf_path(pair, tokenizer, center) -> None:
    hf, tl = pair
    kwargs = {"max_distance": 6, "center": center, "batch_size": 2, "progress": False}
    a = th.anchor_similarity(hf, tokenizer, TEXTS, **kwargs)
    b = th.anchor_similarity(tl, tokenizer, TEXTS, **kwargs)
    assert a.rows == b.rows == ["emb", "L0", "L1"]
    np.testing.assert_allclose(a.values, b.values, atol=1e-5)
    np.testing.assert_array_equal(a.counts, b.counts)
    ca, cb = a.contexts.to_pandas(), b.contexts.to_pandas()
    np.testing.assert_allclose(ca["norm_anchor"], cb["norm_anchor"], rtol=1e-5)


def test_adapter_reads_the_hooked_transformer_parts(tokenizer) -> None:
    tl = hooked(make_causal_lm("gpt2", len(tokenizer)), n_ctx=40)
    adapter = adapter_for(tl, tokenizer)
    assert isinstance(adapter, TLensAdapter) and adapter.family == "transformer_lens"
    assert adapter.blocks is tl.blocks and adapter.final_norm is tl.ln_final
    assert adapter.unembedding is tl.unembed and adapter.input_embeddings is tl.embed
    assert (adapter.n_layers, adapter.vocab_size, adapter.max_length) == (2, len(tokenizer), 40)
    assert isinstance(adapter_for(make_causal_lm("gpt2", len(tokenizer)), tokenizer), ModelAdapter)


def test_context_limit_is_cfg_n_ctx(tokenizer) -> None:
    tl = hooked(make_causal_lm("gpt2", len(tokenizer)), n_ctx=8)
    with pytest.raises(
        ValueError, match=r"prompts\[0\] must be at most 8 tokens long \(the model's context\)"
    ):
        th.lens(tl, tokenizer, PROMPTS[2], progress=False)
    m = th.lens(tl, tokenizer, PROMPTS[2], truncate=True, progress=False)
    assert m.shape == (3, 8)


def test_device_and_dtype_are_restored(tokenizer) -> None:
    hf = make_causal_lm("llama", len(tokenizer))
    tl = hooked(hf)
    wide = th.lens(tl, tokenizer, PROMPTS[0], dtype=torch.float64, progress=False)
    assert tl.W_E.dtype == torch.float32 and tl.cfg.dtype == torch.float32
    assert_same_lens(wide, th.lens(hf, tokenizer, PROMPTS[0], progress=False))


def test_own_tokenizer_is_used_when_none_is_given(tokenizer) -> None:
    hf = make_causal_lm("gpt2", len(tokenizer))
    with tempfile.TemporaryDirectory() as folder:  # TransformerLens reloads it with a BOS
        tokenizer.save_pretrained(folder)
        own = transformers.AutoTokenizer.from_pretrained(folder)
        tl = hooked(hf, tokenizer=own)
    assert tl.tokenizer is not None
    m = th.lens(tl, None, PROMPTS[1], progress=False)
    assert m.cols == tl.tokenizer.convert_ids_to_tokens(tl.tokenizer(PROMPTS[1]).input_ids)
    assert_same_lens(m, th.lens(hf, tl.tokenizer, PROMPTS[1], progress=False))
    a = th.anchor_similarity(tl, None, TEXTS, max_distance=4, progress=False)
    b = th.anchor_similarity(hf, tl.tokenizer, TEXTS, max_distance=4, progress=False)
    np.testing.assert_allclose(a.values, b.values, atol=1e-5)


def test_missing_tokenizer_is_a_clear_error(tokenizer) -> None:
    tl = hooked(make_causal_lm("gpt2", len(tokenizer)))
    with pytest.raises(
        TypeError,
        match=r"tokenizer must be a tokenizer when .*\(model\.tokenizer is None\), got None",
    ):
        th.lens(tl, None, PROMPTS[0], progress=False)
    with pytest.raises(
        TypeError,
        match="tokenizer must be the Hugging Face tokenizer of the GPT2LMHeadModel, got None",
    ):
        th.anchor_similarity(make_causal_lm("gpt2", len(tokenizer)), None, TEXTS, progress=False)


def test_unsupported_model_objects_are_clear_errors(tokenizer) -> None:
    with pytest.raises(TypeError, match="HookedTransformer, got 'gpt2'"):
        th.lens("gpt2", tokenizer, PROMPTS[0], progress=False)
    with pytest.raises(
        TypeError,
        match=r"HookedTransformer, got a Linear .*whose blocks and final norm cannot be found",
    ):
        th.anchor_similarity(torch.nn.Linear(2, 2), tokenizer, TEXTS, progress=False)
    with pytest.raises(
        TypeError,
        match=r"model must be a transformer_lens\.HookedTransformer, got a GPT2LMHeadModel",
    ):
        HookedTransformerForCausalLM(make_causal_lm("gpt2", len(tokenizer)))


# ---------------------------------------------------------------- attribution interface


def test_causal_lm_view_returns_the_models_logits(pair, tokenizer) -> None:
    hf, tl = pair
    lm, _ = as_causal_lm(tl, tokenizer)
    ids = torch.tensor([tokenizer(PROMPTS[0]).input_ids])
    emb = lm.get_input_embeddings()(ids)
    with torch.no_grad():
        expected = hf(ids).logits
        np.testing.assert_allclose(lm(input_ids=ids).logits, expected, atol=1e-4)
        out = lm(inputs_embeds=emb, attention_mask=torch.ones_like(ids), logits_to_keep=2)
    np.testing.assert_allclose(out.logits, expected[:, -2:], atol=1e-4)
    assert lm.config.max_position_embeddings == tl.cfg.n_ctx
    with pytest.raises(
        ValueError, match="position_ids must be the positions the attention mask implies"
    ):
        lm(input_ids=ids, position_ids=torch.arange(ids.shape[1])[None] + 1)


@pytest.mark.parametrize("method", ["integrated_gradients", "gradient_x_input", "occlusion"])
def test_attribution_through_the_view_equals_the_hf_path(pair, tokenizer, method: str) -> None:
    hf, tl = pair
    lm, tok = as_causal_lm(tl, tokenizer)
    kwargs = {"method": method, "steps": 16, "progress": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # completeness warnings are the same on both sides
        a = attribution(hf, tokenizer, PROMPTS[2], TARGETS, **kwargs)
        b = attribution(lm, tok, PROMPTS[2], TARGETS, **kwargs)
    assert a.cols == b.cols
    np.testing.assert_allclose(a.values, b.values, atol=1e-4)


def test_integrated_gradients_through_the_view_equal_captum(tokenizer) -> None:
    captum_attr = pytest.importorskip("captum.attr")
    tl = hooked(make_causal_lm("llama", len(tokenizer)))
    lm, tok = as_causal_lm(tl, tokenizer)
    ids = torch.tensor([tokenizer(PROMPTS[0]).input_ids])
    target = int(tokenizer.convert_tokens_to_ids("Ġthe"))

    def logprob(emb: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(lm(inputs_embeds=emb).logits[:, -1].float(), -1)[:, target]

    x = lm.get_input_embeddings()(ids).detach()
    ig = captum_attr.IntegratedGradients(logprob)
    base = torch.zeros_like(x)
    base[:, 0] = x[:, 0]  # baseline_keep="first": no sink, the first position kept
    expected = ig.attribute(x, baselines=base, n_steps=24).sum(-1)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = attribution(
            lm, tok, PROMPTS[0], "Ġthe", steps=24, baseline_keep="first", progress=False
        )
    np.testing.assert_allclose(m.values[:, 0], expected.detach().numpy(), atol=1e-4)


def test_attribution_accepts_a_hooked_transformer(tokenizer) -> None:
    hf = make_causal_lm("gpt2", len(tokenizer))
    tl = hooked(hf)
    a = attribution(hf, tokenizer, PROMPTS[0], " the", steps=8, progress=False)
    b = th.attribution(tl, tokenizer, PROMPTS[0], " the", steps=8, progress=False)
    np.testing.assert_allclose(a.values, b.values, atol=1e-4)
    assert b.meta["model_kind"] == "causal"


def test_a_leading_pad_token_is_not_masked(tokenizer) -> None:
    hf = make_causal_lm("gpt2", len(tokenizer))
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        tl = hooked(hf, tokenizer=transformers.AutoTokenizer.from_pretrained(folder))
    tl.tokenizer.pad_token, tl.tokenizer.padding_side = tl.tokenizer.eos_token, "left"
    tl.cfg.default_prepend_bos = False  # TransformerLens would guess that a leading pad is padding
    prompts = ["<|endoftext|>" + p for p in PROMPTS]
    assert tl.tokenizer(prompts[0]).input_ids[0] == tl.tokenizer.pad_token_id
    for batch in (prompts[0], prompts):  # unpadded and padded batches
        assert_same_lens(
            th.lens(tl, None, batch, progress=False),
            th.lens(hf, tl.tokenizer, batch, progress=False),
        )


# ---------------------------------------------------------------- ActivationCache


@pytest.fixture(scope="module")
def tl_own(tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A HookedTransformer with its own tokenizer (TransformerLens reloads it from a folder,
    adding a BOS, so the folder stays for the module)."""
    folder = tmp_path_factory.mktemp("tokenizer")
    tokenizer.save_pretrained(folder)
    own = transformers.AutoTokenizer.from_pretrained(folder)
    return hooked(make_causal_lm("llama", len(tokenizer)), tokenizer=own)


def test_lens_from_a_cache_equals_lens_from_the_model(tl_own) -> None:
    _, cache = tl_own.run_with_cache(PROMPTS)  # right-padded by TransformerLens
    from_model = th.lens(tl_own, None, PROMPTS, stat="kl_final", progress=False)
    assert_same_lens(th.lens(cache, None, PROMPTS, stat="kl_final", progress=False), from_model)
    tokens = tl_own.to_tokens(PROMPTS[2])  # token ids work as the prompts too
    _, one = tl_own.run_with_cache(tokens)
    expected = th.lens(tl_own, None, PROMPTS[2], progress=False)
    assert_same_lens(th.lens(one, None, tokens, progress=False), expected)
    _, flat = tl_own.run_with_cache(tokens, remove_batch_dim=True)  # (T, d) states
    assert_same_lens(th.lens(flat, None, PROMPTS[2], progress=False), expected)


def test_the_cache_is_read_not_the_model_rerun(tl_own) -> None:
    _, cache = tl_own.run_with_cache(PROMPTS[0])
    calls = []
    handle = tl_own.register_forward_hook(lambda *args: calls.append(1))
    try:
        th.lens(cache, None, PROMPTS[0], progress=False)
        th.anchor_similarity(cache, None, PROMPTS[0], anchor=[[4]], max_distance=3, progress=False)
    finally:
        handle.remove()
    assert calls == []


def test_anchor_similarity_from_a_cache_equals_the_model_s(tl_own) -> None:
    _, cache = tl_own.run_with_cache(TEXTS)
    kwargs = {"max_distance": 5, "progress": False}
    a = th.anchor_similarity(cache, None, TEXTS, **kwargs)
    b = th.anchor_similarity(tl_own, None, TEXTS, **kwargs)
    assert a.rows == b.rows == ["emb", "L0", "L1"]
    np.testing.assert_allclose(a.values, b.values, atol=1e-5)
    np.testing.assert_array_equal(a.counts, b.counts)


def test_from_cache_takes_another_model_for_the_unembedding(tl_own, tokenizer) -> None:
    _, cache = tl_own.run_with_cache(PROMPTS[1])
    adapter = th.models.from_cache(cache, tl_own)
    assert adapter.inner.model is tl_own
    expected = th.lens(tl_own, None, PROMPTS[1], progress=False)
    assert_same_lens(th.lens(adapter, None, PROMPTS[1], progress=False), expected)
    # the cached states follow the model's placement, which is undone afterwards
    assert_same_lens(
        th.lens(cache, None, PROMPTS[1], dtype=torch.float64, progress=False), expected
    )
    assert tl_own.W_E.dtype == torch.float32


def test_a_cache_that_does_not_fit_is_a_clear_error(tl_own) -> None:
    from tokenheat.errors import ArgumentError, ArgumentTypeError

    _, cache = tl_own.run_with_cache(PROMPTS[:2])
    with pytest.raises(
        ArgumentError,
        match=r"prompts must be the 2 prompt\(s\) the ActivationCache was computed on, .*, got 1 prompt\(s\)",
    ):
        th.lens(cache, None, PROMPTS[0], progress=False)
    _, one = tl_own.run_with_cache(PROMPTS[0])
    with pytest.raises(
        ArgumentError,
        match=r"prompts\[0\] must be the tokens the ActivationCache was computed on \(\d+ positions\), got \d+ tokens here; .*model\.to_tokens\(text\)",
    ):
        th.lens(one, None, PROMPTS[2], progress=False)
    _, partial = tl_own.run_with_cache(PROMPTS[0], names_filter=lambda name: "resid_post" in name)
    with pytest.raises(
        ArgumentError,
        match=r"the ActivationCache must be a cache holding 'blocks\.0\.hook_resid_pre', got one without it",
    ):
        th.anchor_similarity(partial, None, PROMPTS[0], anchor=[[3]], progress=False)
    with pytest.raises(
        ArgumentTypeError,
        match=r"cache must be a transformer_lens ActivationCache .*, got \{'blocks\.0\.hook_resid_post': None\}",
    ):
        th.models.from_cache({"blocks.0.hook_resid_post": None})
