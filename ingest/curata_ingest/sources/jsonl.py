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
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from curata_ingest.sources._base import (
    BLOCK_BYTES,
    DEFAULT_MAX_DEPTH,
    RAW_LIMIT,
    FileSource,
    ProgressFn,
    RejectSink,
    rows_locators,
    strip_compression,
    with_locator,
)

_NON_SPACE = re.compile(rb"\S")


class JsonlSource(FileSource):
    """One record per JSON object per line; blank lines are skipped.

    A ``.json`` file that is one JSON document is read as records too: a top-level array of
    objects (vega-datasets' ``cars.json``), or an object holding exactly one array of
    objects (``{"data": [...]}``); locators are then ``FILE#item=N``. The document is
    streamed (``ijson``), never loaded whole.
    """

    format = "jsonl"
    extensions = (".jsonl", ".ndjson", ".json")

    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        for path in self.files():
            items = _document_items(self, path, rejects) if _is_json(path) else None
            if items is None:
                yield from self._read_file(path, rejects, progress)
            else:
                yield from self._read_items(path, items, rejects, progress)

    def _read_items(self, path: str, items: Iterator[tuple[int, Any]], rejects: RejectSink,
                    progress: ProgressFn | None) -> Iterator[pa.RecordBatch]:
        """The records of a JSON document, as JSON lines through the same block parser (types,
        bisection, rejects), numbered by item."""
        uri = self.uri(path)
        lines: list[bytes] = []
        first = size = 0
        for number, item in items:
            problem = _item_problem(item, self.max_depth)
            line = b"" if problem else json.dumps(item, ensure_ascii=False).encode()
            if not problem and len(line) > self.max_record_size:
                problem = ("record_too_large", f"{len(line)} bytes, over --max-record-size "
                           f"{self.max_record_size}")
            if problem:
                if lines:  # a block holds consecutive items only
                    yield from self._parse_items(lines, uri, first, rejects)
                    lines, size = [], 0
                rejects.add(reason=problem[0], source=self.name, locator=f"{uri}#item={number}",
                            raw=line[:RAW_LIMIT] or repr(item)[:RAW_LIMIT], detail=problem[1])
                continue
            if not lines:
                first = number
            lines.append(line)
            size += len(line) + 1
            if progress:
                progress(len(line) + 1)
            if size >= BLOCK_BYTES:
                yield from self._parse_items(lines, uri, first, rejects)
                lines, size = [], 0
        if lines:
            yield from self._parse_items(lines, uri, first, rejects)

    def _parse_items(self, lines: list[bytes], uri: str, first: int,
                     rejects: RejectSink) -> Iterator[pa.RecordBatch]:
        parser = _BlockParser(b"\n".join(lines) + b"\n", uri=uri, source=self.name,
                              first_line=first, newlines=len(lines), prefix=f"{uri}#item=",
                              max_depth=self.max_depth)
        yield from parser.parse(rejects)


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
                for block in read_blocks(fh, progress, self.max_record_size):
                    if isinstance(block, _Oversized):  # one line, never held whole
                        while pending:  # its reject goes after the rows of earlier lines
                            yield from _collect(pending.popleft(), rejects)
                        lines_before += 1
                        seen_data = True
                        rejects.add(reason="record_too_large", source=self.name,
                                    locator=f"{uri}:{lines_before}", raw=block.head,
                                    detail=f"a line of {block.size} bytes, over "
                                    f"--max-record-size {self.max_record_size}")
                        continue
                    newlines = block.count(b"\n")
                    if _NON_SPACE.search(block) is None:  # blank: no copy, unlike strip()
                        lines_before += newlines
                        continue
                    seen_data = True
                    parser = _BlockParser(block, uri=uri, source=self.name,
                                          first_line=lines_before + 1, newlines=newlines,
                                          max_depth=self.max_depth)
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


@dataclass(frozen=True, slots=True)
class _Oversized:
    """A line longer than the record size limit: skipped as it streams by, never held."""

    size: int
    head: bytes


def read_blocks(fh: IO[bytes], progress: ProgressFn | None,
            limit: int | None = None) -> Iterator[bytes | _Oversized]:
    """Yield chunks of ``fh`` that end on a line boundary (the last one may not), and an
    ``_Oversized`` in place of each line longer than ``limit``.

    A line spanning many reads is kept as a list of pieces and joined once (appending each
    read to the previous ones made a 2 GB line without a newline cost quadratic time).
    """
    pieces: list[bytes] = []  # the start of the current, unfinished line
    held = 0
    skipping: _Oversized | None = None
    while chunk := fh.read(BLOCK_BYTES):
        if progress:
            progress(len(chunk))
        cut = chunk.rfind(b"\n")
        if cut < 0:  # no line ends in this read
            if skipping is not None:
                skipping = _Oversized(skipping.size + len(chunk), skipping.head)
            elif limit is not None and held + len(chunk) > limit:
                skipping = _Oversized(held + len(chunk), b"".join(pieces)[:RAW_LIMIT])
                pieces, held = [], 0
            else:
                pieces.append(chunk)
                held += len(chunk)
            continue
        first = chunk.find(b"\n")
        if skipping is not None:  # the oversized line ends here
            yield _Oversized(skipping.size + first, skipping.head)
            skipping, body = None, chunk[first + 1 : cut + 1]
        elif limit is not None and held + first > limit:
            yield _Oversized(held + first, (b"".join(pieces) + chunk[:first])[:RAW_LIMIT])
            body = chunk[first + 1 : cut + 1]
        else:
            body = b"".join([*pieces, chunk[: cut + 1]]) if pieces else chunk[: cut + 1]
        pieces, held = [chunk[cut + 1 :]] if cut + 1 < len(chunk) else [], len(chunk) - cut - 1
        if body:
            yield body
    if skipping is not None:
        yield skipping
    elif pieces:
        yield b"".join(pieces)


class _BlockParser:
    """Parses one block. The usual block (every line a record) is parsed once and numbered
    by counting newlines; only a block that fails or holds blank lines gets the per-line
    spans (``starts``/``ends``/``line_numbers``) that bisection and rejects need."""

    def __init__(self, block: bytes, *, uri: str, source: str, first_line: int,
                 newlines: int, prefix: str | None = None,
                 max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.block = block
        self.uri = uri
        self.source = source
        self.first_line = first_line
        self.newlines = newlines  # counted by the reading thread, which numbers the blocks
        self.prefix = prefix or f"{uri}:"  # locator = prefix + line (or item) number
        self.max_depth = max_depth
        self.deep: set[int] = set()  # indices (into starts/ends) never handed to Arrow

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
        if _may_crash_arrow(self.block):
            # A line so deep that Arrow's recursive parser would overflow its stack: such
            # lines are found first and rejected without being parsed.
            self._spans()
            self.deep = {i for i in range(len(self.starts)) if _bracket_bomb(
                self.block[self.starts[i]:self.ends[i]], self.max_depth)}
            yield from self._bisect(0, len(self.starts), rejects)
            return
        table = _try_read(self.block, whole=True, max_depth=self.max_depth)
        lines = self.newlines + (0 if self.block.endswith(b"\n") else 1)
        if table is not None and table.num_rows == lines:  # no blank or bad line
            numbers = np.arange(self.first_line, self.first_line + lines)
            yield with_locator(table, rows_locators(self.prefix, numbers))
            return
        self._spans()
        if table is not None and table.num_rows == len(self.starts):  # blank lines only
            yield with_locator(table, rows_locators(self.prefix, self.line_numbers))
            return
        yield from self._bisect(0, len(self.starts), rejects)

    def _bisect(self, lo: int, hi: int, rejects: RejectSink) -> Iterator[pa.RecordBatch]:
        risky = any(lo <= i < hi for i in self.deep)
        table = None if risky else _try_read(self.block[self.starts[lo] : self.ends[hi - 1]],
                                             max_depth=self.max_depth)
        if table is not None and table.num_rows == hi - lo:
            locators = rows_locators(self.prefix, self.line_numbers[lo:hi])
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
        depth = json_depth(raw)
        if depth > self.max_depth:
            reason, detail = "too_deep", f"nested {depth} levels, over --max-depth {self.max_depth}"
        else:
            reason, detail = classify_bad_line(raw)
        locator = f"{self.prefix}{self.line_numbers[i]}"
        rejects.add(reason=reason, detail=detail, source=self.source, locator=locator, raw=raw)


class _Collected:
    """Keeps a block's rejects (``RejectSink.add`` arguments) until its batches are due."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, **reject: Any) -> None:
        self.rows.append(reject)


def _try_read(data: bytes, *, whole: bool = False,
              max_depth: int = DEFAULT_MAX_DEPTH) -> pa.Table | None:
    """Parse JSON lines; None if Arrow cannot (a bad line somewhere, or mixed types), or if
    the rows nest deeper than ``max_depth``.

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
    if 1 + max((_type_depth(f.type) for f in table.schema), default=0) > max_depth:
        return None  # the lines nesting that deep are found by bisection and rejected
    return table.combine_chunks()


def _type_depth(t: pa.DataType) -> int:
    """Nesting levels of an Arrow type (a struct or list is one, its children more); without
    recursion, since the types of hostile input nest thousands of levels."""
    deepest, stack = 0, [(t, 0)]
    while stack:
        t, depth = stack.pop()
        if pa.types.is_struct(t):
            children = [f.type for f in t]
        elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            children = [t.value_type]
        elif pa.types.is_map(t):
            children = [t.key_type, t.item_type]
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((c, depth + 1) for c in children)
    return deepest


# Arrow's JSON parser recurses once per level and overflows its stack near 20,000 levels
# (exit 139); it parses a few thousand fine. Lines that could be deeper are checked first.
_ARROW_SAFE_DEPTH = 2048


def _may_crash_arrow(block: bytes) -> bool:
    """Whether some line of ``block`` has more opening brackets than Arrow nests safely (a
    cheap over-estimate: ``[`` and ``{`` inside strings count too)."""
    if block.count(b"[") + block.count(b"{") <= _ARROW_SAFE_DEPTH:
        return False
    arr = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    lengths = np.diff(np.concatenate(([-1], ends, [len(block)])))
    if lengths.max() <= _ARROW_SAFE_DEPTH:  # a line has at most one bracket per byte
        return False
    starts = np.concatenate(([0], ends + 1))
    return any(_brackets(block[a:a + n]) > _ARROW_SAFE_DEPTH
               for a, n in zip(starts.tolist(), lengths.tolist(), strict=False)
               if n > _ARROW_SAFE_DEPTH)


def _brackets(line: bytes) -> int:
    return line.count(b"[") + line.count(b"{")


def _bracket_bomb(line: bytes, max_depth: int) -> bool:
    """A line that must never reach Arrow's parser: too many brackets and too deep."""
    return _brackets(line) > _ARROW_SAFE_DEPTH and json_depth(line) > max_depth


def json_depth(raw: bytes) -> int:
    """How deep the brackets of one JSON text nest (an object or array is one level),
    skipping brackets inside strings; vectorised, so a 100 MB line takes milliseconds and
    no recursion (``json.loads`` overflows near 1,000 levels, Arrow near 20,000)."""
    a = np.frombuffer(raw, dtype=np.uint8)
    if not len(a):
        return 0
    backslash = a == 92
    idx = np.arange(len(a))
    # a quote is escaped by an odd run of backslashes right before it
    last_plain = np.maximum.accumulate(np.where(backslash, -1, idx))
    run = idx - 1 - np.concatenate(([-1], last_plain[:-1]))
    quote = (a == 34) & (run % 2 == 0)
    inside = np.cumsum(quote) % 2 == 1
    step = (((a == 91) | (a == 123)) & ~inside).astype(np.int64)
    step -= (((a == 93) | (a == 125)) & ~inside).astype(np.int64)
    return int(max(0, np.cumsum(step).max()))


def _is_json(path: str) -> bool:
    return strip_compression(path.lower()).endswith(".json")


def _document_items(src: JsonlSource, path: str,
                    rejects: RejectSink) -> Iterator[tuple[int, Any]] | None:
    """(number, item) of a ``.json`` file that is one JSON document, else None (JSON lines).

    A top-level array gives its items; an object gives the items of its one array of
    objects, or is itself the one record (pretty-printed over many lines). A document with
    several such arrays is one reject (which array holds the records is not ours to guess).
    """
    with src.open(path) as fh:
        head = fh.read(64 << 10).lstrip()
    if head[:1] == b"[":
        return _items(src, path, "item")
    if head[:1] != b"{":
        return None
    arrays, whole = _top_level(src, path)
    if not whole:  # more than one JSON value (JSON lines), or malformed: line by line
        return None
    if len(arrays) > 1:
        rejects.add(reason="ambiguous_json_document", source=src.name, locator=src.uri(path),
                    detail=f"several arrays of records: {', '.join(arrays)}; convert the one "
                    "you want to JSON lines")
        return iter(())
    if arrays:
        return _items(src, path, f"{arrays[0]}.item")
    return _items(src, path, "")


def _items(src: JsonlSource, path: str, prefix: str) -> Iterator[tuple[int, Any]]:
    import ijson

    with src.open(path) as fh:
        yield from enumerate(ijson.items(fh, prefix, use_float=True), start=1)


def _top_level(src: JsonlSource, path: str) -> tuple[list[str], bool | None]:
    """Keys of a top-level object whose values are arrays of objects, and whether the file is
    one JSON value (False: another value follows, as in JSON lines; None: malformed)."""
    import ijson

    arrays: list[str] = []
    key: str | None = None
    depth = 0
    try:
        with src.open(path) as fh:
            events = ijson.parse(fh, multiple_values=True)
            for prefix, event, value in events:
                if event == "map_key" and depth == 1:
                    key = value
                elif event in ("start_map", "start_array"):
                    depth += 1
                    if (event == "start_map" and depth == 3 and key is not None
                            and prefix == f"{key}.item" and key not in arrays):
                        arrays.append(key)
                elif event in ("end_map", "end_array"):
                    depth -= 1
                    if depth == 0:
                        break
            # Anything but whitespace after the first value: JSON lines, not a document.
            if next(events, None) is not None:
                return arrays, False
    except ijson.common.IncompleteJSONError:
        return arrays, None
    return arrays, True


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


def _item_problem(item: Any, max_depth: int) -> tuple[str, str] | None:
    """Why an item of a JSON document cannot be a record: not an object, or too deep
    (measured without recursion: ``json.dumps`` itself overflows near 1,000 levels)."""
    if not isinstance(item, dict):
        return "not_an_object", f"a {type(item).__name__}"
    stack: list[tuple[Any, int]] = [(item, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return "too_deep", f"nested over --max-depth {max_depth} levels"
        children = value.values() if isinstance(value, dict) else value
        stack.extend((v, depth + 1) for v in children if isinstance(v, (dict, list)))
    return None
