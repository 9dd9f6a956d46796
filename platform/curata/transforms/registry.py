"""Registered Python functions for ``apply`` steps, and the hash of their source code.

A function's source text is part of the transform fingerprint: editing it recomputes every
derivation that uses it. A function whose source cannot be read (a lambda typed into the REPL,
a builtin, a C extension) is refused rather than hashed by something unstable such as its id.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import textwrap
from collections.abc import Callable
from typing import Any, TypeVar

from curata.transforms.errors import PipelineError, UnhashableStepError

F = TypeVar("F", bound=Callable[..., Any])
_REGISTRY: dict[str, Callable[..., Any]] = {}


def register(name: str | Callable[..., Any] | None = None) -> Any:
    """Register a batch function for ``apply`` steps (usable by name in YAML/TOML pipelines).

    The function takes a ``polars.DataFrame`` (plus the step's ``params`` as keyword
    arguments) and returns one. It may drop, reorder or add columns and drop rows, but must
    keep ``_id``; the system columns are carried through from the input.

    Example:
        >>> @curata.transforms.register("strip_html")
        ... def strip_html(df, *, column="text"):
        ...     return df.with_columns(pl.col(column).str.replace_all("<[^>]+>", ""))
    """
    def deco(fn: F) -> F:
        key = name if isinstance(name, str) else qualified_name(fn)
        _REGISTRY[key] = fn
        return fn

    if callable(name):
        return deco(name)  # used as a bare @register
    return deco


def registered() -> list[str]:
    return sorted(_REGISTRY)


def qualified_name(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def resolve(name: str) -> Callable[..., Any]:
    """A registered name, or ``package.module:function`` imported on demand."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    module, _, attr = name.partition(":")
    if module and attr:
        try:
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise PipelineError(f"cannot import function {name!r}: {exc}", kind="apply",
                                valid=registered()) from None
        if callable(obj):
            return obj
    raise PipelineError(f"unknown function {name!r}; register it with "
                        "@curata.transforms.register or name it as 'module:function'",
                        kind="apply", valid=registered())


def code_hash(fn: Callable[..., Any], *, step: str) -> str:
    """SHA-256 of the function's dedented source text.

    Raises:
        UnhashableStepError: the source cannot be read (lambda in the REPL, builtin, partial).
    """
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)):
        raise UnhashableStepError(step, reason=f"{type(fn).__name__} objects have no source "
                                               "to hash; pass a plain function")
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError) as exc:
        raise UnhashableStepError(step, reason=f"its source code is not available ({exc})") \
            from None
    return hashlib.sha256(textwrap.dedent(source).encode()).hexdigest()
