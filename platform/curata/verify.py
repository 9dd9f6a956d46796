"""``Snapshot.verify()``: recompute a snapshot's fingerprint from its stored files.

Each file is read once: its bytes are hashed (a flipped byte anywhere names the file, even
where Parquet would decode it silently) and then decoded from memory to recompute the row-hash
sum. Missing, resized or unreadable files are reported by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from curata import fingerprint as fp
from curata.catalog.models import DataFile
from curata.storage import filesystem, join_uri

if TYPE_CHECKING:
    from curata.snapshot import Snapshot


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
               expected_hashes: dict[str, str] | None = None) -> ScanResult:
    """Row-hash sum over every file of a Delta version, checking sizes and byte hashes."""
    actions = pa.table(dt.get_add_actions(flatten=True))
    fs, root = filesystem(table_uri, storage_options)
    total, problems = fp.RowHashSum(), []
    paths = actions.column("path").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    for path, size in zip(paths, sizes, strict=True):
        full = join_uri(root, path)
        try:
            with fs.open_input_file(full) as f:
                data = f.read()
        except (FileNotFoundError, OSError) as exc:
            problems.append(f"missing file {path}: {exc}")
            continue
        if len(data) != size:
            problems.append(f"size changed {path}: {len(data)} bytes, log says {size}")
        if expected_hashes and path in expected_hashes:
            import xxhash

            if xxhash.xxh3_128_hexdigest(data) != expected_hashes[path]:
                problems.append(f"content changed {path}: bytes differ from when it was written")
        try:
            pf = pq.ParquetFile(pa.BufferReader(data))
            for batch in pf.iter_batches(batch_size=131_072):
                total = total + fp.row_sum(batch)
        except Exception as exc:  # a corrupt file is a finding, not a crash
            problems.append(f"unreadable file {path}: {type(exc).__name__}: {exc}")
    return ScanResult(total=total, problems=problems, files=len(paths))


def verify_snapshot(snap: Snapshot) -> VerifyReport:
    hashes: dict[str, str] = {}
    if snap.catalog is not None:
        with snap.catalog.session() as s:
            d = snap.catalog._dataset_row(s, snap.dataset)
            hashes = dict((p, h) for p, h in s.execute(select(DataFile.path, DataFile.content_hash)
                                    .where(DataFile.dataset_id == d.id)).all())
    dt = snap.delta_table()
    scan = scan_files(snap.table_uri, dt, snap.storage_options, hashes)
    actual = fp.combine(pa.schema(dt.schema().to_arrow()), scan.total)
    problems = list(scan.problems)
    if actual != snap.fingerprint:
        problems.append(f"fingerprint mismatch: recorded {snap.fingerprint}, stored data gives {actual}")
    return VerifyReport(ref=snap.ref, ok=not problems, expected=snap.fingerprint,
                        actual=actual, num_rows=scan.total.count, files_checked=scan.files,
                        problems=problems)
