"""Sources: every input format as a stream of Arrow record batches plus a stream of rejects."""

from curata_ingest.sources._base import (
    LOCATOR,
    Artifact,
    Reject,
    RejectSink,
    Source,
)
from curata_ingest.sources.detect import FORMATS, open_sources

__all__ = ["FORMATS", "LOCATOR", "Artifact", "Reject", "RejectSink", "Source", "open_sources"]
