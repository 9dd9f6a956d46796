"""Deterministic tar writing for WebDataset shards.

We write POSIX ustar headers ourselves instead of going through ``tarfile`` (which is what
``webdataset.ShardWriter`` does): ``tarfile.TarInfo.tobuf`` rebuilds every header field with
several string conversions per member and the writer issues one small ``write`` per header,
payload and padding. Here the 512-byte header is a precomputed template into which only the
name, size and checksum are patched, and output is gathered into ~4 MiB chunks, which is most
of what makes the export several times faster than a ``ShardWriter`` loop.

Every header carries the same mtime, uid, gid, owner names and mode, so the bytes of a shard
depend only on the member names and payloads, in order.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import numpy as np

BLOCK = 512
RECORD = 20 * BLOCK  # tar's default blocking factor; GNU tar and tarfile pad to it
FIXED_MTIME = 0  # 1970-01-01: reproducible shards, as `tar --mtime=@0` would
_FLUSH_AT = 4 << 20
_ZEROS = bytes(2 * RECORD)  # enough for any padding or end-of-archive run
_PADDING = [bytes(i) for i in range(BLOCK)]  # padding by length: a lookup, not a slice


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _template() -> bytearray:
    """A ustar header with every constant field filled in and name/size/checksum blank."""
    h = bytearray(BLOCK)
    h[100:108] = _octal(0o644, 8)  # mode
    h[108:116] = _octal(0, 8)  # uid
    h[116:124] = _octal(0, 8)  # gid
    h[136:148] = _octal(FIXED_MTIME, 12)
    h[148:156] = b" " * 8  # checksum is computed with this field as spaces
    h[156:157] = b"0"  # regular file
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    # uname/gname and devmajor/devminor stay NUL, as tarfile writes them for regular files
    return h


_TEMPLATE = bytes(_template())
_TEMPLATE_SUM = sum(_TEMPLATE)
MAX_SIZE = 8**11 - 1  # what fits the 11 octal digits of the size field
NAME_MAX = 100  # bytes of a ustar name field; longer names get a PAX header


def member_header(name: bytes, size: int) -> bytes:
    """The 512-byte ustar header for a regular file ``name`` of ``size`` bytes.

    Names longer than 100 bytes (or payloads over 8 GiB) fall back to a PAX header written by
    ``tarfile`` with the same fixed fields, so such members stay readable and reproducible.
    """
    if len(name) > NAME_MAX or size > MAX_SIZE:
        return _pax_header(name, size)
    size_field = b"%011o\0" % size
    chksum = _TEMPLATE_SUM + sum(name) + sum(size_field)
    return b"".join(
        (
            name,
            _TEMPLATE[len(name) : 124],
            size_field,
            _TEMPLATE[136:148],
            b"%06o\0 " % chksum,
            _TEMPLATE[156:],
        )
    )


_TEMPLATE_NP = np.frombuffer(_TEMPLATE, np.uint8)
_SIZE_SHIFTS = 3 * np.arange(10, -1, -1, dtype=np.int64)
_CHK_SHIFTS = 3 * np.arange(5, -1, -1, dtype=np.int64)


def member_headers(names: Sequence[bytes], sizes: np.ndarray) -> list[bytes]:
    """Headers for many members at once, the same bytes as :func:`member_header` each.

    Built as one ``(n, 512)`` array: names are copied in as a fixed-width column, the size
    and checksum fields are written as octal digits with integer arithmetic.
    """
    n = len(names)
    if n == 0:
        return []
    if max(map(len, names)) > NAME_MAX or int(sizes.max()) > MAX_SIZE:
        return [member_header(nm, int(sz)) for nm, sz in zip(names, sizes.tolist(), strict=True)]
    h = np.empty((n, BLOCK), np.uint8)
    h[:] = _TEMPLATE_NP
    h[:, :100] = np.array(names, dtype="S100").view(np.uint8).reshape(n, 100)
    h[:, 124:135] = ((sizes[:, None] >> _SIZE_SHIFTS) & 7) + 48
    h[:, 135] = 0
    chk = h.sum(axis=1, dtype=np.int64)  # the checksum field still holds spaces here
    h[:, 148:154] = ((chk[:, None] >> _CHK_SHIFTS) & 7) + 48
    h[:, 154] = 0
    h[:, 155] = 32
    blob = h.tobytes()
    return [blob[i : i + BLOCK] for i in range(0, n * BLOCK, BLOCK)]


def _pax_header(name: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name.decode("utf-8"))
    info.size, info.mtime, info.mode, info.uid, info.gid = size, FIXED_MTIME, 0o644, 0, 0
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


class TarShardWriter:
    """Appends members to a binary stream as a reproducible tar, hashing what it writes.

    Args:
        stream: an open binary file (local or fsspec) positioned at its start.

    Attributes:
        size: bytes written so far (including headers and padding).
        samples: number of samples added with :meth:`add_sample`.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._chunks: list[bytes] = []
        self._pending = 0
        self._sha = hashlib.sha256()
        # Hashing and writing release the GIL: a helper thread does both for one chunk while
        # the caller encodes the next (at most one chunk in flight, so memory stays bounded).
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="curata-tar")
        self._inflight: Future[None] | None = None
        self.size = 0
        self.samples = 0

    @staticmethod
    def final_size(size: int) -> int:
        """Archive size once closed, for ``size`` bytes of members (end blocks, padding)."""
        end = size + 2 * BLOCK
        return end + -end % RECORD

    def add_members(
        self, names: Sequence[bytes], payloads: Sequence[bytes], sizes: np.ndarray, samples: int
    ) -> None:
        """Write ``samples`` samples given as their members, in order (the fast path)."""
        headers = member_headers(names, sizes)
        pads = ((-sizes) % BLOCK).tolist()
        padding = _PADDING
        chunks = self._chunks
        for header, payload, pad in zip(headers, payloads, pads, strict=True):
            chunks += (header, payload, padding[pad])
        # PAX fallback headers (long names) are longer than one block
        added = sum(map(len, headers)) + int(sizes.sum()) + sum(pads)
        self._pending += added
        self.size += added
        self.samples += samples
        if self._pending >= _FLUSH_AT:
            self._flush()

    def add_sample(self, members: list[tuple[bytes, bytes]]) -> None:
        """Write one sample: ``(member name, payload)`` pairs, in order."""
        chunks = self._chunks
        added = 0
        for name, payload in members:
            header = member_header(name, len(payload))
            pad = -len(payload) % BLOCK
            chunks.append(header)
            chunks.append(payload)
            if pad:
                chunks.append(_ZEROS[:pad])
            added += len(header) + len(payload) + pad
        self._pending += added
        self.size += added
        self.samples += 1
        if self._pending >= _FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        if not self._chunks:
            return
        data = b"".join(self._chunks)
        self._chunks = []
        self._pending = 0
        self._wait()
        self._inflight = self._io.submit(self._write, data)

    def _write(self, data: bytes) -> None:
        self._sha.update(data)
        self._stream.write(data)

    def _wait(self) -> None:
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.result()  # re-raises a write error here, in the caller's thread

    def abort(self) -> None:
        """Stop without finishing the archive (the caller discards the file)."""
        self._chunks = []
        try:
            self._wait()
        finally:
            self._io.shutdown(wait=True)

    def close(self) -> str:
        """Write the end-of-archive blocks and record padding; return the sha256 hex digest."""
        end = self.final_size(self.size) - self.size
        self._chunks.append(_ZEROS[:end])
        self.size += end
        self._pending += end
        self._flush()
        try:
            self._wait()
        finally:
            self._io.shutdown(wait=True)
        return self._sha.hexdigest()
