"""Curata ingest: stream corpora into licensed, fingerprinted, versioned datasets.

Example:
    >>> from curata_ingest import ingest
    >>> report = ingest(["data/*.jsonl"], dataset="reviews", license="CC-BY-4.0")

Names are imported on first use (PEP 562), so the `curata` command can show its help without
loading the ingest stack (``curata_ingest.cli``).
"""

import importlib as _importlib
import typing as _typing

_LAZY = {
    "IngestReport": "curata_ingest.report",
    "SourceReport": "curata_ingest.report",
    "ingest": "curata_ingest.pipeline",
    "open_sources": "curata_ingest.sources",
}

if _typing.TYPE_CHECKING:
    from curata_ingest.pipeline import ingest
    from curata_ingest.report import IngestReport, SourceReport
    from curata_ingest.sources import open_sources


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'curata_ingest' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | {n for n in globals() if n.startswith("_")})


__all__ = ["IngestReport", "SourceReport", "ingest", "open_sources"]
