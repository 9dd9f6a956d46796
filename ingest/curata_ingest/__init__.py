"""Curata ingest: stream corpora into licensed, fingerprinted, versioned datasets.

Example:
    >>> from curata_ingest import ingest
    >>> report = ingest(["data/*.jsonl"], dataset="reviews", license="CC-BY-4.0")
"""

from curata_ingest.pipeline import ingest
from curata_ingest.report import IngestReport, SourceReport
from curata_ingest.sources import open_sources

__all__ = ["IngestReport", "SourceReport", "ingest", "open_sources"]
