"""``Snapshot.verify()``: recompute a snapshot's fingerprint from its stored files.

Each file is read once: its bytes are hashed (a flipped byte anywhere names the file, even
where Parquet would decode it silently) and then decoded from memory to recompute the row-hash
sum. Missing, resized or unreadable files are reported by name.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from curata import fingerprint as fp
from curata.storage import filesystem, join_uri

if TYPE_CHECKING:
    from curata.snapshot import Snapshot


# Columns with a handful of distinct values: read as dictionaries, hashed once per value.
LOW_CARDINALITY = ["_source", "_license", "_provenance.uri", "_provenance.run_id"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    """Outcome of ``Snapshot.verify()``.

    Attributes:
        ok: the recomputed fingerprint equals the recorded one and no file has a problem.
        expected: the fingerprint recorded in the catalog.
        actual: the fingerprint recomputed from the files (``None`` if files were unreadable).
        problems: one line per problem, naming the file.
        files_checked: how many files were read.
    """

    ref: str
    ok: bool
    expected: str
    actual: str | None
    num_rows: int
    files_checked: int
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "ok": self.ok, "expected": self.expected,
                "actual": self.actual, "num_rows": self.num_rows,
                "files_checked": self.files_checked, "problems": list(self.problems)}


@dataclass(slots=True)
class ScanResult:
    total: fp.RowHashSum
    problems: list[str]
    files: int


def scan_files(table_uri: str, dt: Any, storage_options: dict[str, str] | None,
               expected_hashes: dict[str, str] | None = None, *,
               scheme: str = fp.FINGERPRINT_VERSION) -> ScanResult:
    """Row-hash sum over every file of a Delta version, checking sizes and byte hashes."""
    actions = pa.table(dt.get_add_actions(flatten=True))
    fs, root = filesystem(table_uri, storage_options)
    paths = actions.column("path").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    hashes = expected_hashes or {}

    table_schema = pa.schema(dt.schema().to_arrow())

    def one(path: str, size: int) -> tuple[fp.RowHashSum, list[str]]:
        return _scan_file(fs, join_uri(root, path), path, size, hashes.get(path), scheme,
                          table_schema)

    # Files are independent; hashing and decoding release the GIL, so threads use every core.
    workers = min(len(paths), os.cpu_count() or 1) or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, paths, sizes))
    total, problems = fp.RowHashSum(), []
    for acc, found in results:
        total, problems = total + acc, problems + found
    return ScanResult(total=total, problems=problems, files=len(paths))


def _scan_file(fs: Any, full: str, path: str, size: int, expected_hash: str | None,
               scheme: str, table_schema: pa.Schema) -> tuple[fp.RowHashSum, list[str]]:
    problems: list[str] = []
    try:
        with fs.open_input_file(full) as f:
            data = f.read()
    except (FileNotFoundError, OSError) as exc:
        return fp.RowHashSum(), [f"missing file {path}: {exc}"]
    if len(data) != size:
        problems.append(f"size changed {path}: {len(data)} bytes, log says {size}")
    if expected_hash is not None and xxhash.xxh3_128_hexdigest(data) != expected_hash:
        problems.append(f"content changed {path}: bytes differ from when it was written")
    total = fp.RowHashSum()
    try:
        plain = pq.ParquetFile(pa.BufferReader(data))
        problems += _schema_problems(path, plain.schema_arrow, table_schema)
        meta = plain.schema
        present = {meta.column(i).path for i in range(len(meta))}
        dicts = [c for c in LOW_CARDINALITY if c in present]
        pf = pq.ParquetFile(pa.BufferReader(data), read_dictionary=dicts)
        # Only the columns the scheme hashes are decoded (the bytes are checked whole above).
        columns = fp.snapshot_columns(pf.schema_arrow.names, scheme)
        # One row group at a time: a batch spanning two row groups would hold two dictionaries
        # of a nested column, which Arrow cannot return as one array.
        for group in range(pf.num_row_groups):
            for batch in pf.iter_batches(batch_size=131_072, row_groups=[group], columns=columns):
                total = total + fp.row_sum(batch, scheme=scheme)
    except Exception as exc:  # a corrupt file is a finding, not a crash
        problems.append(f"unreadable file {path}: {type(exc).__name__}: {exc}")
    return total, problems


def _schema_problems(path: str, file_schema: pa.Schema, table: pa.Schema) -> list[str]:
    """A file's columns must be the version's (same types; a file may lack columns added
    later): readers cast or drop whatever differs, silently."""
    out = []
    for f in file_schema:
        i = table.get_field_index(f.name)
        if i < 0:
            out.append(f"schema mismatch {path}: column {f.name!r} is not in the table schema")
        elif not _same_type(f.type, table.field(i).type):
            out.append(f"schema mismatch {path}: column {f.name!r} is {f.type}, the table "
                       f"says {table.field(i).type}")
    return out


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    """Equal as stored: string and binary widths (large, view) are one type to Delta."""
    return _plain(a).equals(_plain(b))


def _plain(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        return _plain(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain(f.type)) for f in t])
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_plain(t.value_type))
    return t


def verify_snapshot(snap: Snapshot) -> VerifyReport:
    hashes = snap.store.file_hashes(snap.dataset) if snap.store is not None else {}
    dt = snap.delta_table()
    scheme = snap.fingerprint_scheme or fp.FINGERPRINT_VERSION
    scan = scan_files(snap.table_uri, dt, snap.storage_options, hashes, scheme=scheme)
    actual = fp.combine(pa.schema(dt.schema().to_arrow()), scan.total, scheme=scheme)
    problems = list(scan.problems)
    if actual != snap.fingerprint:
        problems.append(f"fingerprint mismatch: recorded {snap.fingerprint}, stored data gives {actual}")
    return VerifyReport(ref=snap.ref, ok=not problems, expected=snap.fingerprint,
                        actual=actual, num_rows=scan.total.count, files_checked=scan.files,
                        problems=problems)
