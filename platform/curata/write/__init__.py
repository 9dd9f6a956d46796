"""The one write path (DESIGN.md §4): system columns, conforming, duplicate removal, Parquet
shards, ONE Delta commit, and the catalog records that pin it. Used by ``Catalog.append`` /
``update_columns``, the ingest pipeline (local and Ray engines) and ``derive``.
"""

from curata.fingerprint import SYSTEM_COLUMNS
from curata.write.append import (
    LOCATOR,
    Prepared,
    append,
    check_source_license,
    commit_meta,
    existing_ids,
    make_source_id,
    relicense_source,
    update_columns,
    validate_license,
    write_batches,
)
from curata.write.columns import (
    COMMIT_RETRIES,
    DEFAULT_TARGET_FILE_SIZE,
    EMPTY_STRUCT,
    PROVENANCE_TYPE,
    ROW_GROUP_ROWS,
    TABLE_CONFIGURATION,
    cast_column,
    conform,
    delta_type,
    system_columns,
    system_schema,
    to_batches,
    with_system_columns,
)
from curata.write.records import (
    find_commit,
    record_appended,
    record_files,
    record_version,
    store_version,
)

__all__ = [
    "COMMIT_RETRIES", "DEFAULT_TARGET_FILE_SIZE", "EMPTY_STRUCT", "LOCATOR", "PROVENANCE_TYPE",
    "ROW_GROUP_ROWS", "SYSTEM_COLUMNS", "TABLE_CONFIGURATION", "Prepared", "append",
    "cast_column", "check_source_license", "commit_meta", "conform", "delta_type",
    "existing_ids", "find_commit", "make_source_id", "record_appended", "record_files",
    "record_version", "relicense_source", "store_version", "system_columns", "system_schema",
    "to_batches", "update_columns", "validate_license", "with_system_columns", "write_batches",
]
