"""Curata: dataset curation, labeling and versioning.

Example:
    >>> import curata
    >>> snap = curata.load("reviews@v3")
    >>> table = snap.to_arrow()

Names are imported on first use (PEP 562), so training code that only needs
``curata.export``'s loaders does not pay for the catalog's SQL and Delta stack.
"""

import importlib as _importlib
import typing as _typing

from curata import errors

__version__ = "0.1.0"

_LAZY = {
    "Catalog": "curata.catalog",
    "connect": "curata.catalog",
    "Diff": "curata.diff",
    "GcReport": "curata.gc",
    "Snapshot": "curata.snapshot",
    "VerifyReport": "curata.verify",
}

if _typing.TYPE_CHECKING:
    from curata.catalog import Catalog, connect
    from curata.diff import Diff
    from curata.gc import GcReport
    from curata.snapshot import Snapshot
    from curata.verify import VerifyReport


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'curata' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | {n for n in globals() if n.startswith("_")})


def load(ref: str, *, expect_fingerprint: str | None = None) -> "Snapshot":
    """Load a pinned snapshot: ``curata.connect().snapshot(ref)``.

    Args:
        ref: ``NAME``, ``NAME@TAG``, ``NAME@VERSION`` or ``NAME@fp:HEXPREFIX``.
        expect_fingerprint: raise ``FingerprintMismatchError`` unless the snapshot's
            fingerprint starts with this.
    """
    from curata.catalog import connect

    return connect().snapshot(ref, expect_fingerprint=expect_fingerprint)


__all__ = [
    "Catalog",
    "Diff",
    "GcReport",
    "Snapshot",
    "VerifyReport",
    "__version__",
    "connect",
    "errors",
    "load",
]
