"""Curata: dataset curation, labeling and versioning.

Example:
    >>> import curata
    >>> snap = curata.load("reviews@v3")
    >>> table = snap.to_arrow()
"""


__version__ = "0.1.0"

from curata import errors  # noqa: E402
from curata.catalog import Catalog, connect  # noqa: E402
from curata.diff import Diff  # noqa: E402
from curata.gc import GcReport  # noqa: E402
from curata.snapshot import Snapshot  # noqa: E402
from curata.verify import VerifyReport  # noqa: E402


def load(ref: str, *, expect_fingerprint: str | None = None,
         track: bool | None = None) -> Snapshot:
    """Load a pinned snapshot: ``curata.connect().snapshot(ref)``.

    Args:
        ref: ``NAME``, ``NAME@TAG``, ``NAME@VERSION`` or ``NAME@fp:HEXPREFIX``.
        expect_fingerprint: raise ``FingerprintMismatchError`` unless the snapshot's
            fingerprint starts with this.
        track: log the snapshot (ref, fingerprint, rows) as an input of the active MLflow
            run when ``mlflow`` is installed; ``None`` follows ``CURATA_TRACK=1``.
    """
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
