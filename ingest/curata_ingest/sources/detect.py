"""Format detection: from the spec's scheme, then the file extension, then magic bytes."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import fsspec
from curata.errors import UnsupportedFormatError, UsageError

from curata_ingest.sources._base import (
    FileSource,
    Skipped,
    Source,
    decompressed,
    expand,
    strip_compression,
)
from curata_ingest.sources.csv import CsvSource, TsvSource
from curata_ingest.sources.hf import HfSource, is_saved_dataset
from curata_ingest.sources.images import IMAGE_EXTENSIONS, ImageFolderSource
from curata_ingest.sources.jsonl import JsonlSource
from curata_ingest.sources.parquet import ParquetSource
from curata_ingest.sources.sql import SqlSource, is_sql_url
from curata_ingest.sources.text import LinesSource, TextSource
from curata_ingest.sources.webdataset import WebDatasetSource

FORMATS: dict[str, type[Source]] = {
    cls.format: cls
    for cls in (
        JsonlSource,
        CsvSource,
        TsvSource,
        ParquetSource,
        TextSource,
        LinesSource,
        ImageFolderSource,
        WebDatasetSource,
        HfSource,
        SqlSource,
    )
}
_BY_EXTENSION = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "lines",
    ".text": "lines",
    ".md": "text",
    ".rst": "text",
    ".tar": "webdataset",
    ".tgz": "webdataset",
    **{ext: "imagefolder" for ext in IMAGE_EXTENSIONS},
}
_MAGIC = (
    (b"PAR1", "parquet"),
    (b"\x89PNG", "imagefolder"),
    (b"\xff\xd8\xff", "imagefolder"),
    (b"GIF8", "imagefolder"),
    (b"{", "jsonl"),
)


def open_sources(
    specs: list[str],
    *,
    format: str | None = None,
    name: str | None = None,
    storage_options: dict[str, Any] | None = None,
    path_column: str | None = None,
    follow_symlinks: str = "inside",
    reader_options: dict[str, Any] | None = None,
) -> list[Source]:
    """Resolve specs (paths, globs, folders, URIs, SQL URLs) to sources.

    A folder mixing formats (say JSONL and CSV) becomes one source per format; files of no
    format Curata reads (an SVG, a cursor, a README beside images) are listed in the first
    source's ``skipped`` with their reason, never dropped unseen. ``format`` (the CLI's
    ``--format``) overrides detection.
    """
    if format is not None and format not in FORMATS:
        raise UsageError(f"Unknown format {format!r} (valid: {', '.join(sorted(FORMATS))})")
    given = {k: v for k, v in (reader_options or {}).items() if v is not None}
    out: list[Source] = []
    for spec in specs:
        kwargs: dict[str, Any] = {"name": name, "storage_options": storage_options,
                                  "path_column": path_column,
                                  "follow_symlinks": follow_symlinks}
        if format is not None:
            cls = FORMATS[format]
            extra = {"all_files": True} if issubclass(cls, FileSource) else {}
            out.append(cls(spec, **kwargs, **extra, **_taken(cls, given)))
            continue
        out.extend(_detect(spec, kwargs, given))
    unused = set(given) - {o for src in out for o in type(src).options}
    if unused:
        names = ", ".join(f"--{o}" for o in sorted(unused))
        raise UsageError(f"{names} applies to none of the sources "
                         f"({', '.join(sorted({s.format for s in out}))})")
    return out


def _taken(cls: type[Source], given: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in given.items() if k in cls.options}


def _detect(spec: str, kwargs: dict[str, Any], given: dict[str, Any]) -> list[Source]:
    if spec.startswith("hf:"):
        return [HfSource(spec, **kwargs)]
    if is_sql_url(spec):
        return [SqlSource(spec, **kwargs)]
    fs, path = fsspec.core.url_to_fs(spec, **(kwargs["storage_options"] or {}))
    if fs.isdir(path) and is_saved_dataset(fs, path):
        return [HfSource(spec, **kwargs)]
    skipped: list[Skipped] = []
    files = expand(fs, spec, follow_symlinks=kwargs["follow_symlinks"], skipped=skipped)
    groups: dict[str, list[str]] = defaultdict(list)
    for file in files:
        groups[_format_of(fs, file)].append(file)
    if fs.isdir(path) and "imagefolder" in groups:
        # Like torchvision's and HF's ImageFolder: in a folder of images, the other files
        # (READMEs, licenses, notes, SVGs) are not records; they are counted as skipped.
        groups = {"imagefolder": groups.pop("imagefolder"), "unknown": [
            f for other in groups.values() for f in other]}
    skipped += [Skipped(path=f, reason="unsupported_format") for f in groups.pop("unknown", [])]
    if not groups:
        reasons = sorted({s.reason for s in skipped})
        raise UnsupportedFormatError(
            spec, reason=f"no file of a format Curata reads ({len(skipped)} skipped: "
            f"{', '.join(reasons) or 'none found'})", valid=sorted(FORMATS))
    sources: list[Source] = []
    for fmt, members in groups.items():
        cls = FORMATS[fmt]
        assert issubclass(cls, FileSource)
        sources.append(cls(spec, files=members, **kwargs, **_taken(cls, given),
                           skipped=[] if sources else skipped))
    return sources


def _format_of(fs: fsspec.AbstractFileSystem, path: str) -> str:
    base = strip_compression(path.lower())
    for ext in sorted(_BY_EXTENSION, key=len, reverse=True):
        if base.endswith(ext):
            return _BY_EXTENSION[ext]
    return sniff(fs, path)


def sniff(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """Guess a format from the first bytes (after transparent gzip/zstd decompression)."""
    with fs.open(path, "rb") as raw, decompressed(raw, path) as fh:
        head = fh.read(512)
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "webdataset"
    stripped = head.lstrip()
    for magic, fmt in _MAGIC:
        if stripped.startswith(magic) or head.startswith(magic):
            return fmt
    return "unknown"
