"""Plain text: one record per file (``--format text``) or per line (``--format lines``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from curata_ingest.sources._base import (
    BATCH_ROWS,
    RAW_LIMIT,
    FileSource,
    ProgressFn,
    RejectSink,
    rows_locators,
    with_locator,
)
from curata_ingest.sources.jsonl import read_blocks

_TEXT_EXTENSIONS = (".txt", ".text", ".md", ".rst")


class TextSource(FileSource):
    """One record per file: column ``text`` (the file's path is its locator; ``path_column``
    adds the path relative to the ingested folder as content). Invalid UTF-8 or empty →
    reject."""

    format = "text"
    extensions = _TEXT_EXTENSIONS
    per_file = True
    options = ("encoding",)

    def __init__(self, spec: str, *, encoding: str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.encoding = encoding or "utf-8"

    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        texts: list[str] = []
        paths: list[str] = []
        for path in self.files():
            uri = self.uri(path)
            if self.too_large(path, rejects):
                continue
            with self.open(path) as fh:
                raw = fh.read(self.max_record_size + 1)  # a .gz may unpack to much more
            if len(raw) > self.max_record_size:
                rejects.add(reason="record_too_large", source=self.name, locator=uri,
                            raw=raw[:RAW_LIMIT], detail=f"over --max-record-size "
                            f"{self.max_record_size} bytes (decompressed)")
                continue
            if progress:
                progress(len(raw))
            text = _decode(raw, self.name, uri, rejects, self.encoding)
            if text is None:
                continue
            texts.append(text)
            paths.append(path)
            if len(texts) >= BATCH_ROWS or sum(map(len, texts)) > 64 << 20:
                yield self._batch(texts, paths)
                texts, paths = [], []
        if texts:
            yield self._batch(texts, paths)

    def _batch(self, texts: list[str], paths: list[str]) -> pa.RecordBatch:
        columns = {"text": pa.array(texts, pa.string())}
        if self.path_column:
            columns[self.path_column] = pa.array([self.relative(p) for p in paths], pa.string())
        locators = pa.array([self.uri(p) for p in paths], pa.string())
        return with_locator(pa.RecordBatch.from_pydict(columns), locators)


def _decode(raw: bytes, source: str, locator: str, rejects: RejectSink,
            encoding: str = "utf-8") -> str | None:
    if not raw.strip():
        rejects.add(reason="empty_file", source=source, locator=locator, raw=raw)
        return None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        reason = "invalid_utf8" if encoding.replace("-", "").lower() == "utf8" else "undecodable"
        rejects.add(reason=reason, source=source, locator=locator, raw=raw, detail=str(exc))
        return None


class LinesSource(FileSource):
    """One record per non-blank line: column ``text``; locator ``file:line``."""

    format = "lines"
    extensions = _TEXT_EXTENSIONS
    options = ("encoding",)

    def __init__(self, spec: str, *, encoding: str | None = None, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.encoding = encoding or "utf-8"

    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        for path in self.files():
            uri = self.uri(path)
            line_no = 0
            seen = False
            with self.open(path) as fh:
                for block in read_blocks(fh, progress):
                    lines = block.split(b"\n")
                    if block.endswith(b"\n"):
                        lines.pop()
                    texts, numbers = [], []
                    for line in lines:
                        line_no += 1
                        line = line.rstrip(b"\r")
                        if not line.strip():
                            continue
                        text = _decode(line, self.name, f"{uri}:{line_no}", rejects,
                                       self.encoding)
                        if text is not None:
                            texts.append(text)
                            numbers.append(line_no)
                    seen = seen or bool(texts)
                    for i in range(0, len(texts), BATCH_ROWS * 8):
                        part = slice(i, i + BATCH_ROWS * 8)
                        batch = pa.RecordBatch.from_pydict(
                            {"text": pa.array(texts[part], pa.string())}
                        )
                        yield with_locator(batch, rows_locators(f"{uri}:", numbers[part]))
            if not seen and line_no == 0:
                rejects.add(reason="empty_file", source=self.name, locator=uri)
