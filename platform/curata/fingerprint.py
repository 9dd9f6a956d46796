"""Record and snapshot fingerprints (DESIGN.md §4).

**Record fingerprint** (``_id``): a 128-bit hash of a canonical, type-tagged encoding of a
row's content columns (those whose name does not start with ``_``). The encoding, spelled out
so that anyone can re-implement it (``tests/platform/_reference.py`` does, with a plain Python
loop and the ``xxhash`` package, and the tests check it and committed golden vectors):

* ``H(data, (s1, s2))`` is 16 bytes: big-endian XXH3-64 of ``data`` under seed ``s1``, then
  under seed ``s2``. Unseeded uses mean ``BASE_SEEDS``.
* each non-null cell hashes as ``H(canonical bytes, column_seeds(name, tag))`` where the seeds
  are the two halves of XXH3-128(``b"col\\0" + utf8(name) + b"\\0" + tag``); the ``tag`` names
  the logical type family (``str``, ``bin``, ``int``, ``float``, ``bool``, ``decimal``,
  ``date``, ``ts``, ``tstz``, ``time``, ``dur``, ``struct``, ``list``, ``map``), so ``"1"`` and
  ``1`` differ while ``int8`` and ``int64`` holding 1 agree;
* the row hash is ``H`` of the 16 big-endian bytes of the sum, modulo 2**128, of its cell
  hashes. The sum makes it independent of column order; the outer ``H`` keeps it non-linear
  (swapping cells between rows changes a snapshot). A null cell contributes nothing, so adding
  an all-null column (schema evolution) leaves existing fingerprints unchanged;
* canonical bytes: strings as UTF-8; binaries as is; integers as 16-byte little-endian two's
  complement; floats as IEEE-754 float64 little-endian with ``-0.0`` folded to ``0.0`` and a
  single NaN; booleans as one byte; decimals as their string form; dates as int64 days;
  timestamps/times/durations as int64 nanoseconds; a struct as the 16-byte row hash of its
  fields; a list as the concatenation of its elements' unseeded ``H`` (a null element as 16
  ``0xff`` bytes); a map as a list of ``{key, value}`` structs.

**Snapshot fingerprint**: SHA-256 over the scheme name, the canonical schema, the row count
and the sum modulo 2**128 of the row hashes over the *snapshot columns*. The sum makes it
independent of row order, file layout and chunking, yet sensitive to duplicates (a row counted
twice adds its hash twice). Schemes (``SCHEMES``; each catalog record names the one it used):

* ``curata-fp-2`` (current) is **content-defined**: the snapshot columns are all columns but
  ``_provenance`` — content, labels, ``_id``, ``_license`` and ``_source``. Provenance (source
  URI, locator, run id, retrieval time) is stored and covered by ``verify()`` through per-file
  byte hashes, but the same data rebuilt on another machine, warehouse or engine has the same
  fingerprint (``docs/fingerprints.md``).
* ``curata-fp-1`` hashed every column, ``_provenance`` included, so two ingests of the same data
  differed. Kept so that versions recorded under it still verify; ``curata db upgrade``
  re-fingerprints them.

Everything is vectorised with Arrow compute and ``polars-hash`` (Rust XXH3); there is no
Python loop per row. Hand-written because no library offers a stable, type-tagged,
layout-independent table hash (HF ``datasets`` hashes pickles; Delta has none).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curata.errors import FingerprintError

FINGERPRINT_VERSION = "curata-fp-2"
# Columns left out of a snapshot's row hashes, per scheme (the record fingerprint `_id` covers
# content columns only, in every scheme).
SCHEMES: dict[str, tuple[str, ...]] = {
    "curata-fp-1": (),
    "curata-fp-2": ("_provenance",),
}
_MASK64 = (1 << 64) - 1
_NULL_ELEMENT = b"\xff" * 16
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


# --- type tags ----------------------------------------------------------------------------------


def type_tag(t: pa.DataType) -> str:
    """The logical type family of an Arrow type, as used in the canonical encoding."""
    if pa.types.is_dictionary(t):
        return type_tag(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "str"
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    ):
        return "bin"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "tstz" if t.tz else "ts"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_duration(t):
        return "dur"
    if pa.types.is_struct(t):
        return "struct"
    if pa.types.is_map(t):
        return "map"
    if (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    ):
        return "list"
    if pa.types.is_null(t):
        return "null"
    raise FingerprintError("?", type=str(t), reason="no canonical encoding for this Arrow type")


def canonical_type(t: pa.DataType) -> object:
    """A JSON-able, layout-independent description of a type (used in the schema hash)."""
    tag = type_tag(t)
    if pa.types.is_dictionary(t):
        t = t.value_type
    if tag == "struct":
        return {"struct": sorted([[f.name, canonical_type(f.type)] for f in t])}
    if tag == "map":
        return {"map": [canonical_type(t.key_type), canonical_type(t.item_type)]}
    if tag == "list":
        return {"list": canonical_type(t.value_type)}
    return tag


def schema_digest(schema: pa.Schema) -> str:
    """Canonical JSON of a schema: sorted names with their logical types."""
    items = sorted([f.name, canonical_type(f.type)] for f in schema)
    return json.dumps(items, separators=(",", ":"), sort_keys=True)


def _digest(data: bytes) -> bytes:
    import xxhash

    return xxhash.xxh3_128_digest(data)


def column_key(name: str, tag: str) -> bytes:
    return _digest(b"col\0" + name.encode() + b"\0" + tag.encode())


# --- vectorised hashing --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _U128:
    """A column of 128-bit hashes as two uint64 numpy arrays plus a validity mask."""

    hi: np.ndarray
    lo: np.ndarray
    valid: np.ndarray

    def pack(self) -> pa.Array:
        """16-byte big-endian values as fixed_size_binary(16) (nulls stay null)."""
        buf = np.empty((len(self.hi), 2), dtype=">u8")
        buf[:, 0] = self.hi
        buf[:, 1] = self.lo
        out = pa.FixedSizeBinaryArray.from_buffers(  # wraps the numpy buffer, no copy
            pa.binary(16), len(self.hi), [None, pa.py_buffer(buf)]
        )
        if not self.valid.all():
            out = pc.if_else(pa.array(~self.valid), pa.scalar(None, pa.binary(16)), out)
        return out


# Seeds of the two 64-bit halves of H when no column seeds it (list elements, row mixing).
BASE_SEEDS = (0, 0x9E3779B97F4A7C15)


def _xxh3(arr: pa.Array, seeds: tuple[int, int] = BASE_SEEDS) -> _U128:
    """H of each value of a binary-like array: XXH3-64 under two seeds, in Rust (polars-hash).

    Two seeded XXH3-64 are used rather than one XXH3-128 because polars-hash computes them
    about 4x faster per value. Dictionary arrays (``_license``, ``_source`` as read for
    ``verify``) hash only their distinct values.
    """
    if pa.types.is_dictionary(arr.type):
        return _take(_xxh3(arr.dictionary, seeds), arr.indices)
    if _is_constant(arr):  # `_license`, `_source`, provenance of one run: hash once
        hi, lo = _xxh3_one(arr, seeds)
        n = len(arr)
        return _U128(np.full(n, hi), np.full(n, lo), np.ones(n, dtype=bool))
    # Polars (imported here: the catalog commands that never hash skip its ~0.1 s import)
    # holds binaries as views: Arrow's cast builds them ~3x faster than Polars' import does,
    # and importing a view array is then zero-copy.
    import polars as pl
    import polars_hash as plh

    s = pl.from_arrow(arr.cast(pa.binary_view()))
    assert isinstance(s, pl.Series)
    # One query does the hashing and the null handling (each Series method is a query too).
    exprs = {"hi": plh.col("v").nchash.xxh3_64(seed=seeds[0]).fill_null(0),
             "lo": plh.col("v").nchash.xxh3_64(seed=seeds[1]).fill_null(0)}
    if arr.null_count:
        exprs["valid"] = pl.col("v").is_not_null()
    h = s.to_frame("v").select(**exprs)
    valid = (np.asarray(h["valid"].to_numpy(), dtype=bool) if arr.null_count
             else np.ones(len(arr), dtype=bool))
    hi = h["hi"].to_numpy().astype(np.uint64, copy=False)
    lo = h["lo"].to_numpy().astype(np.uint64, copy=False)
    return _U128(hi, lo, valid)


def _xxh3_one(arr: pa.Array, seeds: tuple[int, int]) -> tuple[np.uint64, np.uint64]:
    """H of the first value of a binary-like ``arr`` (not null), in plain xxhash: a Polars
    query costs ~0.3 ms however short the input."""
    import xxhash

    first = arr[0].as_py()
    data = first.encode() if isinstance(first, str) else bytes(first)
    return (np.uint64(xxhash.xxh3_64_intdigest(data, seeds[0])),
            np.uint64(xxhash.xxh3_64_intdigest(data, seeds[1])))


def _is_constant(arr: pa.Array) -> bool:
    """True for a long, null-free array holding one value (checked at 3 rows before all)."""
    n = len(arr)
    if n < 256 or arr.null_count:
        return False
    first = arr[0]
    if arr[n // 2] != first or arr[n - 1] != first:
        return False
    return bool(pc.all(pc.equal(arr, first)).as_py())


def _take(h: _U128, indices: pa.Array) -> _U128:
    valid_idx = _valid(indices)
    if indices.null_count:
        indices = indices.fill_null(0)
    idx = indices.to_numpy(zero_copy_only=False)
    valid = h.valid[idx] & valid_idx
    return _U128(h.hi[idx], h.lo[idx], valid)


def _fixed_bytes(values: np.ndarray, width: int, valid: np.ndarray) -> pa.Array:
    """Fixed-width little-endian bytes of a numeric numpy array (``fixed_size_binary``;
    ``_xxh3`` turns it into views without an intermediate ``binary`` copy)."""
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(len(values), width)
    arr = pa.FixedSizeBinaryArray.from_buffers(  # wraps the numpy buffer, no copy
        pa.binary(width), len(values), [None, pa.py_buffer(raw)]
    )
    if not valid.all():
        arr = pc.if_else(pa.array(~valid), pa.scalar(None, pa.binary(width)), arr)
    return arr


def _valid(arr: pa.Array) -> np.ndarray:
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=bool)


def _int_bytes(arr: pa.Array) -> pa.Array:
    valid = _valid(arr)
    if pa.types.is_unsigned_integer(arr.type):
        lo = np.asarray(arr.cast(pa.uint64()).fill_null(0).to_numpy(), dtype=np.uint64)
        hi = np.zeros(len(arr), dtype=np.uint64)
    else:
        v = np.asarray(arr.cast(pa.int64()).fill_null(0).to_numpy(), dtype=np.int64)
        lo = v.view(np.uint64)
        hi = np.where(v < 0, np.uint64(_MASK64), np.uint64(0)).astype(np.uint64)
    both = np.empty((len(arr), 2), dtype="<u8")
    both[:, 0] = lo
    both[:, 1] = hi
    return _fixed_bytes(both.view(np.uint8), 16, valid)


def _float_bytes(arr: pa.Array) -> pa.Array:
    valid = _valid(arr)
    v = np.asarray(arr.cast(pa.float64()).fill_null(0.0).to_numpy(), dtype="<f8").copy()
    v[v == 0.0] = 0.0  # folds -0.0
    bits = v.view("<u8")
    bits[np.isnan(v)] = np.uint64(0x7FF8000000000000)
    return _fixed_bytes(bits, 8, valid)


def temporal_ns(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_date32(t):
        return arr.view(pa.int32()).cast(pa.int64())
    if pa.types.is_date64(t):
        return pc.divide(arr.view(pa.int64()), 86_400_000)
    phys = pa.int32() if pa.types.is_time32(t) else pa.int64()
    return pc.multiply_checked(arr.view(phys).cast(pa.int64()), _NS_PER[t.unit])


def canonical_bytes(arr: pa.Array, name: str = "?") -> pa.Array:
    """The canonical bytes of each value as a binary-like array (nulls stay null)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    try:
        tag = type_tag(arr.type)
    except FingerprintError as exc:
        raise FingerprintError(name, type=str(arr.type), reason=exc.reason) from None
    if pa.types.is_dictionary(arr.type):
        return pa.DictionaryArray.from_arrays(arr.indices, canonical_bytes(arr.dictionary, name))
    if tag == "str":
        return arr.cast(pa.large_string()).cast(pa.large_binary())
    if tag == "bin":
        return arr.cast(pa.large_binary())
    if tag == "int":
        return _int_bytes(arr)
    if tag == "float":
        return _float_bytes(arr)
    if tag == "bool":
        ints = np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.uint8)
        return _fixed_bytes(ints, 1, _valid(arr))
    if tag == "decimal":
        return arr.cast(pa.string()).cast(pa.binary())
    if tag in ("date", "ts", "tstz", "time", "dur"):
        ns = temporal_ns(arr)
        return _fixed_bytes(np.asarray(ns.fill_null(0).to_numpy(), dtype="<i8"), 8, _valid(arr))
    if tag == "struct":
        return _struct_bytes(arr, name)
    if tag in ("list", "map"):
        return _list_bytes(arr, name)
    raise FingerprintError(name, type=str(arr.type), reason="unsupported type")


def _struct_bytes(arr: pa.StructArray, name: str) -> pa.Array:
    fields = [arr.type.field(i) for i in range(arr.type.num_fields)]
    children = {f.name: c for f, c in zip(fields, arr.flatten(), strict=True)}
    types = {f.name: f.type for f in fields}
    packed = _combine_cells(children, types, len(arr), prefix=f"{name}.").pack()
    out = packed.cast(pa.binary())
    if arr.null_count:
        out = pc.if_else(pc.is_valid(arr), out, pa.scalar(None, pa.binary()))
    return out


def _list_bytes(arr: pa.Array, name: str) -> pa.Array:
    if pa.types.is_map(arr.type):
        entries = pa.StructArray.from_arrays([arr.keys, arr.items], names=["key", "value"])
        arr = pa.LargeListArray.from_arrays(
            arr.offsets.cast(pa.int64()), entries, mask=pc.is_null(arr)
        )
    if not pa.types.is_large_list(arr.type):
        arr = arr.cast(pa.large_list(arr.type.value_type))
    arr = pa.concat_arrays([arr])  # drops any slice offset so offsets index values directly
    offsets = pc.subtract(arr.offsets, arr.offsets[0])
    flat = arr.values.slice(arr.offsets[0].as_py(), len(arr.values) - arr.offsets[0].as_py())
    elems = _xxh3(canonical_bytes(flat, f"{name}[]")).pack().cast(pa.binary())
    elems = pc.fill_null(elems, pa.scalar(_NULL_ELEMENT, pa.binary()))
    rebuilt = pa.LargeListArray.from_arrays(offsets, elems, mask=pc.is_null(arr))
    return pc.binary_join(rebuilt, b"")


def column_seeds(name: str, tag: str) -> tuple[int, int]:
    """The two XXH3-64 seeds of a column.

    They are the halves of XXH3-128(b"col\\0" + name + b"\\0" + tag).
    """
    key = column_key(name, tag)
    return int.from_bytes(key[:8], "big"), int.from_bytes(key[8:], "big")


def _cell_sum(
    columns: dict[str, pa.Array], types: dict[str, pa.DataType], n: int, *, prefix: str = "",
    start: _U128 | None = None,
) -> _U128:
    """Sum mod 2**128 of the non-null cells' seeded hashes (added to ``start``)."""
    hi = np.zeros(n, dtype=np.uint64) if start is None else start.hi.copy()
    lo = np.zeros(n, dtype=np.uint64) if start is None else start.lo.copy()
    for col in columns:
        try:
            tag = type_tag(types[col])
        except FingerprintError as exc:
            raise FingerprintError(prefix + col, type=exc.type, reason=exc.reason) from None
        if tag == "null":
            continue
        arr = columns[col]
        c_hi: np.ndarray | np.uint64
        c_lo: np.ndarray | np.uint64
        if tag not in ("struct", "list", "map") and _is_constant(arr):
            # One value in every row (`_license`, `_source`, a run's provenance): encode and
            # hash it once and add it to every row.
            one = canonical_bytes(arr.slice(0, 1), prefix + col)
            c_hi, c_lo = _xxh3_one(one, column_seeds(col, tag))
        else:
            cell = _xxh3(canonical_bytes(arr, prefix + col), column_seeds(col, tag))
            c_hi, c_lo = cell.hi, cell.lo
            if not cell.valid.all():  # a null cell adds nothing
                c_hi = np.where(cell.valid, cell.hi, np.uint64(0))
                c_lo = np.where(cell.valid, cell.lo, np.uint64(0))
        new_lo = lo + c_lo  # uint64 wraps; the carry is where the sum got smaller
        hi = hi + c_hi + (new_lo < lo).astype(np.uint64)
        lo = new_lo
    return _U128(hi, lo, np.ones(n, dtype=bool))


def _mix(total: _U128) -> _U128:
    """The row hash: H of the big-endian bytes of a cell sum (non-linear)."""
    return _xxh3(total.pack())


def _combine_cells(
    columns: dict[str, pa.Array], types: dict[str, pa.DataType], n: int, *, prefix: str = ""
) -> _U128:
    """Row hash: H(big-endian bytes of the sum mod 2**128 of the non-null cells' seeded hashes).

    Each cell is hashed with a seed derived from its column name and type family, so the sum
    does not depend on column order; the final H makes the row hash non-linear, so swapping
    cells between rows changes the snapshot sum.
    """
    return _mix(_cell_sum(columns, types, n, prefix=prefix))


def _as_table(data: pa.Table | pa.RecordBatch) -> pa.Table:
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    return data


def _row_u128(data: pa.Table | pa.RecordBatch, columns: Iterable[str] | None = None) -> _U128:
    names = list(columns) if columns is not None else data.schema.names
    cols = {c: _column(data, c) for c in names}
    types = {c: data.schema.field(c).type for c in names}
    return _combine_cells(cols, types, data.num_rows)


def row_hashes(
    data: pa.Table | pa.RecordBatch, *, columns: Iterable[str] | None = None
) -> pa.Array:
    """Row hashes (fixed_size_binary(16), big-endian) over ``columns`` (default: all)."""
    return _row_u128(data, columns).pack()


#: The columns Curata adds to every record, in table order (``_id`` is a hash of the rest
#: of the record's content; ``content_columns`` are the others). Defined here, the leaf every
#: writer and reader imports, so that there is one definition.
SYSTEM_COLUMNS = ("_id", "_source", "_license", "_provenance")


def content_columns(schema: pa.Schema) -> list[str]:
    return [n for n in schema.names if not n.startswith("_")]


def record_ids(data: pa.Table | pa.RecordBatch) -> pa.Array:
    """The record fingerprint ``_id`` (32 lowercase hex chars) of each row."""
    table = _as_table(data)
    return hex_strings(row_hashes(table, columns=content_columns(table.schema)))


def hex_strings(hashes: pa.Array) -> pa.Array:
    import polars as pl

    s = pl.from_arrow(hashes.cast(pa.binary()))
    assert isinstance(s, pl.Series)
    return s.bin.encode("hex").to_arrow().cast(pa.string())


# --- snapshot fingerprint -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowHashSum:
    """An order-independent multiset accumulator: row count and sum of row hashes mod 2**128."""

    count: int = 0
    total: int = 0

    def __add__(self, other: RowHashSum) -> RowHashSum:
        return RowHashSum(self.count + other.count, (self.total + other.total) % (1 << 128))

    def __sub__(self, other: RowHashSum) -> RowHashSum:
        return RowHashSum(self.count - other.count, (self.total - other.total) % (1 << 128))

    def to_json(self) -> dict[str, int | str]:
        return {"count": self.count, "total": f"{self.total:032x}"}

    @classmethod
    def from_json(cls, d: dict[str, int | str]) -> RowHashSum:
        return cls(int(d["count"]), int(str(d["total"]), 16))


def combine(schema: pa.Schema, acc: RowHashSum, *, scheme: str = FINGERPRINT_VERSION) -> str:
    """The snapshot fingerprint of rows summarised by ``acc`` under ``schema`` (64 hex chars)."""
    snapshot_columns([], scheme)  # refuses an unknown scheme
    h = hashlib.sha256()
    h.update(scheme.encode() + b"\0")
    h.update(schema_digest(schema).encode() + b"\0")
    h.update(acc.count.to_bytes(8, "big"))
    h.update(acc.total.to_bytes(16, "big"))
    return h.hexdigest()


def accumulate(batches: Iterable[pa.RecordBatch | pa.Table], *,
               scheme: str = FINGERPRINT_VERSION) -> RowHashSum:
    acc = RowHashSum()
    for b in batches:
        acc = acc + row_sum(b, scheme=scheme)
    return acc


@dataclass(frozen=True, slots=True)
class ContentHashes:
    """Per-row sums of the content cells' hashes: the shared first half of ``_id`` and of the
    row hash, so a writer that needs both hashes each content cell once."""

    sums: _U128

    def __len__(self) -> int:
        return len(self.sums.hi)

    def record_hashes(self) -> pa.Array:
        """The 16-byte record fingerprints (``fixed_size_binary(16)``, big-endian)."""
        return _mix(self.sums).pack()

    def filter(self, mask: np.ndarray) -> ContentHashes:
        return ContentHashes(_U128(self.sums.hi[mask], self.sums.lo[mask], self.sums.valid[mask]))

    def slice(self, start: int, length: int) -> ContentHashes:
        end = start + length
        return ContentHashes(_U128(self.sums.hi[start:end], self.sums.lo[start:end],
                                   self.sums.valid[start:end]))


def content_hashes(data: pa.Table | pa.RecordBatch) -> ContentHashes:
    """Hash the content columns of ``data`` (names not starting with ``_``) once."""
    content = content_columns(data.schema)
    cols = {c: _column(data, c) for c in content}
    types = {c: data.schema.field(c).type for c in content}
    return ContentHashes(_cell_sum(cols, types, data.num_rows))


def snapshot_columns(names: Iterable[str], scheme: str = FINGERPRINT_VERSION) -> list[str]:
    """The columns whose cells a snapshot fingerprint under ``scheme`` hashes."""
    try:
        excluded = SCHEMES[scheme]
    except KeyError:
        raise FingerprintError("?", type=scheme, reason=f"unknown fingerprint scheme; known: "
                               f"{sorted(SCHEMES)}") from None
    return [n for n in names if n not in excluded]


def row_sum_with(data: pa.Table | pa.RecordBatch, content: ContentHashes, *,
                 scheme: str = FINGERPRINT_VERSION) -> RowHashSum:
    """``row_sum(data)`` when ``content`` already holds the hashes of its content columns:
    only the system columns (``_id``, ``_source``, …) are hashed here."""
    system = [c for c in snapshot_columns(data.schema.names, scheme) if c.startswith("_")]
    cols = {c: _column(data, c) for c in system}
    types = {c: data.schema.field(c).type for c in system}
    total = _mix(_cell_sum(cols, types, data.num_rows, start=content.sums))
    return RowHashSum(data.num_rows, _sum_u128(total.hi, total.lo))


def _column(data: pa.Table | pa.RecordBatch, name: str) -> pa.Array:
    col = data.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def ids_and_row_sum(data: pa.Table | pa.RecordBatch) -> tuple[pa.Array, RowHashSum]:
    """``record_ids`` of the content columns and ``row_sum`` of the rows with those ids in
    their ``_id`` column, hashing each content cell once (the write path's hot loop)."""
    table = _as_table(data)
    content = content_hashes(table)
    ids = hex_strings(content.record_hashes())
    idx = table.schema.get_field_index("_id")
    table = (table.set_column(idx, "_id", ids) if idx >= 0
             else table.append_column("_id", ids))
    return ids, row_sum_with(table, content)


def row_sum(data: pa.Table | pa.RecordBatch, *, scheme: str = FINGERPRINT_VERSION) -> RowHashSum:
    """Row count and sum of the row hashes over the snapshot columns of ``data``."""
    h = _row_u128(data, snapshot_columns(data.schema.names, scheme))
    return RowHashSum(len(h.hi), _sum_u128(h.hi, h.lo))


def _sum_u128(hi: np.ndarray, lo: np.ndarray) -> int:
    """Exact sum mod 2**128 using 32-bit limbs summed in uint64 (no overflow below 2**32 rows)."""
    limbs = [(hi >> np.uint64(32)), hi & np.uint64(0xFFFFFFFF),
             (lo >> np.uint64(32)), lo & np.uint64(0xFFFFFFFF)]
    total = 0
    for limb in limbs:
        total = (total << 32) + int(limb.sum(dtype=np.uint64))
    return total % (1 << 128)


def snapshot_fingerprint(data: pa.Table, *, schema: pa.Schema | None = None,
                         scheme: str = FINGERPRINT_VERSION) -> str:
    """Fingerprint of a whole table, independent of row order and chunking."""
    acc = accumulate(data.to_batches(max_chunksize=262_144), scheme=scheme)
    return combine(schema or data.schema, acc, scheme=scheme)
