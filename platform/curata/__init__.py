"""Curata: dataset curation, labeling and versioning.

Example:
    >>> import curata
    >>> snap = curata.load("reviews@v3")
    >>> table = snap.to_arrow()

Names are imported on first use (PEP 562), so training code that only needs
``curata.export``'s loaders does not pay for the catalog's SQL and Delta stack.
"""

import typing as _typing

from curata import errors
from curata.lazy import lazy_names as _lazy_names

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


__getattr__, __dir__ = _lazy_names(__name__, _LAZY)


def load(ref: str, *, expect_fingerprint: str | None = None,
         track: bool | None = None) -> "Snapshot":
    """Load a pinned snapshot: ``curata.connect().snapshot(ref)``.

    Args:
        ref: ``NAME``, ``NAME@TAG``, ``NAME@VERSION`` or ``NAME@fp:HEXPREFIX``.
        expect_fingerprint: raise ``FingerprintMismatchError`` unless the snapshot's
            fingerprint starts with this.
        track: log the snapshot (ref, fingerprint, rows) as an input of the active MLflow
            run when ``mlflow`` is installed; ``None`` follows ``CURATA_TRACK=1``.
    """
    from curata.catalog import connect

    snap = connect().snapshot(ref, expect_fingerprint=expect_fingerprint)
    # transforms: training-side lineage (curata.tracking)
    from curata import tracking

    if tracking.tracking_enabled(track) and not tracking.log_snapshot(snap) and track:
        import warnings

        warnings.warn("curata.load(track=True): mlflow is not installed, nothing was logged "
                      "(pip install 'curata[mlflow]')", RuntimeWarning, stacklevel=2)
    return snap


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
