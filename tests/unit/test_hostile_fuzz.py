"""A fuzz run over the .th reader under a fixed memory budget: random truncations, bit flips
and declared sizes give only a clear DamagedFileError or an exact load — never another
exception, never more memory than the budget. Runs in a subprocess whose address space is
capped with resource.setrlimit, so a reader that allocated what a file declares would die
there (MemoryError) instead of passing."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tokenheat as th

resource = pytest.importorskip("resource")

SRC = pathlib.Path(th.__file__).resolve().parents[1]
#: The fuzzing process's address-space cap (numpy, pandas and the interpreter included).
LIMIT_BYTES = 1536 * 2**20


def _sample(tmp_path: pathlib.Path) -> pathlib.Path:
    corpus = th.Corpus.from_tokens([["Ġa", "Ġb", "Ċ"], ["x"]], names=["one", "two"])
    m = th.TokenMatrix(
        np.array([[0.5, -0.0], [np.nan, 3.0]], np.float32),
        rows=["Ġa", "Ġb"],
        cols=["p", "q"],
        row_kind="token",
        counts=[[1, 2], [3, 4]],
        extras={"lo": np.zeros((2, 2))},
        cell_text=[["x", None], ["y", "z"]],
        scale=th.ColorScale.diverging(),
        corpus=corpus,
        contexts=th.Contexts(
            row=[0, 1],
            col=[0, 1],
            example=[0, 1],
            start=[0, 0],
            end=[1, 1],
            scores=[np.ones(3), np.zeros(1)],
            labels={"l": ["a", None]},
            numeric={"p": [0.1, 0.2]},
        ),
    )
    return th.save(m, tmp_path / "sample.th")


FUZZ = textwrap.dedent(
    """
    import io, json, random, resource, sys, zipfile
    sys.path.insert(0, {src!r})
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    import numpy as np
    import tokenheat as th
    from tokenheat.errors import DamagedFileError

    path = {path!r}
    good = open(path, "rb").read()
    original = th.load(path)
    rng = random.Random(0)
    out = {tmp!r} + "/fuzz.th"
    counts = {{"damaged": 0, "exact": 0}}

    def mutations():
        for _ in range({n}):
            data = bytearray(good)
            kind = rng.randrange(3)
            if kind == 0:  # truncate
                yield bytes(data[: rng.randrange(len(data))])
            elif kind == 1:  # flip bits
                for _ in range(rng.randint(1, 8)):
                    i = rng.randrange(len(data))
                    data[i] ^= 1 << rng.randrange(8)
                yield bytes(data)
            else:  # declare a huge size in a manifest shape or an .npy header
                with zipfile.ZipFile(io.BytesIO(good)) as zf:
                    members = {{i.filename: zf.read(i) for i in zf.infolist()}}
                name = rng.choice(sorted(members))
                huge = str(rng.choice([2**31, 6 * 10**12, 2**62, 10**30]))
                if name == "manifest.json":
                    text = members[name].decode().replace('"n": 2', '"n": ' + huge, 1)
                    text = text.replace('"shape": [\\n    2,', '"shape": [\\n    ' + huge + ",", 1)
                    text = text.replace('"shape": [\\n   2,', '"shape": [\\n   ' + huge + ",", 1)
                    members[name] = text.encode()
                else:
                    members[name] = members[name].replace(b"(2,", b"(" + huge.encode() + b",", 1)
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                    for k, v in members.items():
                        zf.writestr(k, v)
                yield buf.getvalue()

    for data in mutations():
        with open(out, "wb") as fh:
            fh.write(data)
        try:
            back = th.load(out)
        except DamagedFileError as err:
            # refused by a check, not by running out of memory part-way
            assert "within memory" not in str(err), str(err)
            counts["damaged"] += 1
            continue
        assert back.equals(original), "a mutated file loaded as something else"
        counts["exact"] += 1
    print(json.dumps(counts))
    """
)


def test_mutated_files_give_clear_errors_or_exact_loads_within_the_budget(tmp_path):
    path = _sample(tmp_path)
    code = FUZZ.format(src=str(SRC), limit=LIMIT_BYTES, path=str(path), tmp=str(tmp_path), n=300)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    print(out.stdout)
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["damaged"] + counts["exact"] == 300
    assert counts["damaged"] > 100  # most mutations must be caught, not loaded
