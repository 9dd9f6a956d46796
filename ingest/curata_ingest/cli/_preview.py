"""Bounded previews of records for a terminal (``curata show``, ``curata diff``).

Long text is cut and says its length, binaries are described from their first bytes
(``<png 48x48, 2.1 KB>``: Pillow reads only the image header, it never decodes the pixels),
nested values are capped. Strings and binaries are cut inside Arrow before they become Python
objects, so a 50 MB cell costs one slice, not a 50 MB ``str``.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Enough for any image header Pillow needs to tell format and size (JPEG's SOF can sit behind
# EXIF thumbnails of some hundred KB).
_SNIFF_BYTES = 1 << 20
# Formats with a real magic number: formats without one (TGA, …) match random bytes.
_IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "ICO", "CUR", "PPM", "JPEG2000",
                  "DDS", "PSD", "QOI")
_MAGIC = (
    (b"%PDF-", "pdf"), (b"PK\x03\x04", "zip"), (b"\x1f\x8b", "gzip"), (b"(\xb5/\xfd", "zstd"),
    (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"PAR1", "parquet"), (b"ID3", "mp3"),
    (b"OggS", "ogg"), (b"fLaC", "flac"), (b"\x1aE\xdf\xa3", "webm/mkv"),
)
_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {9: "\\t", 10: "\\n", 13: "\\r", 127: "\\x7f"}
MAX_ITEMS = 20  # list items and struct fields shown before "… (N items)"
JSON_ITEMS = 100  # list items kept in --json previews


@dataclass(frozen=True, slots=True)
class Cut:
    """A value cut for display: ``shown`` is what fits, ``length`` the full length."""

    shown: str | bytes
    length: int


def human_size(nbytes: int) -> str:
    """``2100`` → ``2.1 KB`` (decimal units, like ``ls -h --si``)."""
    if nbytes < 1000:
        return f"{nbytes} B"
    size = float(nbytes)
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1000
        if size < 999.95 or unit == "TB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def describe_binary(head: bytes, length: int) -> str:
    """``<png 48x48, 2.1 KB>``, ``<svg, 3.0 KB>``, ``<binary, 20.0 MB>`` from the first bytes."""
    kind = sniff(head) or "binary"
    return f"<{kind}, {human_size(length)}>"


def sniff(head: bytes) -> str | None:
    """What the bytes are, from their header: ``png 48x48``, ``svg``, ``gzip``… or None."""
    image = _sniff_image(head)
    if image:
        return image
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI "):
        return head[8:12].decode().strip().lower()
    start = head[:1024].lstrip().lower()
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in start):
        return "svg"
    return None


@contextmanager
def _no_pixel_limit() -> Iterator[None]:
    # Only the header is parsed, so a huge image is not a decompression bomb here; Pillow's
    # check would hide its size from the preview.
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _sniff_image(head: bytes) -> str | None:
    from PIL import Image

    Image.init()
    formats = [f for f in _IMAGE_FORMATS if f in Image.OPEN]
    try:
        with _no_pixel_limit(), Image.open(io.BytesIO(head), formats=formats) as im:
            return f"{(im.format or 'image').lower()} {im.width}x{im.height}"
    except Exception:  # not an image Pillow can name: described by other means
        return None


def cut_column(column: pa.ChunkedArray | pa.Array, max_chars: int) -> list[Any]:
    """Python values of a column with strings cut to ``max_chars`` and binaries to a header.

    Cut values come back as :class:`Cut`; everything else as ``to_pylist`` gives it.
    """
    typ = column.type
    if pa.types.is_dictionary(typ):
        column = column.cast(typ.value_type)
        typ = typ.value_type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        lengths = pc.utf8_length(column).to_pylist()
        shown = pc.utf8_slice_codeunits(column, 0, max_chars).to_pylist()
    elif pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        lengths = pc.binary_length(column).to_pylist()
        shown = pc.binary_slice(column, 0, _SNIFF_BYTES).to_pylist()
        return [None if s is None else Cut(s, n) for s, n in zip(shown, lengths, strict=True)]
    else:
        return column.to_pylist()
    return [s if s is None or n <= max_chars else Cut(s, n)
            for s, n in zip(shown, lengths, strict=True)]


def text(value: Any, max_chars: int) -> str:
    """One line for a terminal: control characters escaped, long values cut with their size."""
    if value is None:
        return ""
    if isinstance(value, Cut):
        if isinstance(value.shown, bytes):
            return describe_binary(value.shown, value.length)
        return f"{_one_line(value.shown[:max_chars])}… ({value.length:,} chars)"
    if isinstance(value, str):
        if len(value) > max_chars:
            return f"{_one_line(value[:max_chars])}… ({len(value):,} chars)"
        return _one_line(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value[:_SNIFF_BYTES])
        return describe_binary(data, len(value))
    if isinstance(value, (list, tuple, dict)):
        return _compact(value, max_chars)
    return _one_line(str(value)[: max_chars * 2])


def _one_line(s: str) -> str:
    return s.translate(_CONTROL)


def _compact(value: Any, max_chars: int) -> str:
    """A nested value as one capped line: strings quoted and cut, binaries described."""
    if isinstance(value, dict):
        items = list(value.items())
        parts = [f"{k}: {_compact(v, max_chars)}" for k, v in items[:MAX_ITEMS]]
        more = f", … ({len(items)} fields)" if len(items) > MAX_ITEMS else ""
        out = "{" + ", ".join(parts) + more + "}"
    elif isinstance(value, (list, tuple)):
        parts = [_compact(v, max_chars) for v in value[:MAX_ITEMS]]
        more = f", … ({len(value)} items)" if len(value) > MAX_ITEMS else ""
        out = "[" + ", ".join(parts) + more + "]"
    elif isinstance(value, str):
        out = repr(value[:max_chars]) + (f"… ({len(value):,} chars)" if len(value) > max_chars
                                          else "")
    else:
        out = text(value, max_chars)
    return out if len(out) <= max_chars * 2 else out[: max_chars * 2] + "…"


def json_value(value: Any, max_chars: int) -> tuple[Any, int | None]:
    """A JSON-ready preview of one cell and, if anything in it was cut, its full length
    (characters of a string, bytes of a binary, items of a list or fields of a struct)."""
    if isinstance(value, Cut):
        if isinstance(value.shown, bytes):
            return describe_binary(value.shown, value.length), value.length
        return value.shown, value.length
    if isinstance(value, (bytes, bytearray, memoryview)):
        return describe_binary(bytes(value[:_SNIFF_BYTES]), len(value)), len(value)
    if isinstance(value, str) and len(value) > max_chars:
        return value[:max_chars], len(value)
    if isinstance(value, dict):
        parts = {k: json_value(v, max_chars) for k, v in value.items()}
        cut = any(n is not None for _, n in parts.values())
        return {k: v for k, (v, _) in parts.items()}, len(value) if cut else None
    if isinstance(value, (list, tuple)):
        items = [json_value(v, max_chars) for v in value[:JSON_ITEMS]]
        cut = len(value) > JSON_ITEMS or any(n is not None for _, n in items)
        return [v for v, _ in items], len(value) if cut else None
    return value, None


def records(table: pa.Table, max_chars: int) -> list[dict[str, Any]]:
    """The rows of ``table`` with every string and binary column cut (see :func:`cut_column`)."""
    columns = {name: cut_column(table.column(name), max_chars) for name in table.column_names}
    return [{name: values[i] for name, values in columns.items()} for i in range(table.num_rows)]
