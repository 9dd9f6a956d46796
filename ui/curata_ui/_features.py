"""Optional features built in other parts of Curata, found by import / attribute checks.

Pages call these instead of importing directly, so a page whose backing feature has not
landed says so plainly instead of failing.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def module(name: str) -> ModuleType | None:
    """The module if it is installed and imports, else ``None``."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def function(module_names: tuple[str, ...], names: tuple[str, ...]) -> Any | None:
    """The first callable ``module.name`` found over the candidates, else ``None``."""
    for mod_name in module_names:
        mod = module(mod_name)
        for name in names:
            fn = getattr(mod, name, None) if mod is not None else None
            if callable(fn):
                return fn
    return None


def missing(feature: str, needs: str) -> str:
    """The sentence a page shows when its backing feature is not there yet."""
    return (f"{feature} is not available in this installation yet: it needs {needs}, "
            "which is not installed or has not landed. The rest of the app works without it.")
