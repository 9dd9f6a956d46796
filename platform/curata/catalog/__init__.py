"""The catalog: datasets, versions, tags, runs and the audit log (SQLAlchemy + Alembic)."""

from curata.catalog._catalog import (
    AuditInfo,
    Catalog,
    DatasetInfo,
    RunInfo,
    TagInfo,
    VersionInfo,
    connect,
)

__all__ = ["AuditInfo", "Catalog", "DatasetInfo", "RunInfo", "TagInfo", "VersionInfo", "connect"]
