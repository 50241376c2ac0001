"""Write src/tokenheat/demo/data/emotion_frames.csv: the flip-rate demo corpus.

Sentences are built from frames written for this project: short neutral clauses (a subject
and a verb phrase) joined with clauses that carry one emotion word each, so every word of
:data:`WORDS` lands at every relative position of a sentence. The rows are then ordered
greedily so that any prefix is as useful as it can be for the figure:

1. a first wave brings 6 of the 10 position buckets of every word (rotating which ones) to
   3 occurrences: ``tokenheat demo --quick`` reads this prefix;
2. a second wave brings every (word, bucket) cell to 5 occurrences: the full demo.

Deterministic (a fixed seed); run ``python scripts/make_emotion_frames.py`` to regenerate.
"""

from __future__ import annotations

import csv
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src"))

from tokenheat.analyses._perturb import bucket_of, word_units
from tokenheat.demo.datasets import EMOTION_WORDS, QUICK_EMOTION_WORDS

#: word -> (emotion, part of speech): adverb, person adjective, situation adjective, noun.
WORDS = {
    "sadly": ("sadness", "adv"), "gloomy": ("sadness", "sit"), "depressing": ("sadness", "sit"),
    "despair": ("sadness", "noun"), "grief": ("sadness", "noun"),
    "heartbroken": ("sadness", "adj"), "miserable": ("sadness", "adj"),
    "lonely": ("sadness", "adj"),
    "happily": ("joy", "adv"), "joyfully": ("joy", "adv"), "wonderful": ("joy", "sit"),
    "joy": ("joy", "noun"), "laughter": ("joy", "noun"), "delighted": ("joy", "adj"),
    "cheerful": ("joy", "adj"), "thrilled": ("joy", "adj"),
    "angrily": ("anger", "adv"), "furious": ("anger", "adj"), "outraged": ("anger", "adj"),
    "bitter": ("anger", "adj"), "rage": ("anger", "noun"), "fury": ("anger", "noun"),
    "infuriating": ("anger", "sit"), "outrageous": ("anger", "sit"),
    "hopefully": ("optimism", "adv"), "optimism": ("optimism", "noun"),
    "hope": ("optimism", "noun"), "hopeful": ("optimism", "adj"),
    "optimistic": ("optimism", "adj"), "confident": ("optimism", "adj"),
    "promising": ("optimism", "sit"), "encouraging": ("optimism", "sit"),
}  # fmt: skip

NEUTRAL = [
    ("my brother", "called from the airport"),
    ("the driver", "left the station"),
    ("we", "walked home along the river"),
    ("the baker on the corner", "closed his shop"),
    ("she", "read the letter twice"),
    ("the team", "finished the project"),
    ("our neighbours", "painted the fence"),
    ("he", "packed the last boxes"),
    ("the children", "played in the garden"),
    ("my aunt", "sold the house by the lake"),
    ("my cousin", "arrived an hour late"),
    ("they", "moved to the city"),
    ("the doctor", "read the results"),
    ("I", "opened the envelope"),
    ("the teacher", "handed back the exams"),
    ("the farmer", "watched the rain"),
    ("my friend", "wrote from Spain"),
    ("the manager", "announced the new plan"),
    ("we", "cleaned the kitchen"),
    ("the band", "played one last song"),
    ("grandpa", "slept by the fire"),
    ("my parents", "sold the car"),
    ("the postman", "came on Monday"),
    ("my sister", "phoned late at night"),
]

#: Clauses carrying a word ({w}) with a neutral subject ({s}) and verb phrase ({v}).
FRAMES = {
    "adv": ["{w}, {s} {v}", "{s} {w} {v}", "{s} {v} {w}"],
    "adj": ["{w} and tired, {s} {v}", "{s} felt {w} and {v}", "{s} {v} and felt {w}"],
    "sit": ["it was {w} when {s} {v}", "{w} news came as {s} {v}", "{s} {v}, which was {w}",
            "{s} {v} on a {w} morning"],
    "noun": ["{w} filled the room as {s} {v}", "with {w}, {s} {v}", "{s}, full of {w}, {v}",
             "{s} {v} with {w}"],
}  # fmt: skip
#: The words of the quick demo (the first wave).
QUICK_WORDS = list(QUICK_EMOTION_WORDS)
assert set(WORDS) == set(EMOTION_WORDS)
JOINS = [", and ", "; then ", ", while ", ". Later, "]
N_BUCKETS = 10


def clause(rng: random.Random, word: str | None) -> str:
    s, v = rng.choice(NEUTRAL)
    if word is None:
        return f"{s} {v}"
    return rng.choice(FRAMES[WORDS[word][1]]).format(w=word, s=s, v=v)


def candidate(rng: random.Random) -> tuple[str, str, list[str]]:
    emotion = rng.choice(["sadness", "joy", "anger", "optimism"])
    pool = [w for w, (e, _) in WORDS.items() if e == emotion]
    n_words = rng.choice([1, 2, 2, 2, 3])
    chosen = rng.sample(pool, n_words)
    slots: list[str | None] = list(chosen) + [None] * (n_words < 3) * rng.choice([0, 0, 1])
    rng.shuffle(slots)
    parts = [clause(rng, w) for w in slots]
    text = parts[0]
    for p in parts[1:]:
        join = rng.choice(JOINS)
        text += join + p
    text = text[0].upper() + text[1:] + "."
    return text, emotion, chosen


def cells_of(text: str) -> list[tuple[str, int]]:
    units = word_units(text)
    n = len(units)
    return [(k, bucket_of(i, n, N_BUCKETS)) for i, k in enumerate(units.keys) if k in WORDS]


def order(cands: list[tuple[str, str, list[str]]]) -> list[tuple[str, str, list[str]]]:
    words = list(WORDS)
    quick = QUICK_WORDS
    first = {(w, b): 3 for i, w in enumerate(quick) for b in range(N_BUCKETS) if (b + i) % 10 < 6}
    second = {(w, b): 5 for w in words for b in range(N_BUCKETS)}
    count: dict[tuple[str, int], int] = {}
    cover: dict[tuple[str, int], list[int]] = {}
    cells = [cells_of(t) for t, _, _ in cands]
    for j, cs in enumerate(cells):
        for c in set(cs):
            cover.setdefault(c, []).append(j)
    used: set[int] = set()
    out = []
    for goal in (first, second):
        while True:
            need = [c for c, n in goal.items() if count.get(c, 0) < n and cover.get(c)]
            need = [c for c in need if any(j not in used for j in cover[c])]
            if not need:
                break
            cell = min(need, key=lambda c: (count.get(c, 0), words.index(c[0]), c[1]))

            def gain(j: int, goal: dict = goal) -> int:
                return sum(count.get(c, 0) < goal.get(c, 0) for c in cells[j])

            j = max((j for j in cover[cell] if j not in used), key=lambda j: (gain(j), -j))
            used.add(j)
            out.append(cands[j])
            for c in cells[j]:
                count[c] = count.get(c, 0) + 1
        print(f"wave done at {len(out)} sentences", file=sys.stderr)
    return out


def main() -> None:
    rng = random.Random(12)
    seen, cands = set(), []
    while len(cands) < 60_000:
        c = candidate(rng)
        if c[0] not in seen:
            seen.add(c[0])
            cands.append(c)
    rows = order(cands)
    path = (
        pathlib.Path(__file__).resolve().parents[1] / "src/tokenheat/demo/data/emotion_frames.csv"
    )
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["text", "label", "words"])
        for text, emotion, chosen in rows:
            w.writerow([text, emotion, " ".join(chosen)])
    print(f"wrote {len(rows)} sentences to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
