"""Exports of pinned snapshots: WebDataset shards and training loaders.

``export_webdataset`` writes reproducible shards with a manifest; ``webdataset`` iterates the
samples of such an export for training loops (split by rank and worker, deterministic shuffle,
resumable); ``curata.export.torch`` wraps it for ``torch.utils.data.DataLoader``.
"""

import typing as _typing

from curata.export.errors import (
    ExportFolderError,
    ExportOptionError,
    LoaderStateError,
    ShardFormatError,
)
from curata.export.loader import WebDatasetLoader, open_webdataset, webdataset
from curata.export.manifest import ExportManifest, ShardInfo
from curata.export.writer import export_webdataset


def __getattr__(name: str) -> _typing.Any:
    # The writer pulls in the catalog and governance; loaders for training do not need it.
    if name == "export_webdataset":
        return export_webdataset
    raise AttributeError(f"module 'curata.export' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"export_webdataset"})


__all__ = [
    "ExportFolderError",
    "ExportManifest",
    "ExportOptionError",
    "LoaderStateError",
    "ShardFormatError",
    "ShardInfo",
    "WebDatasetLoader",
    "export_webdataset",
    "open_webdataset",
    "webdataset",
]
