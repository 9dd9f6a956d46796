"""The catalog facade: ``connect()`` and ``Catalog`` (the SQL record itself is ``curata.store``)."""

from curata.catalog._catalog import Catalog, connect
from curata.store import AuditInfo, DatasetInfo, RunInfo, TagInfo, VersionInfo

__all__ = ["AuditInfo", "Catalog", "DatasetInfo", "RunInfo", "TagInfo", "VersionInfo", "connect"]
