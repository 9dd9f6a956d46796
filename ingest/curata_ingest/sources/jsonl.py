"""JSON Lines (``.jsonl``/``.ndjson``, also gzip/zstd compressed).

The file is read in blocks of ~8 MB on the source's thread (which also updates the artifact's
sha256 and counts lines) and each block is parsed whole by Arrow's JSON reader on a small
pool, so parsing is not one serial step; batches and rejects still come out in file order.
When a block fails (a malformed line, invalid UTF-8, a value whose type changes mid-block) it
is bisected by lines until the bad lines are isolated, so one bad line costs O(log n)
re-parses rather than a slow per-line path, and every good line still becomes a row with its
exact line number.
"""

from __future__ import annotations

import json
import os
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from curata_ingest.sources._base import (
    BLOCK_BYTES,
    FileSource,
    ProgressFn,
    RejectSink,
    rows_locators,
    with_locator,
)

_NON_SPACE = re.compile(rb"\S")


class JsonlSource(FileSource):
    """One record per JSON object per line; blank lines are skipped."""

    format = "jsonl"
    extensions = (".jsonl", ".ndjson", ".json")

    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        for path in self.files():
            yield from self._read_file(path, rejects, progress)

    def _read_file(
        self, path: str, rejects: RejectSink, progress: ProgressFn | None
    ) -> Iterator[pa.RecordBatch]:
        """Blocks are read (and their artifact hash updated) on this thread and parsed on a
        small pool, ``_PARSERS`` at a time; batches and rejects come out in file order."""
        uri = self.uri(path)
        lines_before = 0
        seen_data = False
        pending: deque[Future[tuple[list[pa.RecordBatch], list[dict[str, Any]]]]] = deque()
        pool = ThreadPoolExecutor(_PARSERS, thread_name_prefix="curata-jsonl")
        try:
            with self.open(path) as fh:
                for block in _blocks(fh, progress):
                    newlines = block.count(b"\n")
                    if _NON_SPACE.search(block) is None:  # blank: no copy, unlike strip()
                        lines_before += newlines
                        continue
                    seen_data = True
                    parser = _BlockParser(block, uri=uri, source=self.name,
                                          first_line=lines_before + 1, newlines=newlines)
                    pending.append(pool.submit(parser.parse_all))
                    lines_before += newlines
                    while len(pending) >= _PARSERS:
                        yield from _collect(pending.popleft(), rejects)
            while pending:
                yield from _collect(pending.popleft(), rejects)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if not seen_data:
            rejects.add(reason="empty_file", source=self.name, locator=uri)


# Blocks parsed at once: Arrow's JSON parser holds no GIL, so two blocks parse side by side
# while this thread reads the next one (the parse is ingest's longest serial step).
_PARSERS = max(2, min(4, os.cpu_count() or 2))


def _collect(
    future: Future[tuple[list[pa.RecordBatch], list[dict[str, Any]]]], rejects: RejectSink
) -> Iterator[pa.RecordBatch]:
    batches, bad = future.result()
    for reject in bad:
        rejects.add(**reject)
    yield from batches


def _blocks(fh: IO[bytes], progress: ProgressFn | None) -> Iterator[bytes]:
    """Yield chunks of ``fh`` that end on a line boundary (the last one may not)."""
    tail = b""
    while chunk := fh.read(BLOCK_BYTES):
        if progress:
            progress(len(chunk))
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            tail = data
            continue
        tail = data[cut + 1 :]
        yield data[: cut + 1]
    if tail:
        yield tail


class _BlockParser:
    """Parses one block. The usual block (every line a record) is parsed once and numbered
    by counting newlines; only a block that fails or holds blank lines gets the per-line
    spans (``starts``/``ends``/``line_numbers``) that bisection and rejects need."""

    def __init__(self, block: bytes, *, uri: str, source: str, first_line: int,
                 newlines: int) -> None:
        self.block = block
        self.uri = uri
        self.source = source
        self.first_line = first_line
        self.newlines = newlines  # counted by the reading thread, which numbers the blocks

    def parse_all(self) -> tuple[list[pa.RecordBatch], list[dict[str, Any]]]:
        """``parse`` run to the end on a pool thread: the batches and the rejects, in order."""
        bad = _Collected()
        return list(self.parse(bad)), bad.rows  # type: ignore[arg-type]

    def _spans(self) -> None:
        block = self.block
        arr = np.frombuffer(block, dtype=np.uint8)
        newlines = np.flatnonzero(arr == 10)
        starts = np.concatenate(([0], newlines + 1))
        ends = np.concatenate((newlines, [len(block)]))
        content_end = ends - ((ends > starts) & (arr[np.maximum(ends - 1, 0)] == 13))
        keep = content_end > starts
        self.starts, self.ends = starts[keep], content_end[keep]
        self.line_numbers = np.flatnonzero(keep) + self.first_line

    def parse(self, rejects: RejectSink) -> Iterator[pa.RecordBatch]:
        table = _try_read(self.block, whole=True)
        lines = self.newlines + (0 if self.block.endswith(b"\n") else 1)
        if table is not None and table.num_rows == lines:  # no blank or bad line
            numbers = np.arange(self.first_line, self.first_line + lines)
            yield with_locator(table, rows_locators(f"{self.uri}:", numbers))
            return
        self._spans()
        if table is not None and table.num_rows == len(self.starts):  # blank lines only
            yield with_locator(table, rows_locators(f"{self.uri}:", self.line_numbers))
            return
        yield from self._bisect(0, len(self.starts), rejects)

    def _bisect(self, lo: int, hi: int, rejects: RejectSink) -> Iterator[pa.RecordBatch]:
        table = _try_read(self.block[self.starts[lo] : self.ends[hi - 1]])
        if table is not None and table.num_rows == hi - lo:
            locators = rows_locators(f"{self.uri}:", self.line_numbers[lo:hi])
            yield with_locator(table, locators)
        elif hi - lo == 1:
            self._reject_line(lo, rejects)
        else:
            mid = (lo + hi) // 2
            yield from self._bisect(lo, mid, rejects)
            yield from self._bisect(mid, hi, rejects)

    def _reject_line(self, i: int, rejects: RejectSink) -> None:
        raw = self.block[self.starts[i] : self.ends[i]]
        if not raw.strip():
            return  # whitespace-only line: not a record, nothing to lose
        reason, detail = classify_bad_line(raw)
        locator = f"{self.uri}:{self.line_numbers[i]}"
        rejects.add(reason=reason, detail=detail, source=self.source, locator=locator, raw=raw)


class _Collected:
    """Keeps a block's rejects (``RejectSink.add`` arguments) until its batches are due."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, **reject: Any) -> None:
        self.rows.append(reject)


def _try_read(data: bytes, *, whole: bool = False) -> pa.Table | None:
    """Parse JSON lines; None if Arrow cannot (a bad line somewhere, or mixed types).

    ``whole``: parse as one Arrow block on the calling thread. Blocks already parse side by
    side on the source's pool, and one Arrow block needs no ``combine_chunks`` copy.
    """
    options = pj.ReadOptions(use_threads=False, block_size=len(data) + 1) if whole else None
    try:
        table = pj.read_json(pa.BufferReader(data), read_options=options)  # no copy, no GIL
        # Arrow's JSON reader does not check UTF-8; a full validation does, per column.
        table.validate(full=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return table.combine_chunks()


def classify_bad_line(raw: bytes) -> tuple[str, str]:
    """Why a single line is not a record: invalid UTF-8, malformed JSON or not an object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "invalid_utf8", str(exc)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return "malformed_json", str(exc)
    if not isinstance(value, dict):
        return "not_an_object", f"top-level {type(value).__name__}"
    return "unsupported_json", "Arrow cannot represent this object (mixed types in a list?)"
