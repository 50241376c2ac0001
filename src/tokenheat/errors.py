"""tokenheat's exceptions and warning category.

Every error tokenheat raises for a bad argument, a damaged file or an input it cannot use is
one of these. Each also subclasses the built-in exception a caller would already catch
(``ValueError`` or ``TypeError``), so ``except ValueError`` keeps working, while
``except tokenheat.errors.TokenheatError`` catches only tokenheat's own.

Messages follow one pattern: the argument's name, what was given, and what would work::

    ArgumentError: n_buckets must be a positive int, got 0; pass e.g. n_buckets=10

Warnings are :class:`TokenheatWarning` (or a subclass), so they can be filtered as a group::

    warnings.filterwarnings("ignore", category=tokenheat.errors.TokenheatWarning)
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "CompletenessWarning",
    "DamagedFileError",
    "EngineError",
    "MergeError",
    "ModelError",
    "PayloadTooLargeError",
    "TokenheatError",
    "TokenheatWarning",
]


class TokenheatError(Exception):
    """Base class of every error tokenheat raises on purpose."""


class ArgumentError(TokenheatError, ValueError):
    """An argument has the right type but a value that cannot work (a ``ValueError``)."""


class ArgumentTypeError(TokenheatError, TypeError):
    """An argument has a type that cannot work (a ``TypeError``)."""


class DamagedFileError(TokenheatError, ValueError):
    """A results file is truncated, corrupted, too large to read safely, or not tokenheat's."""


class PayloadTooLargeError(TokenheatError, ValueError):
    """What would be sent to the page is over the size guard; the message names the knob."""


class MergeError(TokenheatError, ValueError):
    """Results that cannot be merged: another analysis, other arguments, model or tokenizer."""


class EngineError(TokenheatError, RuntimeError):
    """A distributed run failed on a worker; the message carries the worker's error text."""


class ModelError(TokenheatError, RuntimeError):
    """A model (or its cache, or its file) cannot do what the run needs; not a bad argument
    value but a capability the model lacks, so a ``RuntimeError``."""


class TokenheatWarning(UserWarning):
    """Base category of every warning tokenheat emits."""


class CompletenessWarning(TokenheatWarning):
    """Attributions whose sum misses f(x) - f(baseline) by more than the tolerance."""
