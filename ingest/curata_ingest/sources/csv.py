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
from curata.errors import UsageError

from curata_ingest.sources._base import (
    BATCH_ROWS,
    BLOCK_BYTES,
    FileSource,
    ProgressFn,
    RejectSink,
    rows_locators,
    with_locator,
)

_SNIFFED = ",;\t|"  # delimiters told apart by sniffing the first rows
_SNIFF_BYTES = 64 << 10


class CsvSource(FileSource):
    """One record per CSV row; the first row is the header.

    ``delimiter``: given (``--delimiter``), else sniffed from the first rows among ``,``,
    ``;``, tab and ``|`` (``csv.Sniffer``), else the format's default. ``encoding``: the
    file's text encoding (default UTF-8; a field that is not valid UTF-8 rejects its row).
    """

    format = "csv"
    default_delimiter: ClassVar[str] = ","
    extensions: ClassVar[tuple[str, ...]] = (".csv",)
    options: ClassVar[tuple[str, ...]] = ("delimiter", "encoding")

    def __init__(self, spec: str, *, delimiter: str | None = None, encoding: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if delimiter is not None and len(delimiter.encode()) != 1:
            raise UsageError(f"--delimiter {delimiter!r}: one single-byte character")
        self.delimiter = delimiter
        self.encoding = encoding

    def _delimiter(self, path: str) -> str:
        if self.delimiter:
            return self.delimiter
        with self.open(path) as fh:
            sample = fh.read(_SNIFF_BYTES).decode(self.encoding or "utf-8", "replace")
        lines = sample.splitlines()[:50]
        if len(sample) == _SNIFF_BYTES and len(lines) > 1:
            lines = lines[:-1]  # a cut line would mislead the sniffer
        try:
            found = csv.Sniffer().sniff("\n".join(lines), delimiters=_SNIFFED).delimiter
        except csv.Error:
            return self.default_delimiter
        return found

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
        delimiter = self._delimiter(path)

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

        parse = pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid)
        # One parsing thread: Arrow knows a bad row's line number only then.
        read = pcsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False,
                                encoding=self.encoding or "utf8")
        with self.open(path) as fh:
            try:
                reader = pcsv.open_csv(fh, read_options=read, parse_options=parse)
                for batch in reader:
                    batch.validate(full=True)
                    numbers = range(done + 1, done + 1 + batch.num_rows)
                    done += batch.num_rows
                    if progress:
                        progress(batch.nbytes)
                    batch, numbers = self._text_cells(batch, numbers, uri, rejects)
                    yield with_locator(batch, rows_locators(f"{uri}#row=", numbers))
                return
            except pa.ArrowInvalid as exc:
                if "Empty CSV file" in str(exc):
                    rejects.add(reason="empty_file", source=self.name, locator=uri)
                    return
        yield from self._fallback(path, uri, done, delimiter, rejects)

    def _text_cells(self, batch: pa.RecordBatch, numbers: range, uri: str,
                    rejects: RejectSink) -> tuple[pa.RecordBatch, list[int] | range]:
        """CSV holds text: a column Arrow read as binary has a cell that is not valid UTF-8.
        Its rows are rejected (once the column was silently all binary); the column is text."""
        binary = [i for i, f in enumerate(batch.schema) if pa.types.is_binary(f.type)]
        if not binary:
            return batch, numbers
        bad: set[int] = set()
        for i in binary:  # the rare path: a Python loop over the cells of broken columns
            for row, cell in enumerate(batch.column(i).to_pylist()):
                if cell is not None and not _is_utf8(cell):
                    bad.add(row)
        for row in sorted(bad):
            raw = b"|".join(c if isinstance(c, bytes) else str(c).encode()
                            for c in (batch.column(i)[row].as_py() for i in range(batch.num_columns)))
            rejects.add(reason="invalid_utf8", source=self.name, locator=f"{uri}#row={numbers[row]}",
                        raw=raw, detail="a field is not valid UTF-8; pass --encoding if the file "
                        "uses another one")
        keep = [r for r in range(batch.num_rows) if r not in bad]
        batch = batch.take(pa.array(keep, pa.int64()))
        cols = [c.cast(pa.string()) if i in binary else c for i, c in enumerate(batch.columns)]
        return pa.RecordBatch.from_arrays(cols, names=batch.schema.names), [numbers[r] for r in keep]

    def _fallback(
        self, path: str, uri: str, skip: int, delimiter: str, rejects: RejectSink
    ) -> Iterator[pa.RecordBatch]:
        with self.open(path) as fh:
            # utf-8-sig: a byte-order mark is not part of the first column's name (Arrow
            # drops it too, so both paths give the same header).
            encoding = self.encoding or "utf-8-sig"
            text = io.TextIOWrapper(fh, encoding=encoding, errors="surrogateescape", newline="")
            rows = csv.reader(text, delimiter=delimiter)
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
        raw = ",".join(row)
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
    default_delimiter = "\t"
    extensions: ClassVar[tuple[str, ...]] = (".tsv", ".tab")

    def _delimiter(self, path: str) -> str:
        return self.delimiter or "\t"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _string_batch(
    header: list[str], rows: list[list[str]], prefix: str, numbers: list[int]
) -> pa.RecordBatch:
    columns = {name: pa.array([r[i] for r in rows], pa.string()) for i, name in enumerate(header)}
    batch = pa.RecordBatch.from_pydict(columns)
    return with_locator(batch, rows_locators(prefix, numbers))
