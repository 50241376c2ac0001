"""Leave the user's model exactly as found: mode, dtype, device, requires_grad, hooks.

The analyses switch a model to eval mode, freeze its parameters, register hooks and may
move or cast it. :func:`preserved` records everything they could touch and puts it back on
the way out, also after an exception or a ``KeyboardInterrupt``. Parameters and buffers are
restored by handing back the very tensors they held (no copy, no round trip through another
dtype), so a model cast to float16 and back is bit-identical to the one given.

Nothing here imports torch at module level.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["converted", "eval_mode", "preserved", "preserves_model_state"]

F = TypeVar("F", bound=Callable[..., Any])

#: Per-module hook dictionaries (``OrderedDict`` of handle id -> hook) that
#: :func:`preserved` empties of anything added while it was active.
HOOK_DICTS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_state_dict_hooks",
    "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks",
    "_load_state_dict_post_hooks",
)


@dataclass
class _Snapshot:
    modes: list[tuple[Any, bool]]
    tensors: list[tuple[Any, str, Any, Any]]  # (module, name, param or buffer, its data)
    flags: list[tuple[Any, bool, Any]]  # (parameter, requires_grad, grad)
    hooks: list[tuple[dict, set]]  # (hook dict, keys present before)
    tensor_hooks: list[tuple[Any, Any]]  # (parameter, its _backward_hooks before)


def _snapshot(model: Any) -> _Snapshot:
    modules = list(model.modules())
    tensors = []
    for mod in modules:
        for name, p in mod._parameters.items():
            if p is not None:
                tensors.append((mod, name, p, p.data))
        for name, b in mod._buffers.items():
            if b is not None:
                tensors.append((mod, name, b, b))
    params = list(model.parameters())
    hooks = [
        (d, set(d.keys()))
        for mod in modules
        for d in (getattr(mod, attr, None) for attr in HOOK_DICTS)
        if isinstance(d, dict)
    ]
    return _Snapshot(
        modes=[(mod, mod.training) for mod in modules],
        tensors=tensors,
        flags=[(p, p.requires_grad, p.grad) for p in params],
        hooks=hooks,
        tensor_hooks=[(p, dict(p._backward_hooks or {})) for p in params],
    )


def _restore(snap: _Snapshot) -> None:
    for d, keys in snap.hooks:
        for key in [k for k in d if k not in keys]:
            del d[key]
    for p, before in snap.tensor_hooks:
        if p._backward_hooks is not None and dict(p._backward_hooks) != before:
            p._backward_hooks.clear()
            p._backward_hooks.update(before)
    for mod, name, current, data in snap.tensors:
        if name in mod._parameters:
            param = mod._parameters[name]
            if param is not current:  # replaced (e.g. by a cast outside .to()): put it back
                mod._parameters[name] = param = current
            if param.data is not data:
                param.data = data
        elif mod._buffers.get(name) is not data:
            mod._buffers[name] = data
    for p, flag, grad in snap.flags:
        if p.requires_grad != flag:
            p.requires_grad_(flag)
        if p.grad is not grad:
            p.grad = grad
    for mod, training in snap.modes:
        mod.training = training


@contextmanager
def preserved(*models: Any) -> Iterator[None]:
    """Record each torch module's state and restore it on exit, whatever happens inside.

    Restored: train/eval mode of every submodule, every parameter's and buffer's tensor
    (hence its dtype, device and values, if it was replaced rather than written in place),
    ``requires_grad`` and ``.grad`` of every parameter, and the module and parameter hooks
    (any hook registered inside is removed; hooks that were there stay). Objects that are
    not torch modules (``None``, a tokenizer) are ignored.

    Examples
    --------
    >>> with preserved(model):  # doctest: +SKIP
    ...     model.eval().half()
    >>> model.training, next(model.parameters()).dtype  # doctest: +SKIP
    (True, torch.float32)
    """
    snaps = [_snapshot(m) for m in _modules(models)]
    try:
        yield
    finally:
        for snap in snaps:
            _restore(snap)


def _modules(objects: tuple[Any, ...]) -> list[Any]:
    """The distinct torch modules among ``objects`` and inside their wrappers (``.model``)."""
    try:
        import torch
    except ImportError:  # no torch: nothing can be a module
        return []
    found: dict[int, Any] = {}
    for obj in objects:
        for cand in (obj, getattr(obj, "model", None)):
            if isinstance(cand, torch.nn.Module):
                found.setdefault(id(cand), cand)
    return list(found.values())


def preserves_model_state(func: F) -> F:
    """Decorate an analysis so that its first argument (the model, or a wrapper holding it
    as ``.model``), given by position or by name, is left as found: see :func:`preserved`."""
    first = next(iter(inspect.signature(func).parameters))

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        model = args[0] if args else kwargs.get(first)
        with preserved(model):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """``model`` in eval mode for the duration; every submodule's mode restored after."""
    modes = [(mod, mod.training) for mod in model.modules()]
    try:
        yield model.eval()
    finally:
        for mod, training in modes:
            mod.training = training


def converted(model: Any, device: Any = None, dtype: Any = None) -> Any:
    """``model`` itself when no move or cast is asked, else a copy that is moved/cast.

    The copy's parameters and buffers are converted copies (the module structure is copied
    around them, tied weights stay tied), so the user's model keeps its dtype and device.
    Parameters of the copy do not require gradients. ``model`` itself is returned when it
    already has that device and dtype.
    """
    import torch

    floats = [t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()]
    same_dtype = dtype is None or all(t.dtype == dtype for t in floats)
    same_device = device is None or all(t.device == torch.device(device) for t in floats)
    if same_dtype and same_device:
        return model

    memo: dict[int, Any] = {}
    for mod in model.modules():
        for p in mod._parameters.values():
            if p is not None and id(p) not in memo:
                t = p.detach().to(device=device, dtype=dtype if p.is_floating_point() else None)
                memo[id(p)] = torch.nn.Parameter(t, requires_grad=False)
        for b in mod._buffers.values():
            if b is not None and id(b) not in memo:
                memo[id(b)] = b.to(device=device, dtype=dtype if b.is_floating_point() else None)
    return copy.deepcopy(model, memo)
