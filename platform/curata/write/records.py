"""After a commit: which version it landed as, and the catalog records that pin it (the
version's fingerprint and row-hash sum, the byte hashes of its new files).

Every write is one Delta commit; the catalog learns of it afterwards. A process killed between
the two leaves a Delta version the catalog does not know yet: the ``Catalog`` facade heals it
on first use with :func:`record_version` (explicitly: reading a snapshot never writes).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pyarrow as pa
import xxhash

from curata import fingerprint as fp
from curata.errors import CommitConflictError, StorageError
from curata.storage import filesystem, join_uri
from curata.store import FileRecord, Store, VersionRecord
from curata.verify import scan_files
from curata.write.columns import SCAN_RETRIES


def find_commit(store: Store, dataset: str, run_id: str) -> int:
    """The version our commit landed as (other writers may have committed around it).

    Reads the commit files themselves: ``DeltaTable.history()`` numbers its entries by
    counting down from the version the table was loaded at, so a commit that lands while it
    lists the log (concurrent writers on object storage) shifts every number by one.
    """
    dt = store.delta(dataset)
    fs, root = filesystem(store.table_uri(dataset), store.storage_options)
    latest = dt.version()
    for version in range(latest, max(-1, latest - 500), -1):
        path = join_uri(root, "_delta_log", f"{version:020d}.json")
        with fs.open_input_stream(path) as f:
            for line in f.read().decode().splitlines():
                info = json.loads(line).get("commitInfo")
                if info is not None and info.get("curata.run_id") == run_id:
                    return version
    raise CommitConflictError(dataset, attempts=1, reason=f"commit of run {run_id} not found")


def record_appended(store: Store, dataset: str, version: int, added: fp.RowHashSum, *,
                    operation: str, run_id: str | None) -> VersionRecord:
    """Record an append incrementally: fingerprint(v) = fingerprint(v-1) + the appended rows."""
    prev = store.version_record(dataset, version - 1) if version > 0 else None
    if version > 0 and (prev is None or prev.fp_scheme != fp.FINGERPRINT_VERSION):
        # No record of the version below, or one under an older fingerprint scheme: the sum
        # cannot be carried on, so the whole version is hashed under the current scheme.
        return record_version(store, dataset, version, operation=operation, run_id=run_id)
    acc = (fp.RowHashSum.from_json(prev.row_sum) if prev else fp.RowHashSum()) + added
    return store_version(store, dataset, version, acc, operation=operation, run_id=run_id)


def record_version(store: Store, dataset: str, version: int, *, operation: str,
                   run_id: str | None = None, derived_from: list[Any] | None = None,
                   ) -> VersionRecord:
    """Record a version by scanning all its rows (merges, compaction, recovery)."""
    dt = store.delta(dataset, version)
    uri = store.table_uri(dataset)
    for attempt in range(SCAN_RETRIES):
        scan = scan_files(uri, dt, store.storage_options)
        if not scan.problems:
            break
        # A file that could not be read (an object store under load times out) must never
        # be summed as if absent: that records a wrong fingerprint forever. Retry, then fail.
        time.sleep(0.5 * (attempt + 1))
    else:
        raise StorageError(uri, reason=f"cannot fingerprint version {version}: "
                           + "; ".join(scan.problems[:3]))
    return store_version(store, dataset, version, scan.total, operation=operation,
                         run_id=run_id, derived_from=derived_from)


def store_version(store: Store, dataset: str, version: int, acc: fp.RowHashSum, *,
                  operation: str, run_id: str | None,
                  derived_from: list[Any] | None = None) -> VersionRecord:
    """Record ``version`` with the row-hash sum ``acc`` (current fingerprint scheme)."""
    dt = store.delta(dataset, version)
    schema = pa.schema(dt.schema().to_arrow())
    record_files(store, dataset, dt, version)
    return store.put_version_record(
        dataset, version, fingerprint=fp.combine(schema, acc), num_rows=acc.count,
        row_sum=acc.to_json(), schema_json=fp.schema_digest(schema),
        fp_scheme=fp.FINGERPRINT_VERSION, operation=operation, run_id=run_id,
        derived_from=derived_from)


def stream_hash(fs: Any, path: str) -> str:
    """XXH3-128 of a file's bytes in bounded memory (what ``verify`` compares)."""
    h = xxhash.xxh3_128()
    with fs.open_input_stream(path) as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def record_files(store: Store, dataset: str, dt: Any, version: int) -> None:
    """Hash the bytes of files of ``version`` the catalog has not seen, for ``verify``."""
    actions = pa.table(dt.get_add_actions(flatten=True))
    known = store.known_files(dataset)
    fs, root = filesystem(store.table_uri(dataset), store.storage_options)
    new = [FileRecord(path=p, size=size, num_rows=n or 0,
                      content_hash=stream_hash(fs, join_uri(root, p)), added_version=version)
           for p, size, n in zip(actions.column("path").to_pylist(),
                                 actions.column("size_bytes").to_pylist(),
                                 actions.column("num_records").to_pylist(), strict=True)
           if p not in known]
    store.add_files(dataset, new)
