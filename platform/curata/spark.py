"""Spark reads pinned snapshots: ``spark.read.format("curata").load("NAME@TAG")``.

A PySpark 4 Python data source (``pyspark.sql.datasource``). On the driver, the ref is
resolved in the catalog once, when the DataFrame is loaded, and the Parquet files of that one
Delta version are listed from the Delta log: one Spark partition per file. Executors read
their file with pyarrow, so a DataFrame holds exactly the rows and system columns of
``curata.load(ref).to_arrow()``, whatever was written after it. A missing, moved or resized
file fails the job with ``SnapshotDataError`` (exit 4, naming the file and ``curata verify``),
never a short read.

Example:
    >>> import curata.spark
    >>> curata.spark.register(spark)
    >>> df = (spark.read.format("curata")
    ...       .option("columns", "text,_license")
    ...       .option("expect_fingerprint", "9f2c41")
    ...       .load("reviews@v3"))

Where the catalog is: the options ``home``, ``catalog_url`` and ``warehouse``, else the
environment Spark's driver was started with (``CURATA_HOME``, ``CURATA_CATALOG_URL``,
``CURATA_WAREHOUSE``, ``CURATA_STORAGE_OPTIONS``). Only the warehouse URI, the version and file
names reach the executors: Spark pickles the data source and its options into every task, so a
catalog URL with a password is refused as an option, and object-store credentials stay in the
executors' environment (``AWS_*`` ...). Errors raised in Spark's Python workers reach the
driver wrapped in Spark's exceptions; :func:`curata_errors` turns them back into Curata's.

Needs ``pip install 'curata[spark]'`` (PySpark 4) on the driver and the executors, and Java 17
or later.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from curata.catalog import connect
from curata.errors import CurataError, SnapshotDataError, UsageError
from curata.snapshot import Snapshot
from curata.storage import filesystem, join_uri

try:
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
    from pyspark.sql.types import StructType
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError(
        "curata.spark needs PySpark 4: pip install 'curata[spark]' (and Java 17+)") from exc

__all__ = ["FORMAT", "OPTIONS", "CurataDataSource", "curata_errors", "register"]

FORMAT = "curata"
OPTIONS = ("path", "columns", "expect_fingerprint", "batch_size", "home", "catalog_url", "warehouse")
DEFAULT_BATCH_ROWS = 4096  # rows per Arrow batch handed to Spark (bounded for image columns)
_NOTE = "curata-error: "
_SECRET_WORDS = ("key", "secret", "token", "password", "credential", "session")


def register(spark: Any) -> None:
    """Make ``spark.read.format("curata")`` read Curata snapshots in this Spark session.

    Example:
        >>> curata.spark.register(spark)
        >>> spark.read.format("curata").load("reviews@v3").count()
    """
    spark.dataSource.register(CurataDataSource)


@contextmanager
def curata_errors() -> Iterator[None]:
    """Re-raise the Curata error behind a Spark exception, with its fields (``ref``, ``path``,
    ``exit_code`` ...), chained to the Spark exception; other errors pass unchanged.

    Example:
        >>> with curata.spark.curata_errors():
        ...     spark.read.format("curata").load("reviews@v3").count()
    """
    try:
        yield
    except CurataError:
        raise
    except Exception as exc:
        carried = _carried_error(exc)
        if carried is None:
            raise
        raise carried from exc


# --- the data source -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pinned:
    """What the driver resolved once; pickled into every task, so it holds no secret."""

    ref: str  # resolves to exactly this version (its tag, or NAME@VERSION)
    dataset: str
    version: int
    fingerprint: str
    num_rows: int
    table_uri: str
    table_schema: pa.Schema  # the version's full schema (older files may lack columns)
    columns: tuple[str, ...]  # what the DataFrame shows, in this order
    batch_rows: int
    storage_options: dict[str, str]  # non-secret ones; credentials: the executor's environment


@dataclass(frozen=True, kw_only=True)
class FilePartition(InputPartition):
    """One Parquet file of the pinned version, as the Delta log records it."""

    path: str  # relative to the table, as in the Delta log
    size: int | None
    num_rows: int | None


class CurataDataSource(DataSource):
    """The ``curata`` format: options ``path`` (the ref, given to ``load()``), ``columns``
    (comma-separated or a JSON list), ``expect_fingerprint`` (a hex prefix), ``batch_size``
    (rows per Arrow batch), and ``home`` / ``catalog_url`` / ``warehouse`` for the catalog."""

    @classmethod
    def name(cls) -> str:
        return FORMAT

    def schema(self) -> StructType:
        pinned = self._pinned()
        return from_arrow_schema(_pruned(pinned.table_schema, pinned.columns),
                                 prefer_timestamp_ntz=True)

    def reader(self, schema: StructType) -> CurataReader:
        return CurataReader(self._pinned(), schema)

    def _pinned(self) -> _Pinned:
        # Resolved once, in schema() on the driver; the instance (this field included) is what
        # Spark pickles into the plan, so every action reads the same version.
        pinned = self.__dict__.get("_pinned_snapshot")
        if pinned is None:
            with _carrying():
                pinned = _pin({str(k).lower(): v for k, v in self.options.items()})
            self._pinned_snapshot = pinned
        return pinned


class CurataReader(DataSourceReader):
    """Lists the pinned version's files on the driver; reads one file per task."""

    def __init__(self, pinned: _Pinned, schema: StructType) -> None:
        with _carrying():
            names = tuple(schema.fieldNames())
            _check_columns(pinned, names)
        self.pinned = pinned
        self.columns = names
        self.arrow_schema = _spark_arrow_schema(schema)

    def partitions(self) -> list[InputPartition]:
        with _carrying():
            return [FilePartition(path=f["path"], size=f["size"], num_rows=f["num_rows"])
                    for f in _snapshot(self.pinned).files()]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        if not isinstance(partition, FilePartition):  # a version without files: Spark's stand-in
            return
        with _carrying():
            for batch in _read_file(self.pinned, partition, self.columns):
                yield batch.cast(self.arrow_schema)


# --- driver side: resolve the ref once -----------------------------------------------------------


def _pin(options: Mapping[str, str]) -> _Pinned:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UsageError(f"Unknown option(s) {unknown} for format {FORMAT!r}",
                         hint=f"Valid options: {', '.join(OPTIONS)}")
    ref = options.get("path")
    if not ref:
        raise UsageError("No snapshot ref to read",
                         hint=f'Call spark.read.format("{FORMAT}").load("NAME@TAG")')
    url = options.get("catalog_url")
    if url and _has_password(url):
        raise UsageError(
            "The catalog_url option carries a password, and Spark ships options to every executor",
            hint="Set CURATA_CATALOG_URL in the Spark driver's environment instead (or PGPASSWORD)")

    cat = connect(options.get("home"), url, options.get("warehouse"))
    try:
        snap = cat.snapshot(ref, expect_fingerprint=options.get("expect_fingerprint") or None)
        table_schema = snap.schema
    finally:
        cat.engine.dispose()
    pinned = _Pinned(
        ref=snap.ref, dataset=snap.dataset, version=snap.version, fingerprint=snap.fingerprint,
        num_rows=snap.num_rows, table_uri=snap.table_uri, table_schema=table_schema,
        columns=tuple(table_schema.names), batch_rows=_batch_rows(options.get("batch_size")),
        storage_options={k: v for k, v in (snap.storage_options or {}).items()
                         if not _is_secret(k)},
    )
    columns = _parse_columns(options.get("columns"))
    if columns is None:
        return pinned
    _check_columns(pinned, columns)
    return replace(pinned, columns=columns)


def _parse_columns(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    text = value.strip()
    try:
        names = json.loads(text) if text.startswith("[") else [c.strip() for c in text.split(",")]
    except json.JSONDecodeError as exc:
        raise UsageError(f"Option columns={value!r} is not a JSON list: {exc}") from None
    if not names or not all(isinstance(n, str) and n for n in names) or len(set(names)) < len(names):
        raise UsageError(f"Option columns={value!r} must name distinct columns",
                         hint='Pass a comma-separated list ("text,_license") or a JSON list')
    return tuple(names)


def _check_columns(pinned: _Pinned, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in pinned.table_schema.names]
    if missing:
        raise UsageError(
            f"Snapshot {pinned.ref!r} has no column(s) {missing} "
            f"(columns: {', '.join(pinned.table_schema.names)})",
            hint=f"Run `curata show {pinned.ref}` to see its schema")


def _batch_rows(value: str | None) -> int:
    if value is None:
        return DEFAULT_BATCH_ROWS
    try:
        rows = int(value)
    except ValueError:
        rows = 0
    if rows <= 0:
        raise UsageError(f"Option batch_size={value!r} must be a positive number of rows")
    return rows


def _spark_arrow_schema(schema: StructType) -> pa.Schema:
    """The Arrow schema Spark checks the batches of a Python data source against: its own
    conversion, with timestamps in UTC (the keyword changed within PySpark 4)."""
    import inspect

    if "timezone" in inspect.signature(to_arrow_schema).parameters:
        return to_arrow_schema(schema, timezone="UTC")
    return to_arrow_schema(schema)  # older PySpark 4: timestamp_utc=True by default


def _pruned(schema: pa.Schema, columns: tuple[str, ...]) -> pa.Schema:
    return pa.schema([schema.field(c) for c in columns])


def _has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).password is not None
    except Exception:  # not a URL SQLAlchemy parses: judge by its shape
        return bool(re.search(r"://[^/@]*:[^/@]*@", url))


def _is_secret(key: str) -> bool:
    return any(word in key.lower() for word in _SECRET_WORDS)


# --- executor side: one Parquet file ------------------------------------------------------------


def _snapshot(pinned: _Pinned) -> Any:
    return Snapshot(dataset=pinned.dataset, version=pinned.version,
                    fingerprint=pinned.fingerprint, num_rows=pinned.num_rows,
                    table_uri=pinned.table_uri, storage_options=_storage_options(pinned) or None)


def _storage_options(pinned: _Pinned) -> dict[str, str]:
    """The shipped (non-secret) options, completed by this process's ``CURATA_STORAGE_OPTIONS``."""
    here = json.loads(os.environ.get("CURATA_STORAGE_OPTIONS") or "{}")
    return {**pinned.storage_options, **here}


def _read_file(pinned: _Pinned, part: FilePartition, columns: tuple[str, ...],
               ) -> Iterator[pa.RecordBatch]:
    """The file's batches, after checking it is the file the Delta log names (there, same
    size) and before checking it held the rows the log records."""
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs

    fs, root = filesystem(pinned.table_uri, _storage_options(pinned))
    path = join_uri(root, _unquote(part.path))
    where = join_uri(pinned.table_uri, part.path)

    def broken(reason: str) -> SnapshotDataError:
        return SnapshotDataError(pinned.ref, reason=reason, path=where)

    rows = 0
    try:
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            raise broken(f"the data file of version {pinned.version} is missing "
                         "(moved or deleted)")
        if part.size is not None and info.size != part.size:
            raise broken(f"the data file has {info.size} bytes; the Delta log of version "
                         f"{pinned.version} records {part.size}")
        files = pads.dataset([path], schema=pinned.table_schema, format="parquet", filesystem=fs)
        for batch in files.to_batches(columns=list(columns), batch_size=pinned.batch_rows):
            rows += batch.num_rows
            yield batch
    except (OSError, pa.ArrowException) as exc:
        raise broken(f"{type(exc).__name__}: {exc}") from exc
    if part.num_rows is not None and rows != part.num_rows:
        raise broken(f"the data file held {rows} rows; the Delta log of version "
                     f"{pinned.version} records {part.num_rows}")


def _unquote(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path)


# --- Curata errors across Spark's process boundary -----------------------------------------------


@contextmanager
def _carrying() -> Iterator[None]:
    """In Spark's Python workers: note a Curata error's class and arguments on it, so that
    the driver, which gets only the traceback's text, can rebuild it (:func:`curata_errors`)."""
    try:
        yield
    except CurataError as exc:
        if not any(n.startswith(_NOTE) for n in getattr(exc, "__notes__", ())):
            args, kw = vars(exc).get("_made_with", ((exc.message,), {"hint": exc.hint}))
            cls = type(exc)
            # Arguments that are not JSON: the text alone travels.
            with suppress(TypeError, ValueError):
                exc.add_note(_NOTE + json.dumps({"module": cls.__module__, "class": cls.__qualname__,
                                                 "args": list(args), "kwargs": kw}))
        raise


_CARRIED = re.compile(r"^" + re.escape(_NOTE) + r"(\{.*\})\s*$", re.M)


def _carried_error(exc: BaseException) -> CurataError | None:
    """The Curata error noted in a Spark exception's text (the last one), rebuilt."""
    found = _CARRIED.findall(str(exc))
    if not found:
        return None
    try:
        spec = json.loads(found[-1])
        module = spec["module"]
        if module != "curata" and not module.startswith("curata."):
            return None
        cls = getattr(importlib.import_module(module), spec["class"])
        if not (isinstance(cls, type) and issubclass(cls, CurataError)):
            return None
        return cls(*spec["args"], **spec["kwargs"])
    except Exception:  # a note this version of Curata cannot rebuild: keep Spark's exception
        return None
