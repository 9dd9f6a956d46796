"""Curata ingest: stream corpora into licensed, fingerprinted, versioned datasets.

Example:
    >>> from curata_ingest import ingest
    >>> report = ingest(["data/*.jsonl"], dataset="reviews", license="CC-BY-4.0")

Names are imported on first use (PEP 562), so the `curata` command can show its help without
loading the ingest stack (``curata_ingest.cli``).
"""

import typing as _typing

from curata.lazy import lazy_names as _lazy_names

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


__getattr__, __dir__ = _lazy_names(__name__, _LAZY)


__all__ = ["IngestReport", "SourceReport", "ingest", "open_sources"]
