"""Registered Python functions for ``apply`` steps, and the hash of their source code.

An ``apply`` step names a function registered with :func:`register`, never an arbitrary
``module:function``: a pipeline file is shared like data, and a dotted path would let it call
any importable function with parameters of its choosing (``pydoc:pipepager`` runs a shell
command). Functions come from modules the user names explicitly (``curata derive --import``,
or the ``imports:`` list of a pipeline file, which ``curata derive`` prints before running).

A function's source text is part of the transform fingerprint: editing it recomputes every
derivation that uses it. A function whose source cannot be read (a lambda typed into the REPL,
a builtin, a C extension) is refused rather than hashed by something unstable such as its id.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from curata.transforms.errors import PipelineError, UnhashableStepError, UnknownFunctionError

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
    """The function registered under ``name``.

    Raises:
        UnknownFunctionError: nothing is registered under that name; a ``module:function``
            path is never imported (only registered functions run).
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    raise UnknownFunctionError(name, valid=registered())


_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def import_modules(modules: Iterable[str], *, search: Sequence[str | Path] = ()) -> list[str]:
    """Import the modules that register ``apply`` functions, as the user named them.

    Args:
        modules: dotted module names (``mysteps``, ``team.curation.steps``).
        search: folders to look in first (the CLI passes the current folder, as ``python
            -m`` would); added to the front of ``sys.path`` for this process.

    Raises:
        PipelineError: a name that is not a module name, or a module that cannot be imported
            (not found, or its code raised).
    """
    names = list(modules)
    for name in names:
        if not isinstance(name, str) or _MODULE.fullmatch(name) is None:
            raise PipelineError(f"{name!r} is not a Python module name (e.g. my_steps or "
                                "pkg.steps)", kind="imports")
    for folder in reversed([str(Path(f).resolve()) for f in search]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # its own code failed (SyntaxError, ...): still bad input
            raise PipelineError(f"cannot import module {name!r} ({type(exc).__name__}: "
                                f"{exc})", kind="imports") from exc
    return names


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
