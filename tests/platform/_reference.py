"""A slow, obvious re-implementation of the record fingerprint from its written spec
(``curata.fingerprint`` docstring), used as an oracle for the vectorised code."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
from typing import Any

import pyarrow as pa
import xxhash

NULL_ELEMENT = b"\xff" * 16
EPOCH = dt.datetime(1970, 1, 1)


BASE = (0, 0x9E3779B97F4A7C15)


def H(data: bytes, seeds: tuple[int, int] = BASE) -> bytes:
    return b"".join(xxhash.xxh3_64_intdigest(data, seed=s).to_bytes(8, "big") for s in seeds)


def seeds(name: str, tag: str) -> tuple[int, int]:
    key = xxhash.xxh3_128_digest(b"col\0" + name.encode() + b"\0" + tag.encode())
    return int.from_bytes(key[:8], "big"), int.from_bytes(key[8:], "big")


def tag_of(t: pa.DataType) -> str:
    from curata.fingerprint import type_tag

    return type_tag(t)


def value_bytes(v: Any, t: pa.DataType) -> bytes:
    tag = tag_of(t)
    if pa.types.is_dictionary(t):
        t = t.value_type
    if tag == "str":
        return v.encode()
    if tag == "bin":
        return bytes(v)
    if tag == "int":
        return int(v).to_bytes(16, "little", signed=True)
    if tag == "float":
        f = float(v)
        if math.isnan(f):
            return (0x7FF8000000000000).to_bytes(8, "little")
        if f == 0.0:
            f = 0.0
        return struct.pack("<d", f)
    if tag == "bool":
        return b"\x01" if v else b"\x00"
    if tag == "decimal":
        return str(pa.scalar(decimal.Decimal(v), t).cast(pa.string()).as_py()).encode()
    if tag == "date":
        return (v - dt.date(1970, 1, 1)).days.to_bytes(8, "little", signed=True)
    if tag in ("ts", "tstz"):
        naive = v.replace(tzinfo=None) if v.tzinfo is None else v.astimezone(dt.UTC).replace(tzinfo=None)
        delta = naive - EPOCH
        ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
        return ns.to_bytes(8, "little", signed=True)
    if tag == "struct":
        return row_hash({f.name: v.get(f.name) for f in t}, {f.name: f.type for f in t})
    if tag == "list":
        return b"".join(
            NULL_ELEMENT if e is None else H(value_bytes(e, t.value_type)) for e in v
        )
    if tag == "map":
        entry = pa.struct([("key", t.key_type), ("value", t.item_type)])
        return b"".join(H(value_bytes({"key": k, "value": x}, entry)) for k, x in v)
    raise NotImplementedError(tag)


def row_hash(row: dict[str, Any], types: dict[str, pa.DataType]) -> bytes:
    total = 0
    for name, v in row.items():
        tag = tag_of(types[name])
        if v is None or tag == "null":
            continue
        total += int.from_bytes(H(value_bytes(v, types[name]), seeds(name, tag)), "big")
    return H((total % (1 << 128)).to_bytes(16, "big"))


def record_ids(table: pa.Table) -> list[str]:
    names = [n for n in table.column_names if not n.startswith("_")]
    types = {n: table.schema.field(n).type for n in names}
    return [row_hash({n: r[n] for n in names}, types).hex() for r in table.select(names).to_pylist()]


# Columns a snapshot fingerprint leaves out, per scheme (the spec in curata.fingerprint).
SNAPSHOT_EXCLUDED = {"curata-fp-1": (), "curata-fp-2": ("_provenance",)}


def snapshot_fingerprint(table: pa.Table, scheme: str, schema_digest: str) -> str:
    """SHA-256(scheme, schema digest, row count, sum of row hashes over the snapshot columns)."""
    import hashlib

    names = [n for n in table.column_names if n not in SNAPSHOT_EXCLUDED[scheme]]
    types = {n: table.schema.field(n).type for n in names}
    total = sum(int.from_bytes(row_hash(r, types), "big")
                for r in table.select(names).to_pylist()) % (1 << 128)
    h = hashlib.sha256(scheme.encode() + b"\0" + schema_digest.encode() + b"\0")
    h.update(table.num_rows.to_bytes(8, "big") + total.to_bytes(16, "big"))
    return h.hexdigest()
