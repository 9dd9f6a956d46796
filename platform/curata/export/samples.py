"""Turn Arrow record batches into WebDataset samples: member names and payload bytes.

Layout of one sample (``KEY`` is the record ``_id``)::

    KEY.json             {"_id", "_license", "_source", "_provenance"} of the record
    KEY.<column>.txt     string columns, UTF-8
    KEY.<column>.cls     integer columns (class labels), decimal text
    KEY.<column>.jpg     binary columns, extension from the bytes (jpg/png/gif/webp/...; else bin)
    KEY.<column>.json    everything else (structs, lists, floats, booleans, dates), JSON text

The column name sits between key and extension so that two columns of the same kind never
collide and every reader that decodes by the last extension (webdataset, HF ``datasets``,
``wids``) decodes them correctly. A null value writes no member.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, compress

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curata.export.errors import ExportOptionError, SampleKeyError
from curata.export.jsonarrow import json_array
from curata.export.tar import BLOCK, MAX_SIZE, NAME_MAX, member_header
from curata.fingerprint import SYSTEM_COLUMNS

_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_KEY_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
IMAGE_EXTENSIONS = ("jpg", "png", "gif", "webp", "bmp", "tiff")


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """How one content column is written: ``KEY.<suffix>.<ext>``."""

    column: str
    suffix: str
    kind: str  # "txt" | "cls" | "bytes" | "json"

    def to_dict(self) -> dict[str, str]:
        return {"column": self.column, "suffix": self.suffix, "kind": self.kind}


def plan_fields(schema: pa.Schema, columns: Sequence[str] | None) -> tuple[Field, ...]:
    """The content fields to export, in schema order (or the order of ``columns``)."""
    names = list(columns) if columns is not None else [
        n for n in schema.names if not n.startswith("_")
    ]
    missing = [n for n in names if n not in schema.names]
    if missing:
        raise ExportOptionError(
            "columns", missing, valid=[n for n in schema.names if not n.startswith("_")]
        )
    fields: list[Field] = []
    seen: dict[str, str] = {}
    for name in names:
        if name in SYSTEM_COLUMNS:
            continue  # always exported, in the metadata member
        suffix = _SAFE.sub("_", name)
        if suffix in seen:
            raise ExportOptionError(
                "columns", [seen[suffix], name], valid=[], reason="map to the same member name"
            )
        seen[suffix] = name
        fields.append(Field(column=name, suffix=suffix, kind=_kind(schema.field(name).type)))
    return tuple(fields)


def _kind(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "txt"
    if pa.types.is_integer(t):
        return "cls"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "bytes"
    if pa.types.is_binary_view(t):
        return "bytes"
    return "json"


def image_extension(data: bytes) -> str:
    """The conventional extension for encoded bytes, from their magic number."""
    head = data[:12]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return "bin"


def _binary(col: pa.Array) -> pa.Array:
    """String/binary values as ``binary`` without a str round trip (dictionaries decoded)."""
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_large_string(col.type) or pa.types.is_large_binary(col.type):
        return col.cast(pa.large_binary())
    return col.cast(pa.binary())


def check_keys(ids: pa.Array) -> list[str]:
    """Sample keys from ``_id`` values; they must be safe WebDataset keys."""
    ok = ids.null_count == 0 and pc.all(pc.match_substring_regex(ids, _KEY_OK.pattern)).as_py()
    keys = ids.to_pylist()
    if not ok:
        raise SampleKeyError(next(k for k in keys if k is None or not _KEY_OK.fullmatch(k)))
    return keys


KeyState = tuple[str, int]  # the last raw key of a split and how often it repeated in a row


def key_runs(keys: list[str], previous: KeyState | None) -> tuple[list[str], KeyState | None]:
    """Readers group consecutive members by key, so an adjacent repeat of a record (same
    content, same ``_id``) would merge into one sample: give each repeat its own key
    (``KEY``, ``KEY-1``, ``KEY-2``, ...).

    ``previous`` is the state after the rows before these (in the same split), so a run of
    repeats is numbered the same however the rows are cut into batches.

    Returns:
        The keys to write and the state after the last of them.
    """
    if not keys:
        return keys, previous
    last, run = previous if previous is not None else (None, 0)
    if not any(a == b for a, b in zip([last, *keys], keys, strict=False)):
        return keys, (keys[-1], 0)
    out = []
    for key in keys:
        run = run + 1 if key == last else 0
        last = key
        out.append(f"{key}-{run}" if run else key)
    return out, (keys[-1], run)


def dedupe_adjacent(keys: list[str], previous: str | None) -> list[str]:
    """:func:`key_runs` for a batch after a row whose key was ``previous`` (not a repeat)."""
    return key_runs(keys, (previous, 0) if previous is not None else None)[0]


@dataclass(slots=True, kw_only=True)
class EncodedBatch:
    """The tar members of a batch of samples, row-major, ready for the shard writer."""

    keys: list[str]
    names: list[bytes]
    payloads: list[bytes]
    sizes: np.ndarray  # payload bytes per member
    member_start: np.ndarray  # index of each row's first member; len rows + 1
    row_bytes: np.ndarray  # archive bytes each row takes (headers, payloads, padding)
    last: KeyState | None = None  # key state after the last row (see key_runs)

    @property
    def num_rows(self) -> int:
        return len(self.keys)


def _column_members(
    col: pa.Array, field: Field, keys: pa.Array
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Names, payloads and validity of one content column's members."""
    valid = col.is_valid()
    if field.kind == "txt":
        payload = _binary(col)
    elif field.kind == "cls":
        payload = _binary(pc.cast(col, pa.string()))
    elif field.kind == "json":
        payload = json_array(col)
    else:
        payload = _binary(col)
        exts = [b"" if v is None else image_extension(bytes(v[:12])).encode()
                for v in payload_list(payload)]
        suffix = pa.array([f".{field.suffix}.".encode() + e for e in exts], pa.binary())
        return pc.binary_join_element_wise(keys, suffix, b""), payload, valid
    suffix = f".{field.suffix}.{field.kind}".encode()
    return pc.binary_join_element_wise(keys, suffix, b""), payload, valid


def _members(
    batch: pa.RecordBatch, fields: Sequence[Field], key_arr: pa.Array
) -> list[tuple[pa.Array, pa.Array, pa.Array]]:
    """(names, payloads, validity) per member column: ``KEY.json`` first, then each field."""
    system = [n for n in SYSTEM_COLUMNS if n in batch.schema.names]
    meta = pa.StructArray.from_arrays([batch.column(n) for n in system], names=system)
    columns = [(pc.binary_join_element_wise(key_arr, b".json", b""), json_array(meta),
                pa.array(np.ones(len(key_arr), bool)))]
    columns += [_column_members(batch.column(f.column), f, key_arr) for f in fields]
    return columns


def _member_bytes(columns: list[tuple[pa.Array, pa.Array, pa.Array]]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Payload lengths, validity, name lengths and archive bytes (header + payload +
    padding) per member, as ``(rows, member columns)`` arrays. Headers are one block unless the name or size
    needs a PAX header (:func:`curata.export.tar.member_header`), which is measured."""
    lengths = np.stack([_lengths(p) for _, p, _ in columns], axis=1)
    valid = np.stack([v.to_numpy(zero_copy_only=False) for _, _, v in columns], axis=1)
    name_lens = np.stack([_lengths(n) for n, _, _ in columns], axis=1)
    headers = np.full(lengths.shape, BLOCK, np.int64)
    for r, c in zip(*np.nonzero(valid & ((name_lens > NAME_MAX) | (lengths > MAX_SIZE))),
                    strict=True):
        headers[r, c] = len(member_header(columns[c][0][int(r)].as_py(), int(lengths[r, c])))
    per_member = np.where(valid, headers + -(-lengths // BLOCK) * BLOCK, 0)
    return lengths, valid, name_lens, per_member


def encode_batch(
    batch: pa.RecordBatch, fields: Sequence[Field], previous: KeyState | None = None
) -> EncodedBatch:
    """Members of every row: ``KEY.json`` first, then each non-null field in field order.

    ``previous`` is the key state of the rows before these in the same split (``last`` of the
    previous batch); ``row_bytes`` are exact, PAX headers included.
    """
    keys, last = key_runs(check_keys(batch.column("_id")), previous)
    columns = _members(batch, fields, pa.array(keys, pa.binary()))
    lengths, valid, _, per_member = _member_bytes(columns)
    names = _row_major([n.to_pylist() for n, _, _ in columns], valid)
    payloads = _row_major([payload_list(p) for _, p, _ in columns], valid)
    sizes = lengths[valid]  # boolean indexing keeps row-major order
    member_start = np.concatenate([[0], np.cumsum(valid.sum(axis=1))])
    return EncodedBatch(keys=keys, names=names, payloads=payloads, sizes=sizes,
                        member_start=member_start, row_bytes=per_member.sum(axis=1), last=last)


_SUFFIX_MAX = 12  # "-<run>" that key_runs may append to a key


@dataclass(slots=True, kw_only=True)
class SampleSizes:
    """Archive bytes per row as :func:`encode_batch` would write them, without the payloads.

    ``row_bytes`` assume each row keeps its ``_id`` as key. For the rare rows where a repeat
    suffix (``KEY-1``) could change a header (a member name near tar's 100-byte limit),
    ``members`` keeps each member's name after the key and payload size, so the exact size
    under any key follows from :func:`sized_row`.
    """

    row_bytes: np.ndarray
    members: dict[int, list[tuple[bytes, int]]]


def sample_sizes(batch: pa.RecordBatch, fields: Sequence[Field]) -> SampleSizes:
    """The archive bytes of every row of ``batch`` (for planning shards by size)."""
    ids = check_keys(batch.column("_id"))
    columns = _members(batch, fields, pa.array(ids, pa.binary()))
    lengths, valid, name_lens, per_member = _member_bytes(columns)
    key_lens = np.array([len(k) for k in ids], np.int64)[:, None]
    near = valid & ((name_lens + _SUFFIX_MAX > NAME_MAX) | (lengths > MAX_SIZE))
    members: dict[int, list[tuple[bytes, int]]] = {}
    for r in np.flatnonzero(near.any(axis=1)).tolist():
        cut = int(key_lens[r, 0])
        members[r] = [(columns[c][0][r].as_py()[cut:], int(lengths[r, c]))
                      for c in np.flatnonzero(valid[r]).tolist()]
    return SampleSizes(row_bytes=per_member.sum(axis=1), members=members)


def sized_row(key: str, members: list[tuple[bytes, int]]) -> int:
    """Archive bytes of a row written under ``key`` (see :class:`SampleSizes`)."""
    prefix = key.encode()
    return sum(len(member_header(prefix + tail, size)) + size + -size % BLOCK
               for tail, size in members)


def payload_list(payload: pa.Array) -> list[bytes | memoryview | None]:
    """Per-row payloads; large values are views into the Arrow buffer (no copy per image)."""
    n = len(payload)
    if n == 0 or not pa.types.is_binary(payload.type) or payload.nbytes < 1024 * n:
        return payload.to_pylist()
    _, offsets_buf, data_buf = payload.buffers()
    offsets = np.frombuffer(offsets_buf, np.int32)[payload.offset : payload.offset + n + 1]
    data = memoryview(data_buf) if data_buf is not None else memoryview(b"")
    starts, ends = offsets[:-1].tolist(), offsets[1:].tolist()
    views: list[bytes | memoryview | None] = [data[a:b] for a, b in zip(starts, ends, strict=True)]
    if payload.null_count:
        for i in np.flatnonzero(~payload.is_valid().to_numpy(zero_copy_only=False)).tolist():
            views[i] = None
    return views


def _lengths(payload: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.binary_length(payload), 0).to_numpy(zero_copy_only=False).astype(
        np.int64
    )


def _row_major(cols: list[list], valid: np.ndarray) -> list:
    flat = list(chain.from_iterable(zip(*cols, strict=True)))
    if valid.all():
        return flat
    return list(compress(flat, valid.ravel().tolist()))
