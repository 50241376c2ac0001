"""The tuned lens on tiny random models: the untrained lens is the logit lens, training lowers
held-out KL at every layer, files round-trip, a lens refuses another model, and an
interrupted training resumes to the same translators."""

from __future__ import annotations

import importlib
from pydoc_data.topics import topics

import numpy as np
import pytest
import scipy.special
import torch
from _lens_reference import reference_logits
from conftest import FAMILIES, make_causal_lm

import tokenheat as th
from tokenheat.analyses import lens_kl
from tokenheat.errors import ArgumentError, ArgumentTypeError, DamagedFileError
from tokenheat.models import ModelAdapter

train_module = importlib.import_module("tokenheat.analyses._tuned_lens_train")
fit_module = importlib.import_module("tokenheat.analyses._tuned_lens_fit")
TOPICS = list(topics.values())
TRAIN_TEXTS = TOPICS[:40]
HELD_OUT = TOPICS[60:70]  # other documentation topics than the training ones
PROMPTS = ["The cat sat on the mat.", "Hello world", "A quick brown fox jumps over the lazy dog."]
#: Small and fast on a tiny model: 8 windows of 32 tokens per step.
FAST = {"seq_len": 32, "batch_size": 8, "cache": False, "progress": False}


@pytest.fixture(scope="module")
def deep_llama(tokenizer):
    """Four blocks, so that three translators are trained."""
    return make_causal_lm("llama", len(tokenizer), n_layers=4)


@pytest.fixture(scope="module")
def trained(deep_llama, tokenizer):
    return th.train_tuned_lens(deep_llama, tokenizer, TRAIN_TEXTS, steps=30, **FAST)


def random_lens(model, seed: int = 0) -> th.TunedLens:
    """A lens with random (non-identity) translators, the last one the identity."""
    base = th.TunedLens.identity(model)
    gen = torch.Generator().manual_seed(seed)
    weight = 0.1 * torch.randn(base.weight.shape, generator=gen)
    bias = 0.5 * torch.randn(base.bias.shape, generator=gen)
    weight[-1], bias[-1] = 0, 0
    return th.TunedLens(weight, bias, info=base.info)


def reference_tuned_logits(model, tokenizer, lens, text: str) -> np.ndarray:
    """(n_layers + 1, T, V) float64, by hand: the logit lens with ``(I + A) h + b`` (in
    float64) before the final norm; the last two rows are the logit lens's."""

    def translate(layer: int, h: torch.Tensor) -> torch.Tensor:
        a, b = lens.weight[layer].double(), lens.bias[layer].double()
        return (h.double() @ (torch.eye(a.shape[0], dtype=torch.float64) + a).T + b).float()

    return reference_logits(model, tokenizer, text, translate)


@pytest.mark.parametrize("family", FAMILIES)
def test_untrained_lens_reproduces_the_logit_lens_exactly(family: str, tokenizer) -> None:
    model = make_causal_lm(family, len(tokenizer))
    untrained = th.train_tuned_lens(model, tokenizer, TRAIN_TEXTS, steps=0)
    assert (
        untrained.steps == 0 and torch.all(untrained.weight == 0) and torch.all(untrained.bias == 0)
    )
    for stat in ("entropy", "kl_final", "top1_prob"):
        logit = th.lens(model, tokenizer, PROMPTS, stat=stat, progress=False)
        tuned = th.lens(model, tokenizer, PROMPTS, stat=stat, translator=untrained, progress=False)
        np.testing.assert_array_equal(tuned.values, logit.values)
        for name in logit.extras:
            np.testing.assert_array_equal(tuned.extras[name], logit.extras[name])
        assert (tuned.cell_text_array() == logit.cell_text_array()).all()
        assert tuned.contexts.to_pandas().equals(logit.contexts.to_pandas())
    assert logit.meta["lens"] == "logit" and tuned.meta["lens"] == "tuned"
    assert logit.title.startswith("Logit lens") and tuned.title.startswith("Tuned lens")
    assert tuned.meta["translator"]["steps"] == 0


def test_untrained_translator_returns_the_states_bit_for_bit(llama_lm) -> None:
    lens = th.TunedLens.identity(llama_lm)
    h = torch.randn(5, 7, lens.d_model) * 100
    for layer in range(lens.n_layers):
        assert torch.equal(lens.translate(layer, h), h)


def test_tuned_lens_matches_a_hand_written_reference(llama_lm, tokenizer) -> None:
    lens = random_lens(llama_lm)
    logits = reference_tuned_logits(llama_lm, tokenizer, lens, PROMPTS[2])
    logp = scipy.special.log_softmax(logits, axis=-1)
    p = np.exp(logp)
    m = th.lens(llama_lm, tokenizer, PROMPTS[2], stat="kl_final", translator=lens, progress=False)
    np.testing.assert_allclose(m.values, (p * (logp - logp[-1])).sum(-1), atol=1e-4)
    np.testing.assert_allclose(m.extras["entropy"], -(p * logp).sum(-1), atol=1e-4)
    assert not np.allclose(
        m.values[0],
        th.lens(llama_lm, tokenizer, PROMPTS[2], stat="kl_final", progress=False).values[0],
    )


def test_lens_kl_matches_a_hand_written_kl_to_the_final_layer(llama_lm, tokenizer) -> None:
    lens = random_lens(llama_lm, seed=3)
    text = TOPICS[5]
    ids = fit_module.token_windows(tokenizer, [text], 24)[:1]
    window_text = tokenizer.decode(ids[0])
    got = lens_kl(llama_lm, tokenizer, [text], translator=lens, seq_len=24, max_windows=1)
    # the reference runs the same ids (decode/encode can merge tokens differently)
    adapter = ModelAdapter(llama_lm, tokenizer)
    with torch.no_grad():
        out = llama_lm(ids, output_hidden_states=True)
        logp_final = torch.log_softmax(out.logits.double(), -1)[0]
        expected = []
        for layer in range(lens.n_layers - 1):
            h = out.hidden_states[layer + 1]
            a, b = lens.weight[layer].double(), lens.bias[layer].double()
            t = (h.double() @ (torch.eye(a.shape[0], dtype=torch.float64) + a).T + b).float()
            logq = torch.log_softmax(
                llama_lm.get_output_embeddings()(adapter.final_norm(t)).double(), -1
            )[0]
            expected.append(float((logp_final.exp() * (logp_final - logq)).sum(-1).mean()))
    assert window_text
    np.testing.assert_allclose(got[:-1], expected, rtol=1e-4, atol=1e-5)
    assert abs(got[-1]) < 1e-5


def test_short_training_lowers_held_out_kl_at_every_layer(deep_llama, tokenizer, trained) -> None:
    logit = lens_kl(deep_llama, tokenizer, HELD_OUT, seq_len=32, max_windows=32)
    tuned = lens_kl(deep_llama, tokenizer, HELD_OUT, translator=trained, seq_len=32, max_windows=32)
    assert np.all(tuned[:-1] < logit[:-1]), (logit, tuned)
    assert abs(tuned[-1]) < 1e-5 and abs(logit[-1]) < 1e-5  # the last block: the output itself
    assert trained.steps == 30 and len(trained.info["loss"]) == 30
    assert torch.all(trained.weight[-1] == 0) and torch.all(trained.bias[-1] == 0)


def test_paper_start_from_identity_also_lowers_held_out_kl_at_every_layer(
    deep_llama, tokenizer
) -> None:
    tuned = th.train_tuned_lens(
        deep_llama, tokenizer, TRAIN_TEXTS, steps=30, init="identity", **FAST
    )
    logit = lens_kl(deep_llama, tokenizer, HELD_OUT, seq_len=32, max_windows=32)
    held = lens_kl(deep_llama, tokenizer, HELD_OUT, translator=tuned, seq_len=32, max_windows=32)
    assert np.all(held[:-1] < logit[:-1]), (logit, held)


def test_least_squares_start_matches_numpy_lstsq(deep_llama, tokenizer) -> None:
    windows = fit_module.token_windows(tokenizer, TRAIN_TEXTS[:5], 32)[:6]
    adapter = ModelAdapter(deep_llama, tokenizer)
    fit = fit_module.least_squares_fit(adapter, windows, batch_size=4, ridge=0.0)
    states = {}
    hooks = [
        block.register_forward_hook(
            lambda m, a, out, i=i: states.__setitem__(i, out[0] if isinstance(out, tuple) else out)
        )
        for i, block in enumerate(deep_llama.model.layers)
    ]
    try:
        with torch.no_grad():
            deep_llama(windows)
    finally:
        for h in hooks:
            h.remove()
    last = states[3].reshape(-1, 32).double().numpy()
    rms = np.sqrt((last**2).mean(-1, keepdims=True))
    target = last / rms * rms.mean()  # unit RMS, then the mean RMS again (a uniform scale)
    for layer, (a, b) in enumerate(fit):
        h = states[layer].reshape(-1, 32).double().numpy()
        x = np.concatenate([h, np.ones((h.shape[0], 1))], axis=1)
        solution = np.linalg.lstsq(x, target, rcond=None)[0]
        np.testing.assert_allclose(a.double().numpy() + np.eye(32), solution[:32].T, atol=2e-3)
        np.testing.assert_allclose(b.double().numpy(), solution[32], atol=2e-3)


def test_training_leaves_the_model_as_found(tokenizer) -> None:
    model = make_causal_lm("gpt2", len(tokenizer)).train()
    model.transformer.h[0].mlp.c_fc.weight.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = {k: p.requires_grad for k, p in model.named_parameters()}
    th.train_tuned_lens(model, tokenizer, TRAIN_TEXTS, steps=2, **FAST)
    assert model.training
    assert {k: p.requires_grad for k, p in model.named_parameters()} == grads
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_save_and_load_round_trip(deep_llama, tokenizer, trained, tmp_path) -> None:
    path = trained.save(tmp_path / "lens.safetensors")
    loaded = th.TunedLens.load(path, model=deep_llama)
    assert torch.equal(loaded.weight, trained.weight) and torch.equal(loaded.bias, trained.bias)
    assert loaded.info == trained.info
    a = th.lens(deep_llama, tokenizer, PROMPTS, translator=trained, progress=False)
    b = th.lens(deep_llama, tokenizer, PROMPTS, translator=loaded, progress=False)
    np.testing.assert_array_equal(a.values, b.values)
    with open(path, "rb") as f:  # a safetensors file: 8-byte header length, then JSON
        size = int.from_bytes(f.read(8), "little")
        assert f.read(1) == b"{" and size < path.stat().st_size


def test_load_refuses_files_that_are_not_a_tuned_lens(tmp_path) -> None:
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(2, 3, 3), "bias": torch.zeros(2, 3)}, str(other))
    with pytest.raises(DamagedFileError, match="not a tokenheat tuned lens"):
        th.TunedLens.load(other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(DamagedFileError, match="cannot be read"):
        th.TunedLens.load(junk)
    with pytest.raises(FileNotFoundError, match="no tuned-lens file"):
        th.TunedLens.load(tmp_path / "missing.safetensors")


def test_a_lens_refuses_another_model(deep_llama, tokenizer, trained, tmp_path) -> None:
    same_shape = make_causal_lm("llama", len(tokenizer), n_layers=4, seed=1)
    with pytest.raises(
        ArgumentError,
        match=r"translator must be a tuned lens trained for this model \('LlamaForCausalLM', fingerprint \w+\), got one trained for another model",
    ):
        th.lens(same_shape, tokenizer, PROMPTS[0], translator=trained, progress=False)
    path = trained.save(tmp_path / "lens.safetensors")
    with pytest.raises(
        ArgumentError,
        match=r"the lens in .* must be a tuned lens trained for this model .*, got one trained for another model",
    ):
        th.TunedLens.load(path, model=same_shape)
    shallow = make_causal_lm("llama", len(tokenizer), n_layers=2)
    with pytest.raises(
        ArgumentError,
        match=r"translator must be a tuned lens for this model .*2 layers of width 32\), got one for .*4 layers of width 32\)",
    ):
        th.lens(shallow, tokenizer, PROMPTS[0], translator=trained, progress=False)
    with pytest.raises(ArgumentTypeError, match=r"translator must be a tokenheat\.TunedLens"):
        th.lens(deep_llama, tokenizer, PROMPTS[0], translator="tuned", progress=False)


def test_interrupted_training_resumes_to_the_same_translators(
    deep_llama, tokenizer, tmp_path, monkeypatch
) -> None:
    options = dict(FAST, steps=5)
    straight = th.train_tuned_lens(deep_llama, tokenizer, TRAIN_TEXTS, **options)
    checkpoint = tmp_path / "run.safetensors"
    real_step, calls = train_module._train_step, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # Ctrl-C in the middle of the fourth step
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train_module, "_train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        th.train_tuned_lens(deep_llama, tokenizer, TRAIN_TEXTS, checkpoint=checkpoint, **options)
    assert checkpoint.is_file()
    assert not any(m._forward_hooks for m in deep_llama.modules())  # left as found
    assert all(p.grad is None for p in deep_llama.parameters()) and not deep_llama.training
    monkeypatch.setattr(train_module, "_train_step", real_step)
    with pytest.raises(
        ArgumentError,
        match=r"checkpoint must be one written with the same settings, got .*other settings \(seed differ\)",
    ):
        th.train_tuned_lens(
            deep_llama, tokenizer, TRAIN_TEXTS, checkpoint=checkpoint, **dict(options, seed=1)
        )
    resumed = th.train_tuned_lens(
        deep_llama, tokenizer, TRAIN_TEXTS, checkpoint=checkpoint, **options
    )
    assert resumed.steps == 5 and resumed.info["loss"] == straight.info["loss"]
    torch.testing.assert_close(resumed.weight, straight.weight, rtol=0, atol=1e-6)
    torch.testing.assert_close(resumed.bias, straight.bias, rtol=0, atol=1e-6)


def test_training_is_cached_per_model(deep_llama, tokenizer, tmp_path, monkeypatch) -> None:
    options = dict(FAST, steps=2, cache=True, cache_dir=tmp_path)
    assert th.TunedLens.cached(deep_llama, cache_dir=tmp_path) is None
    first = th.train_tuned_lens(deep_llama, tokenizer, TRAIN_TEXTS, **options)
    assert not list(tmp_path.glob("*.checkpoint.safetensors"))  # removed once complete

    def no_training(*args, **kwargs):
        raise AssertionError("a cached lens was trained again")

    monkeypatch.setattr(train_module, "_train_step", no_training)
    again = th.train_tuned_lens(deep_llama, tokenizer, TRAIN_TEXTS, **options)
    assert torch.equal(again.weight, first.weight)
    cached = th.TunedLens.cached(deep_llama, cache_dir=tmp_path)
    assert cached is not None and torch.equal(cached.weight, first.weight)
    other = make_causal_lm("llama", len(tokenizer), n_layers=4, seed=2)
    assert th.TunedLens.cached(other, cache_dir=tmp_path) is None


def test_bad_arguments_name_the_argument(llama_lm, tokenizer) -> None:
    with pytest.raises(ValueError, match="steps must be an int >= 0, got -1"):
        th.train_tuned_lens(llama_lm, tokenizer, TRAIN_TEXTS, steps=-1)
    with pytest.raises(ArgumentError, match="optimizer must be one of 'sgd', 'adam', got 'lbfgs'"):
        th.train_tuned_lens(llama_lm, tokenizer, TRAIN_TEXTS, optimizer="lbfgs")
    with pytest.raises(
        ArgumentTypeError, match="texts must be a string or a list of strings, got None"
    ):
        th.train_tuned_lens(llama_lm, tokenizer, None, steps=1, cache=False)
    with pytest.raises(ArgumentTypeError, match=r"texts\[1\] must be a string, got 3"):
        th.train_tuned_lens(llama_lm, tokenizer, ["a b c", 3], steps=1, cache=False)
    with pytest.raises(
        ArgumentError,
        match="texts must be at least one window of seq_len=32 tokens, got 8 tokens; pass more text",
    ):
        th.train_tuned_lens(llama_lm, tokenizer, "too short", steps=1, **FAST)
    with pytest.raises(
        ArgumentError, match="seq_len must be at most the model's context of 64 tokens, got 65"
    ):
        th.train_tuned_lens(llama_lm, tokenizer, TRAIN_TEXTS, steps=1, seq_len=65)


def test_lens_refuses_an_empty_prompt_naming_it(llama_lm, tokenizer) -> None:
    with pytest.raises(
        ArgumentError, match=r"prompts must be a text of at least one token, .*, got ''"
    ):
        th.lens(llama_lm, tokenizer, "", progress=False)
    with pytest.raises(
        ArgumentError, match=r"prompts\[1\] must be a text of at least one token, .*, got ''"
    ):
        th.lens(llama_lm, tokenizer, ["Hello", ""], progress=False)


def test_lens_title_option(llama_lm, tokenizer) -> None:
    m = th.lens(llama_lm, tokenizer, PROMPTS[0], title="mine", progress=False)
    assert m.title == "mine"


def test_same_translators_through_the_tuned_lens_package(llama_lm, tokenizer) -> None:
    """tuned-lens (Belrose et al.'s package) applied to the same weights gives the same logits.

    Its translator ``i`` reads ``hidden_states[i]`` (``i = 0`` is the embedding output) as
    ``h + W h + b``; tokenheat's translator ``l`` reads block ``l``'s output, i.e. their
    ``i = l + 1``, and their last hidden state (block ``n - 1``) has none, as ours is the
    identity.
    """
    lenses = pytest.importorskip("tuned_lens.nn.lenses")
    ours = random_lens(llama_lm, seed=7)
    theirs = lenses.TunedLens.from_model(llama_lm)
    with torch.no_grad():
        for layer in range(ours.n_layers - 1):
            theirs.layer_translators[layer + 1].weight.copy_(ours.weight[layer])
            theirs.layer_translators[layer + 1].bias.copy_(ours.bias[layer])
    adapter = ModelAdapter(llama_lm, tokenizer)
    ids = torch.tensor([tokenizer(PROMPTS[2]).input_ids])
    with torch.no_grad():
        hs = llama_lm(ids, output_hidden_states=True).hidden_states
        for layer in range(ours.n_layers - 1):
            h = hs[layer + 1]
            expected = theirs(h, idx=layer + 1)
            got = adapter.logits(ours.translate(layer, h))
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        # and the untranslated last layer: their identity path is the model's output
        torch.testing.assert_close(
            adapter.logits(ours.translate(ours.n_layers - 1, hs[-1]), normed=True),
            llama_lm(ids).logits,
            rtol=1e-5,
            atol=1e-5,
        )


def test_window_order_is_a_seeded_permutation_per_pass() -> None:
    rows = [train_module.window_rows(s, 3, 10, seed=0) for s in range(4)]
    flat = [r for step in rows for r in step]
    assert sorted(flat[:10]) == list(range(10))  # one pass over the data, then a new order
    assert rows == [train_module.window_rows(s, 3, 10, seed=0) for s in range(4)]


def test_demo_draws_the_tuned_lens_beside_the_logit_lens(llama_lm, tokenizer, monkeypatch) -> None:
    from tokenheat.__main__ import _parser
    from tokenheat.demo import _run
    from tokenheat.demo._run import beside_logit_lens, tuned_lens_figure

    monkeypatch.setattr(_run, "LENS_PROMPT", "Was it gloomy?")  # the tiny model reads 64 tokens

    assert _parser().parse_args(["demo", "--tuned-lens"]).tuned_lens is True
    assert _parser().parse_args(["demo"]).tuned_lens is False
    identity = th.TunedLens.identity(llama_lm)
    tuned = tuned_lens_figure(llama_lm, tokenizer, identity, progress=False)
    others = [
        th.TokenMatrix(np.zeros((1, 1)), rows=["r"], cols=["c"], meta={"analysis": name})
        for name in ("flip_rate", "lens", "attribution")
    ]
    placed = beside_logit_lens(others, tuned)
    assert [m.meta.get("analysis") for m in placed] == ["lens", "lens", "flip_rate", "attribution"]
    assert placed[0] is others[1] and placed[1] is tuned
    assert tuned.meta["lens"] == "tuned" and tuned.title.startswith("Tuned lens")
