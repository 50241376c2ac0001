"""engine="ray" equals the in-process run for all four analyses, on one local 2-CPU cluster.

The cluster is started once for the module (no dashboard, temp files under a fresh temp
folder, the session's auth token in the environment, nothing in the home folder) and shut
down at the end, so the tests leave no Ray processes behind.

``scripts/test.sh`` runs this module in a pytest process of its own: importing nnsight (the
interop tests do) patches Python objects in a way that Ray's serializer cannot pickle (a
``ContextVar``), so a process that imported nnsight cannot ship work to Ray actors.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from conftest import SENTENCES
from test_flip_rate import TEXTS, keyword_probs
from test_merge import ANCHOR_TEXTS, assert_same

ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")

import tokenheat as th  # noqa: E402
from tokenheat.engines._ray import quiet_local_ray_env  # noqa: E402
from tokenheat.errors import ArgumentError, EngineError, TokenheatWarning  # noqa: E402

pytestmark = pytest.mark.ray
TWO = {"concurrency": 2, "batch_size": 3}


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    saved = dict(os.environ)
    quiet_local_ray_env()
    # workers import the test helpers (keyword_probs ...) and this tree's tokenheat by name
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(os.path.dirname(os.path.dirname(here)), "src")
    os.environ["PYTHONPATH"] = os.pathsep.join([here, src, os.environ.get("PYTHONPATH", "")])
    tmp = tempfile.mkdtemp(prefix="thray-")  # short: Ray's socket paths must fit 107 bytes
    try:
        for attempt in range(3):  # a heavily loaded machine can miss Ray's startup deadlines
            try:
                ray.init(num_cpus=2, include_dashboard=False, _temp_dir=tmp, log_to_driver=False)
                break
            except Exception:
                ray.shutdown()
                if attempt == 2:
                    raise
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
        os.environ.clear()
        os.environ.update(saved)


def test_flip_rate_callable_equals_in_process() -> None:
    texts = TEXTS * 3
    opts = dict(labels=["a", "b", "c"], n_buckets=3, min_count=2, top_k=4, max_contexts_per_cell=2)
    whole = th.flip_rate(keyword_probs, texts, progress=False, **opts)
    merged = th.flip_rate(
        keyword_probs, texts, engine="ray", ray_options=TWO, progress=False, **opts
    )
    assert_same(merged, whole, exact=True)


def test_lens_loader_equals_in_process(gpt2_lm: Any, tokenizer: Any) -> None:
    """The model reaches the workers through a zero-argument loader. batch_size=1: a float32
    forward differs at ~1e-7 with the padding of other batch mates, in process too."""
    texts = [*SENTENCES, "Hello", "The cat"]
    opts = dict(progress=False, align="right", max_contexts_per_cell=4, batch_size=1)
    whole = th.lens(gpt2_lm, tokenizer, texts, **opts)

    def load() -> tuple[Any, Any]:
        return gpt2_lm, tokenizer

    merged = th.lens(load, None, texts, engine="ray", ray_options=TWO, **opts)
    assert_same(merged, whole)


def test_anchor_similarity_mean_centred_equals_in_process(llama_lm: Any, tokenizer: Any) -> None:
    """center='mean' runs as two passes; one shard holds no anchor."""
    opts = dict(
        max_distance=4, max_contexts_per_cell=2, center="mean", progress=False, batch_size=1
    )
    whole = th.anchor_similarity(llama_lm, tokenizer, ANCHOR_TEXTS, **opts)
    merged = th.anchor_similarity(
        llama_lm, tokenizer, ANCHOR_TEXTS, engine="ray", ray_options={"batch_size": 2}, **opts
    )
    assert_same(merged, whole)


def test_attribution_over_examples_equals_in_process(gpt2_lm: Any, tokenizer: Any) -> None:
    texts = list(SENTENCES[:4])
    targets = [" the", 5, None, " cat"]
    opts = dict(method="occlusion", progress=False)
    whole = th.attribution(gpt2_lm, tokenizer, texts, targets, **opts)
    merged = th.attribution(
        gpt2_lm, tokenizer, texts, targets, engine="ray", ray_options=TWO, **opts
    )
    assert_same(merged, whole)


def test_ray_dataset_input(gpt2_lm: Any, tokenizer: Any) -> None:
    texts = list(SENTENCES[:4])
    ds = ray.data.from_items([{"text": t, "other": i} for i, t in enumerate(texts)])
    whole = th.lens(gpt2_lm, tokenizer, texts, progress=False, batch_size=1)
    merged = th.lens(
        gpt2_lm, tokenizer, ds, progress=False, batch_size=1, engine="ray", ray_options=TWO
    )
    assert_same(merged, whole)
    with pytest.raises(
        ArgumentError,
        match=r"inputs must be a ray\.data\.Dataset with a 'text' column, got a Dataset with the columns \['t'\]",
    ):
        th.lens(gpt2_lm, tokenizer, ray.data.from_items([{"t": "a"}]), engine="ray")


def test_loader_failing_on_a_worker_reaches_the_user() -> None:
    def load() -> tuple[Any, Any]:
        raise OSError("weights not found at /nowhere/model.safetensors")

    with pytest.raises(EngineError, match=r"OSError: weights not found at /nowhere"):
        th.lens(load, None, ["a b c"], engine="ray", progress=False)


def test_interrupted_run_leaves_model_and_inputs_unchanged(gpt2_lm: Any, tokenizer: Any) -> None:
    """A worker that fails half way (as an interrupted run would) changes nothing here."""
    before = {k: v.clone() for k, v in gpt2_lm.state_dict().items()}
    training = gpt2_lm.training
    texts = ["first text", "second text", "third text", "fourth text"]
    copy = list(texts)
    calls = {"n": 0}

    def flaky(batch: list[str]) -> np.ndarray:
        if any("third" in t for t in batch):
            raise RuntimeError("stopped half way")
        calls["n"] += 1
        return np.tile([0.5, 0.5], (len(batch), 1))

    with pytest.raises(EngineError, match=r"RuntimeError: stopped half way"):
        th.flip_rate(flaky, texts, labels=["x", "y"], engine="ray", ray_options=TWO, progress=False)
    assert texts == copy and calls["n"] == 0  # the driver's copy never ran
    assert gpt2_lm.training == training
    for k, v in gpt2_lm.state_dict().items():
        assert torch.equal(v, before[k])


def test_bad_engine_and_options(gpt2_lm: Any, tokenizer: Any) -> None:
    with pytest.raises(ArgumentError, match="engine must be one of 'local', 'ray', got 'dask'"):
        th.lens(gpt2_lm, tokenizer, ["a"], engine="dask")
    with pytest.raises(
        ArgumentError,
        match=r"ray_options must be a dict of the options .*, got the unknown keys \['gpus'\]",
    ):
        th.lens(gpt2_lm, tokenizer, ["a"], engine="ray", ray_options={"gpus": 1})
    with pytest.raises(
        ArgumentError,
        match=r"ray_options must be None with engine='local' \(it is for engine='ray'\)",
    ):
        th.flip_rate(keyword_probs, ["a"], labels=["a", "b", "c"], ray_options={"concurrency": 1})


def test_ray_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "tokenheat\[ray\]"'):
        th.flip_rate(keyword_probs, ["a b"], labels=["a", "b", "c"], engine="ray")


def test_import_tokenheat_never_imports_ray() -> None:
    import subprocess

    code = (
        "import sys, tokenheat as th; th.flip_rate; th.merge; th.lens;"
        "import tokenheat.analyses._flip_rate, tokenheat.engines;"
        "print('ray' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr


def test_no_warning_when_cluster_is_given() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", TokenheatWarning)
        th.flip_rate(keyword_probs, TEXTS, labels=["a", "b", "c"], engine="ray", progress=False)
