"""Names a package exports but imports on first use (PEP 562).

A package ``__init__`` maps each public name to the module that defines it and sets
``__getattr__, __dir__ = lazy_names(__name__, MAPPING)``; ``__all__`` stays the list of public
names. Used where importing everything up front would cost start-up time (``curata``,
``curata_ingest``) or make a package-level import cycle (``curata.transforms``,
``curata.governance``; see docs/architecture.md).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, names: Mapping[str, str]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a name of ``names`` is imported from its
    module when first asked for, then kept in the package's namespace."""
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace.get("__all__", ())) | {n for n in namespace if n.startswith("_")})

    return __getattr__, __dir__
