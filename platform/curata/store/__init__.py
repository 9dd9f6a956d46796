"""The catalog's SQL record and the warehouse handle: ``Store`` (DESIGN.md §3).

``Base`` is the extension point for members with tables of their own (``curata_labeling``):
they define ORM models on it and open transactions with ``Store.session()``. Nothing else
outside this package uses the ORM models or sessions.
"""

from curata.store.models import Base
from curata.store.open import make_engine, open_store
from curata.store.records import (
    AuditInfo,
    DatasetInfo,
    FileRecord,
    LineageInfo,
    LineageInputInfo,
    RunInfo,
    SourceInfo,
    TagInfo,
    VersionInfo,
    VersionRecord,
)
from curata.store.store import Store, insert_ignore

__all__ = ["AuditInfo", "Base", "DatasetInfo", "FileRecord", "LineageInfo", "LineageInputInfo",
           "RunInfo", "SourceInfo", "Store", "TagInfo", "VersionInfo", "VersionRecord",
           "insert_ignore", "make_engine", "open_store"]
