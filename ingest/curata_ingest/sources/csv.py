"""CSV and TSV through Arrow's streaming CSV reader, with a Python fallback.

Arrow infers column types from the first block and fails later on a value that does not fit
(or on invalid UTF-8). Rather than lose the rest of the file, the reader then continues from
the first unread record with Python's ``csv`` module, emitting strings that the pipeline casts
to the dataset schema (rows that do not cast are rejected there, with their locator).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.csv as pcsv

from curata_ingest.sources._base import (
    BATCH_ROWS,
    BLOCK_BYTES,
    FileSource,
    ProgressFn,
    RejectSink,
    rows_locators,
    with_locator,
)


class CsvSource(FileSource):
    """One record per CSV row; the first row is the header."""

    format = "csv"
    delimiter: ClassVar[str] = ","
    extensions: ClassVar[tuple[str, ...]] = (".csv",)

    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        for path in self.files():
            yield from self._read_file(path, rejects, progress)

    def _read_file(
        self, path: str, rejects: RejectSink, progress: ProgressFn | None
    ) -> Iterator[pa.RecordBatch]:
        uri = self.uri(path)
        done = 0  # records consumed (emitted or rejected), to resume in the fallback

        def on_invalid(row: Any) -> str:
            nonlocal done
            done += 1
            rejects.add(
                reason="wrong_field_count",
                source=self.name,
                locator=f"{uri}:line={row.number}",
                raw=row.text or "",
                detail=f"expected {row.expected_columns}, got {row.actual_columns}",
            )
            return "skip"

        parse = pcsv.ParseOptions(delimiter=self.delimiter, invalid_row_handler=on_invalid)
        read = pcsv.ReadOptions(block_size=BLOCK_BYTES)
        with self.open(path) as fh:
            try:
                reader = pcsv.open_csv(fh, read_options=read, parse_options=parse)
                for batch in reader:
                    batch.validate(full=True)
                    locators = rows_locators(
                        f"{uri}#row=", range(done + 1, done + 1 + batch.num_rows)
                    )
                    done += batch.num_rows
                    if progress:
                        progress(batch.nbytes)
                    yield with_locator(batch, locators)
                return
            except pa.ArrowInvalid as exc:
                if "Empty CSV file" in str(exc):
                    rejects.add(reason="empty_file", source=self.name, locator=uri)
                    return
        yield from self._fallback(path, uri, done, rejects)

    def _fallback(
        self, path: str, uri: str, skip: int, rejects: RejectSink
    ) -> Iterator[pa.RecordBatch]:
        with self.open(path) as fh:
            text = io.TextIOWrapper(fh, encoding="utf-8", errors="surrogateescape", newline="")
            rows = csv.reader(text, delimiter=self.delimiter)
            header = next(rows, None) or []
            pending: list[list[str]] = []
            numbers: list[int] = []
            for number, row in enumerate(rows, start=1):
                if number <= skip:
                    continue
                if not self._check(row, header, f"{uri}#row={number}", rejects):
                    continue
                pending.append(row)
                numbers.append(number)
                if len(pending) >= BATCH_ROWS:
                    yield _string_batch(header, pending, f"{uri}#row=", numbers)
                    pending, numbers = [], []
            if pending:
                yield _string_batch(header, pending, f"{uri}#row=", numbers)

    def _check(self, row: list[str], header: list[str], locator: str, rejects: RejectSink) -> bool:
        raw = self.delimiter.join(row)
        if len(row) != len(header):
            rejects.add(
                reason="wrong_field_count",
                source=self.name,
                locator=locator,
                raw=raw,
                detail=f"expected {len(header)}, got {len(row)}",
            )
            return False
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            rejects.add(reason="invalid_utf8", source=self.name, locator=locator, raw=raw)
            return False
        return True


class TsvSource(CsvSource):
    format = "tsv"
    delimiter = "\t"
    extensions: ClassVar[tuple[str, ...]] = (".tsv", ".tab")


def _string_batch(
    header: list[str], rows: list[list[str]], prefix: str, numbers: list[int]
) -> pa.RecordBatch:
    columns = {name: pa.array([r[i] for r in rows], pa.string()) for i, name in enumerate(header)}
    batch = pa.RecordBatch.from_pydict(columns)
    return with_locator(batch, rows_locators(prefix, numbers))
