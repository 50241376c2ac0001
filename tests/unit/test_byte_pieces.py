"""A character split over several byte-level BPE tokens: each piece shows the bytes it holds.

The answers live in js/tests/byte_pieces.json, which js/tests/bytePieces.test.ts checks for
the front end (js/tokens.ts): one table for both twins. Its pieces are SmolLM2's, and the slow
test re-derives them from the real tokenizer.
"""

from __future__ import annotations

import itertools
import json
import pathlib
import re

import pytest

from tokenheat.core._tokens import (
    _BYTE_OF,
    display_token,
    is_byte_level,
    link_key,
    piece_parts,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
TABLE = json.loads((ROOT / "js" / "tests" / "byte_pieces.json").read_text(encoding="utf-8"))
#: GPT-2's byte map (bytes_to_unicode), built here from the published rule.
_PRINTABLE = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
_CHAR_OF = {b: chr(b) for b in _PRINTABLE}
_CHAR_OF.update({b: chr(256 + n) for n, b in enumerate(b for b in range(256) if b not in _CHAR_OF)})


def gpt2_pieces(text: str, cuts: list[int]) -> list[str]:
    """The UTF-8 bytes of ``text`` cut at ``cuts``, each piece in GPT-2's byte alphabet."""
    data = text.encode("utf-8")
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    return ["".join(_CHAR_OF[b] for b in data[a:b]) for a, b in itertools.pairwise(bounds)]


def read_back(shown: str) -> bytes:
    """The bytes a shown piece stands for: ``<0xHH>`` marks are bytes, ``␣`` a space."""
    out = bytearray()
    for mark, text in re.findall(r"<0x([0-9A-F]{2})>|([^<]+|<)", shown):
        out += bytes([int(mark, 16)]) if mark else text.replace("␣", " ").encode("utf-8")
    return bytes(out)


def test_the_byte_map_is_gpt2s():
    assert {v: k for k, v in _CHAR_OF.items()} == _BYTE_OF
    assert gpt2_pieces(" 示", [2]) == ["Ġç", "¤º"]


@pytest.mark.parametrize(("token", "byte_level", "shown"), TABLE["cases"])
def test_cases_shared_with_the_front_end(token, byte_level, shown):
    assert display_token(token, byte_level=byte_level) == shown


@pytest.mark.parametrize("entry", TABLE["texts"], ids=lambda e: e["text"])
def test_smollm2_pieces_of_split_characters(entry):
    pieces = entry["pieces"]
    assert is_byte_level(pieces)
    assert [display_token(p, byte_level=True) for p in pieces] == entry["shown"]
    assert [display_token(p) for p in pieces] == entry["shown_alone"]
    # Lossless: the shown pieces give back the text's bytes, piece for piece.
    assert b"".join(read_back(s) for s in entry["shown"]) == entry["text"].encode("utf-8")


def test_no_piece_shows_a_replacement_character_or_raw_mojibake():
    for entry in TABLE["texts"]:
        for piece, shown in zip(entry["pieces"], entry["shown"], strict=True):
            assert "\ufffd" not in shown
            if piece_parts(piece, byte_level=True) is not None:
                assert "<0x" in shown, piece


def test_plain_words_are_not_read_as_bytes():
    words = ["à", "café", "£", "łąka", "naïve", "8 x 48 = 384", "Straße", "日本"]
    assert not is_byte_level(words)
    assert [display_token(w) for w in words] == words
    assert not is_byte_level(["the", "cat"])  # nothing remapped: nothing to decode


def test_any_cut_of_any_text_reads_back_exactly():
    """Property: cut a text's bytes anywhere; every piece shows readable text or its bytes."""
    import random

    rng = random.Random(12)
    alphabet = "ab Z9éß€示本の🙂Ω√ç¥ "
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        n = len(text.encode("utf-8"))
        cuts = rng.sample(range(1, n), rng.randint(0, n - 1)) if n > 1 else []
        pieces = gpt2_pieces(text, cuts)
        # Known to be byte-level (a few pieces alone may hold no remapped byte to tell).
        shown = [display_token(p, byte_level=True) for p in pieces]
        assert b"".join(map(read_back, shown)) == text.encode("utf-8"), (text, pieces, shown)


@pytest.mark.slow
def test_the_table_holds_smollm2s_real_pieces():
    transformers = pytest.importorskip("transformers")
    from tokenheat.models import default_model_dir

    tokenizer = transformers.AutoTokenizer.from_pretrained(
        default_model_dir(progress=False), local_files_only=True
    )
    for entry in TABLE["texts"]:
        ids = tokenizer(entry["text"], add_special_tokens=False)["input_ids"]
        assert tokenizer.convert_ids_to_tokens(ids) == entry["pieces"]


def test_altair_labels_and_cell_text_show_the_pieces_bytes():
    pytest.importorskip("altair")
    import numpy as np

    import tokenheat as th
    from tokenheat.export._altair import _records

    pieces = TABLE["texts"][3]["pieces"][:3]  # "日本": "æĹ" "¥" "æľ¬"
    m = th.TokenMatrix(
        np.arange(9.0).reshape(3, 3),
        rows=pieces,
        cols=["Ġa", "¥", "b"],
        row_kind="position",
        cell_text=[[p] * 3 for p in pieces],
    )
    records, _ = _records(m, 0.0, 8.0)
    assert [r["row"] for r in records[::3]] == ["<0xE6><0x97>", "<0xA5>", "本"]
    assert [r["text"] for r in records[::3]] == ["<0xE6><0x97>", "<0xA5>", "本"]
    assert [r["col"] for r in records[:3]] == ["␣a", "<0xA5>", "b"]  # "¥" here is a byte
    plain = th.TokenMatrix(np.zeros((1, 2)), rows=["r"], cols=["¥", "à"])
    assert [r["col"] for r in _records(plain, 0.0, 1.0)[0]] == ["¥", "à"]


def test_a_score_vector_over_split_pieces_keeps_the_text_whole():
    import tokenheat as th

    pieces = ["I", "Ġç", "¤", "º", "Ġtoday"]
    m = th.TokenMatrix.from_scores(pieces, [0.1, 0.2, 0.3, 0.4, 0.5])
    assert m.corpus is not None and m.corpus.texts == ["I 示 today"]
    assert th.TokenMatrix.from_scores(["▁a", "▁b"], [1, 2]).corpus.texts == [" a b"]


def test_python_and_typescript_agree_on_random_pieces(tmp_path):
    """Twins, checked on thousands of random strings: js/tokens.ts bundled and run by node."""
    import random
    import shutil
    import subprocess

    node, esbuild = shutil.which("node"), ROOT / "node_modules" / ".bin" / "esbuild"
    if node is None or not esbuild.exists():
        pytest.skip("node or node_modules/.bin/esbuild is missing (npm ci)")
    script = tmp_path / "tokens.mjs"
    subprocess.run(
        [str(esbuild), str(ROOT / "js" / "tokens.ts"), "--bundle", "--format=esm",
         f"--outfile={script}", "--log-level=error"],
        check=True,
    )  # fmt: skip
    rng = random.Random(7)
    alphabet = [*_BYTE_OF, "é", "示", "🙂", " ", "▁", "\u200b", "x", "Ġ"]
    tokens = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(3000)]
    for _ in range(300):
        text = "".join(rng.choice("aé示🙂Ω ") for _ in range(rng.randint(1, 6)))
        n = len(text.encode("utf-8"))
        tokens += gpt2_pieces(text, rng.sample(range(1, n), rng.randint(0, n - 1)) if n > 1 else [])
    groups = [tokens[i : i + 7] for i in range(0, len(tokens), 7)]
    runner = tmp_path / "run.mjs"
    runner.write_text(
        f"import {{ readFileSync }} from 'node:fs';\n"
        f"import {{ displayToken, isByteLevel, linkKey }} from {json.dumps(script.as_uri())};\n"
        "const { tokens, groups } = JSON.parse(readFileSync(0, 'utf8'));\n"
        "process.stdout.write(JSON.stringify({\n"
        "  plain: tokens.map((t) => displayToken(t)),\n"
        "  bytes: tokens.map((t) => displayToken(t, true)),\n"
        "  groups: groups.map((g) => isByteLevel(g)),\n"
        "  links: tokens.map((t) => linkKey(t)),\n"
        "}));\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [node, str(runner)],
        input=json.dumps({"tokens": tokens, "groups": groups}),
        capture_output=True, text=True, encoding="utf-8", check=True,
    )  # fmt: skip
    js = json.loads(out.stdout)
    assert js["plain"] == [display_token(t) for t in tokens]
    assert js["bytes"] == [display_token(t, byte_level=True) for t in tokens]
    assert js["groups"] == [is_byte_level(g) for g in groups]
    assert js["links"] == [link_key(t) for t in tokens]
    assert any("<0x" in s for s in js["bytes"]) and any(js["groups"])  # the cases were reached
