"""A four-heatmap dashboard like ``tokenheat demo``'s, from deterministic synthetic numbers.

It is built with the public data model (``th.Corpus``, ``th.Contexts``, ``th.TokenMatrix``), so
the README screenshot and the layout tests exercise the same path a user's export takes. The
numbers are made up but shaped like the real analyses: sentiment words flip a classifier, the
logit lens settles on the right next token in late layers, attribution is signed, and hidden
states grow less similar with distance. Token strings are GPT-2 style ("Ġthe").
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

BUCKETS = [f"{10 * i}–{10 * (i + 1)}%" for i in range(10)]

REVIEWS = [
    "The movie was not good at all, and the ending felt rushed.",
    "I loved the acting but the plot was thin and slow.",
    "What a wonderful film: funny, warm and never boring.",
    "The service was slow and the food arrived cold.",
    "Honestly the best concert I have seen this year.",
    "It was fine, nothing special, but I would not go again.",
    "The hotel was clean and the staff were great.",
    "Not bad, but the sequel was much better.",
    "The story was boring and the jokes were not funny.",
    "A great cast, a good script and a happy ending.",
    "The food was good but the music was far too loud.",
    "I would never watch it again: slow, long and boring.",
    "The pasta was not fresh and the wine was not cheap.",
    "The room was not clean, but the view was wonderful.",
    "I did not expect much, but the show was great.",
    "The plot was not clever and the actors were not funny.",
]
LENS_PROMPT = "The capital of France is Paris, and the capital of Italy is"
FLIP_WORDS = [
    "Ġnot", "Ġgood", "Ġbut", "Ġboring", "Ġgreat", "Ġslow", "Ġnever",
    "Ġwonderful", "Ġbest", "Ġloved", "Ġfunny", "Ġthe", "Ġand", "Ġwas",
]  # fmt: skip
# How likely deleting the word flips the predicted sentiment (sentiment words the most).
FLIP_BASE = {"Ġnot": 0.8, "Ġnever": 0.7, "Ġbut": 0.45, "Ġthe": 0.05, "Ġand": 0.08, "Ġwas": 0.1}


def gpt2_tokens(text: str) -> list[str]:
    """Split like a byte-level BPE would, roughly: words and punctuation, 'Ġ' for a space."""
    out = []
    for m in re.finditer(r" ?[A-Za-z]+| ?[^A-Za-z ]", text):
        piece = m.group(0)
        out.append("Ġ" + piece[1:] if piece.startswith(" ") else piece)
    return out


def corpus_examples() -> list[list[str]]:
    return [gpt2_tokens(t) for t in [LENS_PROMPT, *REVIEWS]]


def flip_rate_matrix(th: Any, corpus: Any, examples: list[list[str]], rng: Any) -> Any:
    rows, cols, ex, pos, flipped, p_orig, p_new, new_label = ([] for _ in range(8))
    for e, tokens in enumerate(examples[1:], start=1):
        negative = any(t in ("Ġnot", "Ġboring", "Ġslow", "Ġnever", "Ġcold") for t in tokens)
        for p, tok in enumerate(tokens):
            if tok not in FLIP_WORDS:
                continue
            rate = FLIP_BASE.get(tok, 0.35 + 0.4 * (p / len(tokens)))
            f = bool(rng.random() < rate)
            rows.append(FLIP_WORDS.index(tok))
            cols.append(min(9, 10 * p // len(tokens)))
            ex.append(e)
            pos.append(p)
            flipped.append(float(f))
            p_orig.append(round(float(rng.uniform(0.72, 0.99)), 2))
            p_new.append(round(float(rng.uniform(0.12, 0.48) if f else rng.uniform(0.55, 0.9)), 2))
            orig = "negative" if negative else "positive"
            new_label.append(({"negative": "positive", "positive": "negative"}[orig], orig)[not f])
    values = np.full((len(FLIP_WORDS), 10), np.nan)
    counts = np.zeros((len(FLIP_WORDS), 10))
    for r, c, f in zip(rows, cols, flipped, strict=True):
        counts[r, c] += 1
        values[r, c] = (0.0 if np.isnan(values[r, c]) else values[r, c]) + f
    values = values / np.where(counts > 0, counts, np.nan)
    orig_label = [
        "negative" if any(t in ("Ġnot", "Ġboring", "Ġslow", "Ġnever", "Ġcold") for t in examples[e])
        else "positive"
        for e in ex
    ]  # fmt: skip
    contexts = th.Contexts(
        rows, cols, ex, pos, [p + 1 for p in pos],
        numeric={"p_orig": p_orig, "p_new": p_new, "flipped": flipped},
        labels={"orig_label": orig_label, "new_label": new_label},
    )  # fmt: skip
    return th.TokenMatrix(
        values, FLIP_WORDS, BUCKETS,
        row_kind="token", col_kind="bucket", row_title="word", col_title="relative position",
        title="Flip rate when a word is deleted", value_label="flip rate", counts=counts,
        scale=th.ColorScale("magma", domain=(0.0, 1.0)), corpus=corpus, contexts=contexts,
    )  # fmt: skip


def lens_matrix(th: Any, corpus: Any, tokens: list[str], rng: Any) -> Any:
    n_layers = 12
    layers = [f"L{i}" for i in range(n_layers)] + ["output"]
    answer = [*tokens[1:], "ĠRome"]  # what a good model predicts next at each position
    junk = ["Ġthe", ",", "Ġof", "Ġand", "Ġa", "Ġ(", "Ġ-"]
    depth = np.linspace(0.0, 1.0, n_layers + 1)[:, None]
    hard = np.array([0.9 if t in ("ĠFrance", "ĠItaly", "The") else 0.35 for t in tokens])[None, :]
    entropy = 7.2 * (1 - depth) ** 1.4 + 2.8 * hard * depth + rng.uniform(0, 0.6, (n_layers + 1, 1))
    entropy = entropy + rng.uniform(-0.3, 0.3, entropy.shape)
    settle = (4 + 6 * hard[0] + rng.integers(0, 3, len(tokens))).astype(int)
    text = np.empty(entropy.shape, dtype=object)
    for r in range(n_layers + 1):
        for c, tok in enumerate(tokens):
            text[r, c] = (
                answer[c] if r >= settle[c] else tok if r < 2 else junk[(r * 3 + c) % len(junk)]
            )
    grid_r, grid_c = np.meshgrid(np.arange(n_layers + 1), np.arange(len(tokens)), indexing="ij")
    rr, cc = grid_r.ravel(), grid_c.ravel()
    top1 = np.clip(np.exp(-entropy.ravel() / 2.2), 0.02, 0.97)
    contexts = th.Contexts(
        rr, cc, np.zeros(rr.size, dtype=int), cc, cc + 1,
        start2=np.where(cc + 1 < len(tokens), cc + 1, -1),
        end2=np.where(cc + 1 < len(tokens), cc + 2, -1),
        numeric={"p1": top1, "p2": top1 * 0.35, "p3": top1 * 0.12},
        labels={
            "top1": list(text.ravel()),
            "top2": [junk[(i * 5) % len(junk)] for i in range(rr.size)],
            "top3": [junk[(i * 3 + 1) % len(junk)] for i in range(rr.size)],
            "next": [answer[c] for c in cc],
        },
    )  # fmt: skip
    return th.TokenMatrix(
        entropy, layers, tokens,
        row_kind="layer", col_kind="position", row_title="layer", col_title="input position",
        title="Logit lens: next-token entropy", value_label="entropy (nats)", cell_text=text,
        scale=th.ColorScale("viridis", domain=(0.0, 8.0), reverse=True),
        col_tokens=tokens, corpus=corpus, contexts=contexts,
    )  # fmt: skip


def attribution_matrix(th: Any, corpus: Any, tokens: list[str], example: int, rng: Any) -> Any:
    targets = ["negative", "positive", "neutral"]
    weight = {"Ġnot": 1.6, "Ġgood": -1.1, "Ġrushed": 1.2, "Ġat": 0.3, "Ġall": 0.5, "Ġending": 0.2}
    base = np.array([weight.get(t, 0.0) for t in tokens]) + rng.normal(0, 0.12, len(tokens))
    attr = [base, -0.8 * base + rng.normal(0, 0.1, len(tokens)), rng.normal(0, 0.15, len(tokens))]
    values = np.stack(attr, axis=1)
    n, k = values.shape
    grid_r, grid_c = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    rr, cc = grid_r.ravel(), grid_c.ravel()
    shared = [attr[c].astype(np.float32) for c in range(k)]  # one score vector per target
    contexts = th.Contexts(
        rr, cc, np.full(rr.size, example), rr, rr + 1,
        scores=[shared[c] for c in cc],
        numeric={"score": np.array([2.31, -1.87, 0.12])[cc]},
        labels={"target": [targets[c] for c in cc]},
    )  # fmt: skip
    return th.TokenMatrix(
        values, tokens, targets,
        row_kind="position", col_kind="target", row_title="input token", col_title="target",
        title="Attribution (integrated gradients)", value_label="attribution",
        cell_text=np.array([[t] * k for t in tokens], dtype=object),
        scale=th.ColorScale.diverging("RdBu", center=0.0), row_tokens=tokens,
        corpus=corpus, contexts=contexts,
    )  # fmt: skip


def similarity_matrix(th: Any, corpus: Any, examples: list[list[str]], rng: Any) -> Any:
    n_layers, n_dist = 12, 16
    layers = ["emb"] + [f"L{i}" for i in range(n_layers)]
    d = np.arange(1, n_dist + 1)[None, :]
    depth = np.linspace(0, 1, n_layers + 1)[:, None]
    values = 0.15 + 0.6 * depth * np.exp(-d / (4 + 10 * depth)) + 0.25 * depth
    values = values + rng.normal(0, 0.03, values.shape)
    values[0] = rng.normal(0.05, 0.12, n_dist)  # embeddings: unrelated tokens
    anchors = [(e, p) for e, toks in enumerate(examples) for p, t in enumerate(toks) if t == ","]
    rows, cols, ex, pos, past, cos = ([] for _ in range(6))
    for r in range(n_layers + 1):
        for c in range(n_dist):
            for e, p in anchors:
                if p - c - 1 < 0:
                    continue
                rows.append(r)
                cols.append(c)
                ex.append(e)
                pos.append(p)
                past.append(p - c - 1)
                cos.append(float(values[r, c] + rng.normal(0, 0.05)))
    contexts = th.Contexts(
        rows, cols, ex, pos, [p + 1 for p in pos],
        start2=past, end2=[p + 1 for p in past],
        numeric={"cosine": cos, "norm_anchor": 40 + 5 * np.asarray(rows, dtype=float)},
    )  # fmt: skip
    return th.TokenMatrix(
        values, layers, [str(i) for i in range(1, n_dist + 1)],
        row_kind="layer", col_kind="distance", row_title="layer",
        col_title="distance T before the anchor “,”",
        title="Anchor similarity: cos(h[m], h[m−T])", value_label="cosine similarity",
        scale=th.ColorScale.diverging("RdBu", center=0.0, domain=(-1.0, 1.0)),
        corpus=corpus, contexts=contexts,
    )  # fmt: skip


def demo_dashboard(th: Any, seed: int = 0) -> list[Any]:
    """The four matrices over one corpus: flip rate, logit lens, attribution, anchor similarity."""
    rng = np.random.default_rng(seed)
    examples = corpus_examples()
    names = ["prompt"] + [f"review {i}" for i in range(1, len(examples))]
    corpus = th.Corpus.from_tokens(examples, names=names)
    return [
        flip_rate_matrix(th, corpus, examples, rng),
        lens_matrix(th, corpus, examples[0], rng),
        attribution_matrix(th, corpus, examples[1], 1, rng),
        similarity_matrix(th, corpus, examples, rng),
    ]
