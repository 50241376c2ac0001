"""Tiny random models and a tiny tokenizer, built offline from configs (no hub downloads).

Builders (plain functions, import them with ``from conftest import ...`` or use the
fixtures):

- :func:`make_tokenizer` — a byte-level BPE ``PreTrainedTokenizerFast`` (GPT-2-like tokens:
  ``"Ġword"``, offsets) trained on :data:`SENTENCES`; options for a pad token, a BOS
  token added to every text, a mask token and a ChatML-style chat template.
  ``"_PAUSE_"`` tokenizes into several tokens (``"Ġ_" "PAUSE" "_"``).
- :func:`make_causal_lm` — a random causal LM of family ``"gpt2"``, ``"llama"``,
  ``"gpt_neox"`` or ``"qwen2"`` (2 blocks, hidden 32, context :data:`MAX_POSITIONS`).
- :func:`make_bert_classifier` — a random ``BertForSequenceClassification``.
- :func:`widened` — redraws a model's weights large enough that its classes disagree.

Fixtures (session-scoped; treat them as read-only, build a private copy to mutate):
``tokenizer`` (pad token ``<pad>``, chat template), ``tokenizer_no_pad`` (no pad token),
``tokenizer_bos`` (adds ``<|endoftext|>`` as BOS, Llama-style), ``causal_lm`` (parametrized
over :data:`FAMILIES`), ``gpt2_lm``, ``llama_lm``, ``neox_lm``, ``qwen2_lm``,
``bert_classifier`` (2 labels, ``id2label`` ``neg``/``pos``).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

FAMILIES = ("gpt2", "llama", "gpt_neox", "qwen2")
MAX_POSITIONS = 64
SPECIAL_TOKENS = ("<|endoftext|>", "<pad>", "<mask>", "<|im_start|>", "<|im_end|>")
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SENTENCES = (
    "The cat sat on the mat.",
    "A quick brown fox jumps over the lazy dog.",
    "Hello world, _PAUSE_ and then more text follows the pause.",
    "I love this movie, it is great and wonderful.",
    "I hate waiting, this is terrible and sad.",
    "Numbers 1 2 3 and symbols ... !? are here too.",
    "The capital of France is Paris, the capital of Italy is Rome.",
)


@functools.lru_cache(maxsize=1)
def _trained_json() -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(SENTENCES * 3, trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok.to_str()


def make_tokenizer(
    *, pad: bool = True, bos: bool = False, mask: bool = True, chat_template: bool = True
) -> Any:
    """A fresh tiny byte-level BPE tokenizer (about 400 tokens); safe to mutate."""
    from tokenizers import Tokenizer, processors

    tok = Tokenizer.from_str(_trained_json())
    if bos:
        bos_id = tok.token_to_id("<|endoftext|>")
        tok.post_processor = processors.Sequence(
            [
                processors.ByteLevel(trim_offsets=False),
                processors.TemplateProcessing(
                    single="<|endoftext|> $A",
                    pair="<|endoftext|> $A <|endoftext|> $B",
                    special_tokens=[("<|endoftext|>", bos_id)],
                ),
            ]
        )
    kwargs: dict[str, Any] = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}
    if pad:
        kwargs["pad_token"] = "<pad>"
    if mask:
        kwargs["mask_token"] = "<mask>"
    out = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)
    out.model_max_length = MAX_POSITIONS
    if chat_template:
        out.chat_template = CHAT_TEMPLATE
    return out


def make_causal_lm(
    family: str,
    vocab_size: int,
    *,
    n_layers: int = 2,
    hidden: int = 32,
    max_positions: int = MAX_POSITIONS,
    seed: int = 0,
    eos_id: int = 0,
) -> Any:
    """A random causal LM of ``family`` in eval mode (float32, CPU)."""
    common = {"vocab_size": vocab_size, "bos_token_id": eos_id, "eos_token_id": eos_id}
    heads = {"num_attention_heads": 4, "num_hidden_layers": n_layers, "hidden_size": hidden}
    if family == "gpt2":
        config: Any = transformers.GPT2Config(
            n_embd=hidden, n_layer=n_layers, n_head=4, n_positions=max_positions, **common
        )
    elif family == "llama":
        config = transformers.LlamaConfig(
            intermediate_size=2 * hidden, num_key_value_heads=2,
            max_position_embeddings=max_positions, **heads, **common,
        )  # fmt: skip
    elif family == "qwen2":
        config = transformers.Qwen2Config(
            intermediate_size=2 * hidden, num_key_value_heads=2,
            max_position_embeddings=max_positions, **heads, **common,
        )  # fmt: skip
    elif family == "gpt_neox":
        config = transformers.GPTNeoXConfig(
            intermediate_size=2 * hidden, max_position_embeddings=max_positions, **heads, **common
        )
    else:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config)
    with torch.no_grad():  # random init is tiny; widen it so layers disagree visibly
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.2)
    return model.eval()


def make_bert_classifier(vocab_size: int, *, num_labels: int = 2, seed: int = 0) -> Any:
    """A random ``BertForSequenceClassification`` in eval mode, labels ``neg``/``pos``/...."""
    names = ["neg", "pos", *(f"label{i}" for i in range(2, num_labels))][:num_labels]
    config = transformers.BertConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=MAX_POSITIONS, num_labels=num_labels,
        id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)},
    )  # fmt: skip
    torch.manual_seed(seed)
    return transformers.BertForSequenceClassification(config).eval()


def widened(model: Any, std: float = 0.2) -> Any:
    """``model`` with random weights large enough that the classes disagree clearly."""
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, std)
    return model


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    return make_tokenizer()


@pytest.fixture(scope="session")
def tokenizer_no_pad() -> Any:
    return make_tokenizer(pad=False)


@pytest.fixture(scope="session")
def tokenizer_bos() -> Any:
    return make_tokenizer(bos=True)


@pytest.fixture(scope="session", params=FAMILIES)
def causal_lm(request: pytest.FixtureRequest, tokenizer: Any) -> Any:
    return make_causal_lm(request.param, len(tokenizer))


# One two-line fixture per model, down to bert_classifier, on purpose: tests ask for it by name.
@pytest.fixture(scope="session")
def gpt2_lm(tokenizer: Any) -> Any:
    return make_causal_lm("gpt2", len(tokenizer))


@pytest.fixture(scope="session")
def llama_lm(tokenizer: Any) -> Any:
    return make_causal_lm("llama", len(tokenizer))


@pytest.fixture(scope="session")
def neox_lm(tokenizer: Any) -> Any:
    return make_causal_lm("gpt_neox", len(tokenizer))


@pytest.fixture(scope="session")
def qwen2_lm(tokenizer: Any) -> Any:
    return make_causal_lm("qwen2", len(tokenizer))


@pytest.fixture(scope="session")
def bert_classifier(tokenizer: Any) -> Any:
    return make_bert_classifier(len(tokenizer))


# The attribution tests' models (test_attribution.py, test_attribution_args.py).
@pytest.fixture(scope="module")
def smooth_gpt2(tokenizer: Any) -> Any:
    """A GPT-2 with transformers' default (small) init: a smooth function of its inputs."""
    config = transformers.GPT2Config(
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_positions=64,
        vocab_size=len(tokenizer),
        bos_token_id=0,
        eos_token_id=0,
    )
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(config).eval()


@pytest.fixture(scope="module")
def smooth_llama(tokenizer: Any) -> Any:
    """A Llama with the default init; IG with a zero baseline needs more steps than GPT-2."""
    config = transformers.LlamaConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
        intermediate_size=64, vocab_size=len(tokenizer), max_position_embeddings=64,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def bert(tokenizer: Any) -> Any:
    """A small BERT sequence classifier with three classes."""
    return make_bert_classifier(len(tokenizer), num_labels=3)
