"""``engine="ray"``: shard the inputs into a Ray Dataset, run the analysis per shard on an actor
pool (each actor loads the model once), and merge the shards with :func:`tokenheat.merge`.

Shards come back in input order (the Dataset runs with ``preserve_order``), which is the
order :func:`tokenheat.merge` needs for its "first contexts" rule. The driver only merges;
the user's model object and inputs are pickled to the workers, never changed here.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import pickle
import secrets
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tokenheat.core._checks import check_positive_int, fail
from tokenheat.errors import ArgumentTypeError, EngineError, TokenheatWarning

__all__ = ["run_ray"]

_OPTIONS = ("concurrency", "num_gpus", "num_cpus", "batch_size")
_INSTALL = 'engine="ray" needs Ray, which is not installed: pip install "tokenheat[ray]"'
_MARK = "tokenheat worker error: "
_started_note_shown = False


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ImportError(_INSTALL) from None
    return ray


def _check_options(ray_options: Any) -> dict[str, Any]:
    if ray_options is None:
        return {}
    if not isinstance(ray_options, dict):
        fail(
            "ray_options",
            "a dict such as {'concurrency': 2, 'num_gpus': 1}",
            ray_options,
            kind=ArgumentTypeError,
        )
    unknown = sorted(set(ray_options) - set(_OPTIONS))
    if unknown:
        fail(
            "ray_options",
            f"a dict of the options tokenheat passes to Ray ({', '.join(_OPTIONS)})",
            given=f"the unknown keys {unknown}",
        )
    size = ray_options.get("batch_size")
    if size is not None:
        check_positive_int("ray_options['batch_size']", size)
    return dict(ray_options)


def _ensure_cluster(ray: Any) -> None:
    """Use the cluster the user connected to; else start a quiet local one and say so once."""
    global _started_note_shown
    if ray.is_initialized():
        return
    quiet_local_ray_env()
    temp = os.path.join(tempfile.gettempdir(), "tokenheat-ray")
    ray.init(
        include_dashboard=False,
        _temp_dir=temp,
        log_to_driver=False,
        logging_level="ERROR",
    )
    if not _started_note_shown:
        _started_note_shown = True
        warnings.warn(
            f"engine='ray' started a local Ray cluster (temp files under {temp}); call "
            "ray.init(address=...) before the analysis to use an existing cluster",
            TokenheatWarning,
            stacklevel=4,
        )


def quiet_local_ray_env() -> None:
    """Environment for a local Ray cluster that writes nothing to the home folder: no usage
    statistics, and (unless the user set up Ray authentication) a token for this session
    held in ``RAY_AUTH_TOKEN`` instead of a new ``~/.ray/auth_token`` file."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    configured = any(
        k in os.environ for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
    )
    if not configured and not os.path.exists(os.path.expanduser("~/.ray/auth_token")):
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)


def is_loader(model: Any) -> bool:
    """A zero-argument callable (not a model or classifier) is a model loader."""
    if isinstance(model, str | os.PathLike):
        return True
    if not callable(model) or hasattr(model, "parameters") or hasattr(model, "predict_proba"):
        return False
    try:
        params = inspect.signature(model).parameters.values()
    except (TypeError, ValueError):
        return False
    return not any(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in params
    )


class _Load:
    """Picklable: gives ``(model, tokenizer)`` on a worker."""

    def __init__(self, model: Any, tokenizer: Any, analysis: str) -> None:
        self.model, self.tokenizer, self.analysis = model, tokenizer, analysis

    def __call__(self) -> tuple[Any, Any]:
        if isinstance(self.model, str | os.PathLike):
            return _from_path(os.fspath(self.model), self.analysis)
        if is_loader(self.model):
            out = self.model()
            if not (isinstance(out, tuple) and len(out) == 2):
                fail(
                    "the model loader's result",
                    "a (model, tokenizer) tuple",
                    out,
                    kind=ArgumentTypeError,
                )
            return out
        return self.model, self.tokenizer


def _from_path(path: str, analysis: str) -> tuple[Any, Any]:
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    config = transformers.AutoConfig.from_pretrained(path)
    archs = " ".join(getattr(config, "architectures", None) or [])
    if analysis == "flip_rate" and "SequenceClassification" in archs:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(path)
    else:
        model = transformers.AutoModelForCausalLM.from_pretrained(path)
    return model, tokenizer


class _Worker:
    """One actor: loads the model once, runs the analysis on each shard it is given."""

    def __init__(self, load: _Load, shard: Callable[..., Any], options: dict[str, Any]) -> None:
        self.shard, self.options, self.error = shard, options, None
        try:
            self.model, self.tokenizer = load()
        except Exception as err:  # reported with the first shard, where Ray surfaces it
            self.error = f"{_MARK}loading the model failed: {type(err).__name__}: {err}"

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.error is not None:
            raise EngineError(self.error)
        texts = [str(t) for t in batch["text"]]
        options = dict(self.options)
        if "target_json" in batch:
            options["targets"] = [json.loads(t) for t in batch["target_json"]]
        first = int(batch["index"][0]) if "index" in batch and len(texts) else None
        try:
            part = self.shard(self.model, self.tokenizer, texts, options, first)
        except Exception as err:
            raise EngineError(f"{_MARK}{type(err).__name__}: {err}") from err
        return {"part": np.array([pickle.dumps(part)], dtype=object), "n": np.array([len(texts)])}


def _dataset(ray: Any, inputs: Any, targets: Any) -> tuple[Any, int]:
    """The inputs as a Ray Dataset with a ``text`` column (and ``target_json``), and its size."""
    if isinstance(inputs, ray.data.Dataset):
        if "text" not in (inputs.columns() or []):
            fail(
                "inputs",
                "a ray.data.Dataset with a 'text' column",
                given=f"a Dataset with the columns {inputs.columns()}",
                hint="e.g. ds.rename_columns({'sentence': 'text'})",
            )
        if isinstance(targets, list):
            fail(
                "targets",
                "one target for all (or None) when inputs is a ray.data.Dataset",
                targets,
                "per-input targets need a list of inputs",
            )
        ds = inputs.select_columns(["text"])
        return ds, int(ds.count())
    if isinstance(inputs, str) or not isinstance(inputs, list | tuple):
        fail(
            "inputs",
            "a list of texts or a ray.data.Dataset with a 'text' column, with engine='ray'",
            inputs,
            kind=ArgumentTypeError,
        )
    for i, t in enumerate(inputs):
        if not isinstance(t, str):
            fail(f"inputs[{i}]", "a plain string with engine='ray'", t, kind=ArgumentTypeError)
    rows: list[dict[str, Any]] = [{"text": t, "index": i} for i, t in enumerate(inputs)]
    if isinstance(targets, list):
        if len(targets) != len(inputs):
            fail("targets", f"one target per input ({len(inputs)})", targets)
        for row, t in zip(rows, targets, strict=True):
            row["target_json"] = json.dumps(t)
    return ray.data.from_items(rows), len(rows)


# The keywords of run_engine on purpose: it forwards them here unchanged.
def run_ray(
    analysis: str,
    model: Any,
    inputs: Any,
    *,
    tokenizer: Any,
    shard: Callable[..., Any],
    options: dict[str, Any],
    merge: Callable[[list[Any]], Any],
    ray_options: Any,
    progress: bool,
) -> Any:
    """See :func:`tokenheat.engines.run_engine`."""
    opts = _check_options(ray_options)
    ray = _import_ray()
    _ensure_cluster(ray)
    context = ray.data.DataContext.get_current()
    saved = (context.execution_options.preserve_order, context.enable_progress_bars)
    context.execution_options.preserve_order = True  # shards come back in input order
    context.enable_progress_bars = False  # the driver shows one bar of its own
    data_log = logging.getLogger("ray.data")
    log_level = data_log.level
    data_log.setLevel(logging.WARNING)  # no per-run INFO lines (plans, log paths)
    try:
        options = dict(options)
        ds, n = _dataset(ray, inputs, options.get("targets"))
        if n == 0:
            fail("inputs", "at least one text", given="no texts")
        if isinstance(options.get("targets"), list):
            del options["targets"]  # each shard reads its own from the target_json column
        worker = (_Load(model, tokenizer, analysis), shard, options)
        return merge(_run_pass(ds, n, analysis, worker, opts, progress))
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = saved
        data_log.setLevel(log_level)


def _sizes(ray: Any, n: int, opts: dict[str, Any]) -> tuple[int, int]:
    """``(concurrency, batch_size)``: given ones, else one actor per free CPU (or GPU share)
    and about four shards per actor."""
    concurrency = opts.get("concurrency")
    if concurrency is None:
        resources = ray.cluster_resources()
        if opts.get("num_gpus"):
            concurrency = int(resources.get("GPU", 1) // opts["num_gpus"])
        else:
            concurrency = int(resources.get("CPU", 1) // (opts.get("num_cpus") or 1))
        concurrency = max(1, min(concurrency, n))
    size = opts.get("batch_size")
    if size is None:
        lanes = max(concurrency) if isinstance(concurrency, tuple) else int(concurrency)
        size = max(1, min(2048, -(-n // (4 * lanes))))
    return concurrency, size


def _run_pass(
    ds: Any, n: int, analysis: str, worker: tuple[Any, ...], opts: dict[str, Any], progress: bool
) -> list[Any]:
    """Map every shard through the actor pool; the shards' results in input order."""
    import ray

    concurrency, size = _sizes(ray, n, opts)
    resources = {k: opts[k] for k in ("num_cpus", "num_gpus") if opts.get(k) is not None}
    pool = getattr(ray.data, "ActorPoolStrategy", None)
    if pool is not None:  # Ray >= 2.51 wants compute=; concurrency= still works before
        low, high = concurrency if isinstance(concurrency, tuple) else (concurrency, concurrency)
        resources["compute"] = pool(size=low) if low == high else pool(min_size=low, max_size=high)
    else:  # pragma: no cover - older Ray
        resources["concurrency"] = concurrency
    mapped = ds.map_batches(
        _Worker, fn_constructor_args=worker, batch_size=size, batch_format="numpy", **resources
    )
    bar = _bar(n, f"{analysis.replace('_', ' ')} (ray)", progress)
    parts = []
    try:
        for row in mapped.iter_rows():
            parts.append(pickle.loads(row["part"]))
            if bar is not None:
                bar.update(int(row["n"]))
    except Exception as err:  # a worker failed: its own message, not Ray's wrapping
        raise EngineError(f"engine='ray' failed on a worker: {_worker_message(err)}") from None
    finally:
        if bar is not None:
            bar.close()
    return parts


# Like analyses/_tuned_lens_train.py's _bar on purpose: engines/ import no analysis module.
def _bar(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with transformers
        return None
    return tqdm(total=total, desc=desc, leave=False)


def _worker_message(err: BaseException) -> str:
    """The worker's own error text (marked by :class:`_Worker`), searched through the
    exception Ray raised and what it wraps; else Ray's last line."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [err]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        text = str(e)
        at = text.rfind(_MARK)
        if at >= 0:
            return text[at + len(_MARK) :].splitlines()[0]
        todo += [e.__cause__, e.__context__, getattr(e, "cause", None)]
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[-1] if lines else ''}"
