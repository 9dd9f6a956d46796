"""What every source shares: artifacts, rejects, opening fsspec URIs, batch sizing.

A *source* turns one user-given spec (a path, glob, URI or SQL URL) into a stream of Arrow
record batches. Every batch carries a ``_locator`` string column saying where each row came
from (``file:line``, ``tar:member``, ``table#row=N`` ...). Input that cannot become a row is
never dropped silently: it goes to a :class:`RejectSink` with a reason, locator and raw bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import posixpath
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

import fsspec
import pyarrow as pa
from curata.errors import (
    CorruptInputError,
    SourceError,
    SourceNotFoundError,
    UnsupportedFormatError,
    UsageError,
)

#: Rows per emitted batch for row-oriented sources (SQL, images, tar shards).
BATCH_ROWS = 8192
#: Bytes read per block for byte-oriented sources (JSONL, text lines); bounds memory.
BLOCK_BYTES = 8 << 20
#: Raw bytes kept per reject; enough to diagnose, small enough to never blow up the table.
RAW_LIMIT = 64 << 10
LOCATOR = "_locator"

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

ProgressFn = Callable[[int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    """One input file (or table) of a source, recognised on re-runs by its sha256."""

    uri: str
    size: int | None
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject:
    """Input that could not become a record, kept with where it came from."""

    reason: str
    source: str
    locator: str
    raw: bytes
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """An input file a source did not take, and why (counted and listed in the report)."""

    path: str
    reason: str
    detail: str = ""


FollowSymlinks = str  # "inside" (default): links resolving inside the ingested folder; "all"


REJECT_SCHEMA = pa.schema(
    [
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("source", pa.string()),
        ("locator", pa.string()),
        ("raw", pa.binary()),
        ("raw_truncated", pa.bool_()),
    ]
)


@dataclass(slots=True)
class RejectSink:
    """Collects rejects; raw bytes are capped at ``raw_limit`` per reject.

    With ``spill_dir`` set, rejects beyond ``SPILL_ROWS`` are spilled to a local Parquet file
    so a corpus that is mostly bad input cannot exhaust memory.
    """

    raw_limit: int = RAW_LIMIT
    spill_dir: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    total: int = 0
    _spilled: str | None = None
    _writer: Any = None

    SPILL_ROWS: ClassVar[int] = 10_000

    def add(
        self, *, reason: str, source: str, locator: str, raw: bytes | str = b"", detail: str = "",
        truncated: bool = False,
    ) -> None:
        """``truncated``: ``raw`` was already cut to the limit elsewhere (a Ray task's sink)."""
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
        self.rows.append(
            {
                "reason": reason,
                "detail": detail[:2000],
                "source": source,
                "locator": locator,
                "raw": data[: self.raw_limit],
                "raw_truncated": truncated or len(data) > self.raw_limit,
            }
        )
        self.counts[reason] += 1
        self.total += 1
        if self.spill_dir is not None and len(self.rows) >= self.SPILL_ROWS:
            self._spill()

    def _spill(self) -> None:
        import os
        import tempfile

        import pyarrow.parquet as pq

        if self._writer is None:
            fd, self._spilled = tempfile.mkstemp(suffix=".parquet", dir=self.spill_dir)
            os.close(fd)
            self._writer = pq.ParquetWriter(self._spilled, REJECT_SCHEMA)
        self._writer.write_table(pa.Table.from_pylist(self.rows, schema=REJECT_SCHEMA))
        self.rows = []

    def __len__(self) -> int:
        return self.total

    def tables(self) -> Iterator[pa.Table]:
        """All rejects as Arrow tables (spilled ones first), in the order they were added."""
        import pyarrow.parquet as pq

        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._spilled is not None:
            for batch in pq.ParquetFile(self._spilled).iter_batches():
                yield pa.Table.from_batches([batch])
        if self.rows:
            yield pa.Table.from_pylist(self.rows, schema=REJECT_SCHEMA)

    def to_table(self) -> pa.Table:
        tables = list(self.tables())
        return pa.concat_tables(tables) if tables else REJECT_SCHEMA.empty_table()


class Source(ABC):
    """A spec resolved to readable input. Subclasses implement :meth:`batches`.

    Attributes:
        spec: what the user passed (shown in messages and recorded as the source URI).
        name: the source id written to ``_source`` (``--source-name`` or the spec).
    """

    format: ClassVar[str]
    # One record per file: the file's path is provenance (`_provenance.locator`), never
    # content, unless the user asks for it as a column (`--path-column`).
    per_file: ClassVar[bool] = False
    # Reader options this format takes (`--delimiter`, `--encoding`), as keyword arguments.
    options: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        spec: str,
        *,
        name: str | None = None,
        storage_options: dict[str, Any] | None = None,
        path_column: str | None = None,
        follow_symlinks: FollowSymlinks = "inside",
        skipped: list[Skipped] | None = None,
    ) -> None:
        self.spec = spec
        self.name = name or spec
        self.storage_options = dict(storage_options or {})
        if follow_symlinks not in ("inside", "all"):
            raise UsageError(f"--follow-symlinks {follow_symlinks!r} (valid: inside, all)")
        self.follow_symlinks = follow_symlinks
        # Input files found but not taken, with the reason (reported, never silent).
        self.skipped: list[Skipped] = list(skipped or [])
        if path_column is not None and not self.per_file:
            raise UsageError(
                f"--path-column applies to sources of one record per file (text, "
                f"imagefolder), not {self.format}; the file of every record is in "
                "_provenance.locator"
            )
        if path_column is not None and (not path_column or path_column.startswith("_")):
            raise UsageError(f"--path-column {path_column!r}: a column name not starting with _")
        self.path_column = path_column

    @abstractmethod
    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Yield record batches with a ``_locator`` column; send bad input to ``rejects``."""

    @abstractmethod
    def artifacts(self) -> list[Artifact]:
        """The input artifacts with their sha256, hashed by streaming (bounded memory)."""

    def total_bytes(self) -> int | None:
        """Input size in bytes when known (drives the progress bar's ETA)."""
        sizes = [a.size for a in self.artifacts()]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s)

    @property
    def location(self) -> str:
        """Where the source lives, as recorded in ``_provenance.uri`` and the catalog."""
        return self.spec

    def error(self, reason: str) -> SourceError:
        return SourceError(self.spec, reason=reason)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


class FileSource(Source):
    """A source made of files matched by a path, directory or glob on any fsspec filesystem."""

    extensions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, spec: str, *, files: list[str] | None = None, all_files: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.fs, _ = fsspec.core.url_to_fs(spec, **self.storage_options)
        self._files = files
        # The user named the format (`--format text`): every regular file in a folder is
        # input, whatever its extension (Debian's license texts have none).
        self.all_files = all_files
        self._artifacts: list[Artifact] | None = None
        self._read: dict[str, Artifact] = {}  # hashed while a reader went through them

    def files(self) -> list[str]:
        if self._files is None:
            self._files = expand(self.fs, self.spec, () if self.all_files else self.extensions,
                                 follow_symlinks=self.follow_symlinks, skipped=self.skipped)
            if not self._files and self.skipped:
                reasons = sorted({s.reason for s in self.skipped})
                raise UnsupportedFormatError(
                    self.spec, reason=f"no {self.format} file to read ({len(self.skipped)} "
                    f"skipped: {', '.join(reasons)})", valid=[self.format])
            if not self._files:
                raise SourceNotFoundError(self.spec, reason="no files match")
        return self._files

    @property
    def location(self) -> str:
        # Local paths are made absolute: a relative path means nothing once recorded.
        if _protocol(self.fs) == "file" and "://" not in self.spec:
            return os.path.abspath(self.spec)
        return self.spec

    def root(self) -> str:
        """The folder the spec names (a glob's fixed prefix, a file's folder)."""
        path = self.fs._strip_protocol(self.spec)
        if any(ch in path for ch in "*?["):
            path = path.split("*")[0].split("?")[0].split("[")[0]
        return path.rstrip("/") if self.fs.isdir(path) else posixpath.dirname(path)

    def relative(self, path: str) -> str:
        """``path`` relative to :meth:`root` (what ``--path-column`` stores)."""
        root = self.root()
        return posixpath.relpath(path, root) if root else path

    def uri(self, path: str) -> str:
        """A path as a full URI (keeps ``s3://`` so locators stay unambiguous)."""
        return self.fs.unstrip_protocol(path) if _protocol(self.fs) != "file" else path

    def artifacts(self) -> list[Artifact]:
        if self._artifacts is None:
            self._artifacts = [self._read.get(path) or self._hash(path) for path in self.files()]
        return self._artifacts

    def total_bytes(self) -> int | None:
        try:
            return sum(int(self.fs.size(path)) for path in self.files())
        except (OSError, TypeError):
            return None

    def _hash(self, path: str) -> Artifact:
        digest = hashlib.sha256()
        size = 0
        try:
            with self.fs.open(path, "rb") as fh:
                while chunk := fh.read(8 << 20):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise SourceError(self.uri(path), reason=f"{type(exc).__name__}: {exc}") from exc
        return Artifact(uri=self.uri(path), size=size, sha256=digest.hexdigest())

    def open(self, path: str) -> IO[bytes]:
        """Open ``path`` for reading, transparently decompressing gzip and zstd."""
        try:
            raw = self.fs.open(path, "rb")
        except OSError as exc:
            raise SourceError(self.uri(path), reason=f"{type(exc).__name__}: {exc}") from exc
        if self._artifacts is None and path not in self._read:
            raw = _HashingReader(raw, lambda size, digest: self._read.__setitem__(
                path, Artifact(uri=self.uri(path), size=size, sha256=digest)))
        return decompressed(raw, path)


def _protocol(fs: fsspec.AbstractFileSystem) -> str:
    proto = fs.protocol
    return proto[0] if isinstance(proto, (tuple, list)) else proto


class _HashingReader(io.RawIOBase):
    """Computes the sha256 of a file as a reader goes through it, so recording a source's
    artifacts costs no second pass over the input. Bytes are hashed once even when the reader
    seeks back (magic-byte sniffing); a reader that skips ahead or stops early gets no
    digest, and ``artifacts()`` hashes that file separately."""

    def __init__(self, raw: Any, done: Callable[[int, str], None]) -> None:
        self.raw, self.done = raw, done
        self.digest = hashlib.sha256()
        self.pos = self.hashed = 0
        self.valid = True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self.raw.read(-1 if size is None else size)
        self._account(data, whole=size is None or size < 0)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self._account(data, whole=not len(buffer))
        return len(data)

    def _account(self, data: bytes, *, whole: bool) -> None:
        n = len(data)
        if self.valid and self.pos + n > self.hashed:
            self.digest.update(data[self.hashed - self.pos :])
            self.hashed = self.pos + n
        self.pos += n
        if self.valid and (n == 0 or whole):  # end of file: the digest is complete
            self.done(self.hashed, self.digest.hexdigest())
            self.valid = False  # reported once

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = self.raw.seek(offset, whence)
        if self.pos > self.hashed:
            self.valid = False
        return self.pos

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        self.raw.close()
        super().close()


def decompressed(raw: IO[bytes], path: str) -> IO[bytes]:
    """Wrap ``raw`` in a streaming decompressor chosen by magic bytes (extension as fallback).
    A truncated or corrupt stream raises ``CorruptInputError`` naming the file and the
    compressed byte offset (it once surfaced as a bare "Aborted.")."""
    head = raw.read(4)
    raw.seek(0)
    if head[:2] == _GZIP_MAGIC or path.endswith(".gz"):
        gz = gzip.GzipFile(fileobj=raw, mode="rb")
        return _Checked(gz, raw, path, "gzip")  # type: ignore[return-value]
    if head == _ZSTD_MAGIC or path.endswith(".zst"):
        reader = _ZstdReader(raw)
        buffered = io.BufferedReader(reader, buffer_size=1 << 20)
        return _Checked(buffered, raw, path, "zstd")  # type: ignore[return-value]
    return raw


class _ZstdReader(io.RawIOBase):
    """Streaming zstd decompression that notices a truncated frame.

    ``zstandard``'s ``stream_reader`` ends quietly where a truncated file ends (half a file,
    exit 0); a ``decompressobj`` says whether its frame was complete (``eof``). Hand-written
    for that one check; frames follow one another as in ``zstd -d``.
    """

    def __init__(self, raw: Any) -> None:
        import zstandard

        self.raw = raw
        self._new = zstandard.ZstdDecompressor().decompressobj
        self.dobj = self._new()
        self.pending = b""
        self.started = False  # the current frame has input

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            chunk = self.raw.read(1 << 20)
            if not chunk:
                if self.started and not self.dobj.eof:
                    raise EOFError("the zstd frame ends before its end marker (truncated)")
                return 0
            self._feed(chunk)
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def _feed(self, chunk: bytes) -> None:
        while chunk:
            self.started = True
            self.pending += self.dobj.decompress(chunk)
            if not self.dobj.eof:
                return
            chunk = self.dobj.unused_data  # the next frame starts here
            self.dobj, self.started = self._new(), False

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Checked(io.RawIOBase):
    """A decompressed stream whose decoding errors name the file and the offset reached."""

    def __init__(self, inner: Any, raw: Any, path: str, kind: str) -> None:
        self.inner, self.raw, self.path, self.kind = inner, raw, path, kind

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self.inner.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._guard(self.inner.seek, offset, whence))

    def tell(self) -> int:
        return int(self.inner.tell())

    def read(self, size: int | None = -1) -> bytes:
        return bytes(self._guard(self.inner.read, -1 if size is None else size))

    def readinto(self, buffer: Any) -> int:
        data = self._guard(self.inner.read, len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _guard(self, call: Any, *args: Any) -> Any:
        import zlib

        try:
            return call(*args)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise self._corrupt(exc) from exc
        except Exception as exc:
            if type(exc).__name__ != "ZstdError":
                raise
            raise self._corrupt(exc) from exc

    def _corrupt(self, exc: BaseException) -> CorruptInputError:
        try:
            offset: int | None = int(self.raw.tell())
        except (OSError, ValueError):
            offset = None
        return CorruptInputError(self.path, offset=offset,
                                 reason=f"truncated or corrupt {self.kind} data ({exc})")

    def close(self) -> None:
        self.inner.close()
        super().close()


def strip_compression(path: str) -> str:
    for ext in (".gz", ".zst", ".zstd"):
        if path.endswith(ext):
            return path[: -len(ext)]
    return path


def expand(
    fs: fsspec.AbstractFileSystem,
    spec: str,
    extensions: tuple[str, ...] = (),
    *,
    follow_symlinks: FollowSymlinks = "inside",
    skipped: list[Skipped] | None = None,
) -> list[str]:
    """Expand a path, directory or glob to a sorted list of files.

    A name that exists is taken literally, even with ``[``, ``*`` or ``?`` in it; only a
    name that does not exist is a glob. Directories are walked recursively; every file found
    but not returned is appended to ``skipped`` with its reason: a hidden file, another format
    than ``extensions`` (when given), a symbolic link resolving outside the folder (followed
    with ``follow_symlinks="all"``), a link loop, a broken link, a device or socket.

    Raises:
        SourceNotFoundError: nothing exists at ``spec``.
    """
    skipped = skipped if skipped is not None else []
    path = fs._strip_protocol(spec)
    local = _protocol(fs) == "file"
    if not fs.exists(path):
        if not any(ch in path for ch in "*?["):
            raise SourceNotFoundError(spec, reason="no such file or directory")
        if not local:
            return sorted(p for p in fs.glob(path) if fs.isfile(p))
        # Python's glob goes through symbolic links to folders (fsspec's does not: it lost
        # 42 of Debian's 825 /usr/share/doc/*/copyright files without a word).
        found = _glob_local(path, follow_symlinks, skipped)
    elif not fs.isdir(path):
        return [path]
    else:
        found = _walk_local(path, follow_symlinks, skipped) if local else sorted(fs.find(path))
    files = []
    for p in found:
        reason = _unwanted(p, extensions)
        if reason:
            skipped.append(Skipped(path=p, reason=reason))
        else:
            files.append(p)
    return files


def _unwanted(path: str, extensions: tuple[str, ...]) -> str | None:
    base = strip_compression(path.rsplit("/", 1)[-1].lower())
    if base.startswith("."):
        return "hidden_file"
    if extensions and not base.endswith(extensions):
        return "unsupported_format"
    return None


def _glob_local(pattern: str, follow: FollowSymlinks, skipped: list[Skipped]) -> list[str]:
    """Files matching a glob, and the files under folders it matches; the folder before the
    first wildcard is the root that symbolic links must stay inside."""
    import glob

    root = pattern.split("*")[0].split("?")[0].split("[")[0]
    root = root if root.endswith("/") else posixpath.dirname(root)
    top = os.path.realpath(root or ".")
    files: list[str] = []
    for match in sorted(glob.glob(pattern)):
        real = os.path.realpath(match)
        if follow != "all" and not (real == top or real.startswith(top + os.sep)):
            skipped.append(Skipped(path=match, reason="symlink_outside_root", detail=f"-> {real}"))
        elif os.path.isdir(real):
            files += _walk_local(match, follow, skipped, top=top)
        elif os.path.isfile(real):
            files.append(match)
        else:
            skipped.append(Skipped(path=match, reason="not_a_regular_file"))
    return files


def _walk_local(root: str, follow: FollowSymlinks, skipped: list[Skipped],
                top: str | None = None) -> list[str]:
    """Files under ``root``, following symbolic links that resolve inside ``top`` (default:
    ``root``; all of them with ``follow="all"``); a link to a folder being walked (a loop) is
    skipped, not followed."""
    top = top or os.path.realpath(root)
    files: list[str] = []

    def inside(real: str) -> bool:
        return real == top or real.startswith(top + os.sep)

    def walk(folder: str, ancestors: frozenset[str]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped(path=folder, reason="unreadable", detail=str(exc)))
            return
        for entry in entries:
            path = entry.path
            if entry.name.startswith("."):
                skipped.append(Skipped(path=path, reason="hidden_file"))
                continue
            real = os.path.realpath(path)
            if entry.is_symlink():
                if not os.path.exists(real):
                    skipped.append(Skipped(path=path, reason="broken_symlink"))
                    continue
                if follow != "all" and not inside(real):
                    skipped.append(Skipped(path=path, reason="symlink_outside_root",
                                           detail=f"-> {real}"))
                    continue
            if os.path.isdir(real):
                if real in ancestors:
                    skipped.append(Skipped(path=path, reason="symlink_loop", detail=f"-> {real}"))
                else:
                    walk(path, ancestors | {real})
            elif os.path.isfile(real):
                files.append(path)
            else:
                skipped.append(Skipped(path=path, reason="not_a_regular_file"))

    walk(root.rstrip("/") or "/", frozenset({os.path.realpath(root)}))
    return files


def rows_locators(prefix: str, numbers: Any) -> pa.Array:
    """``PREFIX + N`` locators (e.g. ``data.jsonl:17``) for 1-based line or row numbers."""
    import pyarrow.compute as pc

    nums = pc.cast(pa.array(numbers, type=pa.int64()), pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), nums, "")


def with_locator(batch: pa.RecordBatch | pa.Table, locators: pa.Array) -> pa.RecordBatch:
    """Append the ``_locator`` column to a batch (replacing one the input may carry)."""
    if isinstance(batch, pa.Table):
        batch = (
            batch.combine_chunks().to_batches()[0]
            if batch.num_rows
            else pa.RecordBatch.from_pylist([], schema=batch.schema)
        )
    if LOCATOR in batch.schema.names:
        batch = batch.drop_columns([LOCATOR])
    return batch.append_column(LOCATOR, locators)
