"""Existing WebDataset ``.tar`` shards: one record per sample (files sharing a key).

Read as a stream (``tarfile`` mode ``r|*``), so shards on object stores are never downloaded
whole. A truncated or corrupt shard keeps the samples read so far and rejects the rest with
the member where reading stopped, instead of crashing the run.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from curata_ingest.sources._base import (
    BATCH_ROWS,
    RAW_LIMIT,
    FileSource,
    ProgressFn,
    RejectSink,
    Skipped,
    with_locator,
)

# WebDataset's own rule: the key is everything before the first dot of the file name.
_KEY_RE = re.compile(r"^((?:.*/|)[^./]+)[.]([^/]*)$")
_KIND = {tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "char device",
         tarfile.BLKTYPE: "block device", tarfile.FIFOTYPE: "fifo"}
TEXT_EXTENSIONS = frozenset({"txt", "text", "cls", "json", "caption", "md", "html", "xml", "csv"})


class WebDatasetSource(FileSource):
    """One record per sample: ``key`` plus one column per extension (text ones as strings)."""

    format = "webdataset"
    extensions = (".tar", ".tgz", ".tar.gz")

    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        for path in self.files():
            uri = self.uri(path)
            rows: list[dict[str, Any]] = []
            for sample in self._samples(path, uri, rejects, progress):
                rows.append(sample)
                if len(rows) >= BATCH_ROWS:
                    yield _batch(rows)
                    rows = []
            if rows:
                yield _batch(rows)

    def _samples(
        self, path: str, uri: str, rejects: RejectSink, progress: ProgressFn | None
    ) -> Iterator[dict[str, Any]]:
        current: dict[str, Any] | None = None
        dropped: str | None = None  # the key of a sample rejected by one of its members
        member_name = "(start)"
        count = 0
        try:
            with self.fs.open(path, "rb") as fh, tarfile.open(fileobj=fh, mode="r|*") as tar:
                for member in tar:
                    member_name = member.name
                    locator = f"{uri}:{member.name}"
                    if not member.isfile():
                        if not member.isdir():  # links, devices, fifos: never followed
                            self.skipped.append(Skipped(path=locator, reason="tar_special_member",
                                                        detail=_KIND.get(member.type, "other")))
                        continue
                    count += 1
                    match = _KEY_RE.match(member.name)
                    key = match.group(1) if match else None
                    if key is not None and key == dropped:
                        continue  # a member of a sample already rejected (one reject a sample)
                    if current is not None and current["key"] != key:
                        yield from self._finish(current, rejects)
                        current = None
                    if member.size > self.max_record_size:  # rejected unread: the stream skips it
                        rejects.add(reason="record_too_large", source=self.name, locator=locator,
                                    detail=f"{member.size} bytes, over --max-record-size "
                                    f"{self.max_record_size}")
                        current, dropped = None, key
                        continue
                    data = tar.extractfile(member).read()  # type: ignore[union-attr]
                    if progress:
                        progress(len(data) + 512)
                    if match is None:
                        rejects.add(reason="no_sample_key", source=self.name, locator=locator,
                                    raw=data)
                        continue
                    if current is None:
                        current = {"key": key, "_locator": locator}
                    if not self._add(current, match.group(2).lower(), data, locator, rejects):
                        current, dropped = None, key  # the whole sample is one reject
        except (tarfile.TarError, EOFError, OSError) as exc:
            rejects.add(
                reason="truncated_archive",
                source=self.name,
                locator=f"{uri}:{member_name}",
                detail=f"{type(exc).__name__}: {exc}",
                raw=b"" if current is None else repr(sorted(current)).encode(),
            )
            return  # the partial sample is not emitted: its files may be incomplete
        if current is not None:
            yield from self._finish(current, rejects)
        elif count == 0:
            rejects.add(reason="empty_file", source=self.name, locator=uri)

    def _add(self, sample: dict[str, Any], ext: str, data: bytes, locator: str,
             rejects: RejectSink) -> bool:
        """Put a member into its sample; False (and a reject) for a member that would set a
        system field (``key._id``, ``key._license``) or repeat one of the sample's names."""
        reason = None
        if not ext or ext.startswith("_") or ext == "key":
            reason, detail = "reserved_member_name", (
                f"{ext!r} names a system field" if ext else "a name ending in '.' names no field")
        elif ext in sample:
            reason, detail = "duplicate_member", f"a second {sample['key']}.{ext}"
        if reason is None:
            sample[ext] = data
            return True
        rejects.add(reason=reason, source=self.name, locator=locator, raw=data[:RAW_LIMIT],
                    detail=detail)
        return False

    def _finish(self, sample: dict[str, Any], rejects: RejectSink) -> Iterator[dict[str, Any]]:
        for ext in [e for e in sample if e in TEXT_EXTENSIONS]:
            try:
                sample[ext] = sample[ext].decode("utf-8")
            except UnicodeDecodeError as exc:
                rejects.add(
                    reason="invalid_utf8",
                    source=self.name,
                    locator=sample["_locator"],
                    raw=sample[ext],
                    detail=f"{ext}: {exc}",
                )
                return
        yield sample


def _batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    names.pop("_locator")
    fields = [
        pa.field(n, pa.string() if n == "key" or n in TEXT_EXTENSIONS else pa.binary())
        for n in names
    ]
    columns = [pa.array([r.get(f.name) for r in rows], f.type) for f in fields]
    batch = pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))
    return with_locator(batch, pa.array([r["_locator"] for r in rows], pa.string()))
