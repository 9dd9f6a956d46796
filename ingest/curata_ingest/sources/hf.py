"""Hugging Face ``datasets``: ``save_to_disk`` folders, local files through its packaged
loaders, and hub names (streamed, never downloaded whole).

Specs:
  * a folder holding ``dataset_info.json``/``state.json`` or ``dataset_dict.json``;
  * ``hf:BUILDER:GLOB`` such as ``hf:json:data/*.jsonl`` or ``hf:csv:raw.csv``;
  * ``hf:NAME`` or ``hf://NAME`` (optionally ``NAME:CONFIG``) for the hub, ``streaming=True``.
A ``DatasetDict`` (several splits) gets a ``split`` column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import fsspec
import pyarrow as pa
from curata.errors import SourceError

from curata_ingest.sources._base import (
    BATCH_ROWS,
    Artifact,
    ProgressFn,
    RejectSink,
    Source,
    expand,
    rows_locators,
    with_locator,
)

PACKAGED_BUILDERS = (
    "json",
    "csv",
    "parquet",
    "text",
    "arrow",
    "imagefolder",
    "audiofolder",
    "webdataset",
)


def is_saved_dataset(fs: fsspec.AbstractFileSystem, path: str) -> bool:
    """Whether ``path`` is a folder written by ``Dataset(Dict).save_to_disk``."""
    return any(
        fs.exists(f"{path.rstrip('/')}/{name}") for name in ("state.json", "dataset_dict.json")
    )


class HfSource(Source):
    """Reads through ``datasets``; batches come straight from its Arrow tables."""

    format = "hf"

    def __init__(self, spec: str, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        body = spec.removeprefix("hf://").removeprefix("hf:")
        builder, _, files = body.partition(":")
        self.fs, self.path = fsspec.core.url_to_fs(body, **self.storage_options)
        if body != spec and builder in PACKAGED_BUILDERS and files:
            self.mode, self.builder, self.data_files = "files", builder, files
        elif body != spec:
            self.mode, self.builder, self.data_files = "hub", body, ""
        else:
            self.mode, self.builder, self.data_files = "disk", "", ""
        self._artifacts: list[Artifact] | None = None

    def _files(self) -> list[str]:
        if self.mode == "hub":
            return []
        target = self.path if self.mode == "disk" else self.data_files
        fs, _ = fsspec.core.url_to_fs(target, **self.storage_options)
        return expand(fs, target)

    def artifacts(self) -> list[Artifact]:
        if self._artifacts is None:
            if self.mode == "hub":
                # Hub revisions are not known offline: an empty hash means "always re-read".
                self._artifacts = [Artifact(uri=self.spec, size=None, sha256="")]
            else:
                self._artifacts = [_hash(self.fs, p) for p in self._files()]
        return self._artifacts

    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        for split, dataset in self._splits():
            done = 0
            for table in dataset.with_format("arrow").iter(batch_size=BATCH_ROWS):
                if split is not None:
                    table = table.append_column("split", pa.array([split] * table.num_rows))
                prefix = f"{self.spec}#{split or 'train'}/row="
                locators = rows_locators(prefix, range(done + 1, done + 1 + table.num_rows))
                done += table.num_rows
                if progress:
                    progress(table.nbytes)
                for batch in table.to_batches():
                    n = batch.num_rows
                    yield with_locator(batch, locators[:n])
                    locators = locators[n:]

    def _splits(self) -> Iterator[tuple[str | None, Any]]:
        import datasets

        try:
            if self.mode == "disk":
                loaded = datasets.load_from_disk(self.path, storage_options=self.storage_options)
            elif self.mode == "files":
                loaded = datasets.load_dataset(
                    self.builder, data_files=self.data_files, streaming=True
                )
            else:
                name, _, config = self.builder.partition(":")
                loaded = datasets.load_dataset(name, config or None, streaming=True)
        except Exception as exc:  # datasets raises many unrelated types for "cannot load"
            raise SourceError(self.spec, reason=f"{type(exc).__name__}: {exc}") from exc
        if isinstance(loaded, (datasets.DatasetDict, datasets.IterableDatasetDict)):
            if len(loaded) == 1 and self.mode != "disk":
                yield None, next(iter(loaded.values()))
                return
            yield from loaded.items()
        else:
            yield None, loaded


def _hash(fs: fsspec.AbstractFileSystem, path: str) -> Artifact:
    digest = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
            size += len(chunk)
    return Artifact(uri=path, size=size, sha256=digest.hexdigest())
