"""Where an analysis runs: in this process (``engine="local"``) or sharded on Ray (``"ray"``).

The analyses import this package only when ``engine`` is not ``"local"``, and
:mod:`tokenheat.engines._ray` imports Ray only when called, so ``import tokenheat`` and
every in-process run never import Ray.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tokenheat.core._checks import check_choice, fail

__all__ = ["ENGINES", "run_engine"]

ENGINES = ("local", "ray")


# The keywords of run_ray on purpose: this forwards them to it unchanged.
def run_engine(
    analysis: str,
    engine: Any,
    ray_options: dict[str, Any] | None,
    model: Any,
    inputs: Any,
    *,
    tokenizer: Any,
    shard: Callable[..., Any],
    options: dict[str, Any],
    merge: Callable[[list[Any]], Any],
    progress: bool,
) -> Any:
    """Run ``shard`` over shards of ``inputs`` on ``engine``; ``merge`` the shards' results.

    Parameters
    ----------
    analysis : str
        The analysis's name (progress bar; a path loader picks a classifier for
        ``"flip_rate"``).
    engine : str
        ``"ray"`` (``"local"`` never reaches here).
    ray_options : dict, optional
        ``concurrency`` (actors), ``num_gpus`` and ``num_cpus`` (per actor), ``batch_size``
        (inputs per shard).
    model
        The model (or classifier) object, a local path, or a zero-argument callable
        returning ``(model, tokenizer)``.
    inputs
        A list of texts, or a ``ray.data.Dataset`` with a ``text`` column.
    tokenizer, options, progress
        The analysis's own arguments.
    shard : callable
        ``shard(model, tokenizer, texts, options, first)`` → a result for ``merge``, where
        ``first`` is the input index of ``texts[0]`` (``None`` when unknown, e.g. for a
        ``ray.data.Dataset``); a module-level function, so a worker imports it by name.
    merge : callable
        Results of the shards, in input order → the result.

    Raises
    ------
    ArgumentError
        For an unknown engine or ``ray_options`` entry.
    ImportError
        When Ray is not installed (the message says ``pip install "tokenheat[ray]"``).
    EngineError
        When a worker fails (its error text is in the message).
    """
    check_choice(
        "engine",
        engine,
        ENGINES,
        "'local' runs in this process, 'ray' on a Ray cluster (pip install \"tokenheat[ray]\")",
    )
    if ray_options is not None and engine != "ray":
        fail("ray_options", f"None with engine={engine!r} (it is for engine='ray')", ray_options)
    from tokenheat.engines._ray import run_ray

    return run_ray(
        analysis, model, inputs, tokenizer=tokenizer, shard=shard, options=options,
        merge=merge, ray_options=ray_options, progress=progress,
    )  # fmt: skip
