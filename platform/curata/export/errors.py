"""Errors of the export package, in the ``curata.errors`` hierarchy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from curata.errors import IntegrityError, UsageError, preview_items


class ExportOptionError(UsageError):
    """An export option with a bad value (unknown column, bad size, bad filter, ...)."""

    def __init__(
        self, option: str, value: Any, *, valid: Sequence[str] = (), reason: str = "is invalid"
    ) -> None:
        self.option = option
        self.value = value if isinstance(value, (str, int, float, list)) else repr(value)
        self.valid = list(valid)
        self.reason = reason
        detail = f" (valid: {preview_items(self.valid)})" if self.valid else ""
        super().__init__(
            f"Export option {option}={self.value!r} {reason}{detail}",
            hint="Run `curata export --help` for the options",
        )


class SampleKeyError(IntegrityError):
    """A record ``_id`` that cannot be a WebDataset key (null, dots, slashes, leading ``_``)."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        super().__init__(
            f"Record id {key!r} cannot be a WebDataset sample key",
            hint="Run `curata verify DATASET@REF` to check the snapshot's system columns",
        )


class ShardFormatError(IntegrityError):
    """A shard or manifest that is not what the export wrote (missing, resized, altered)."""

    def __init__(self, path: str, *, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"WebDataset export at {path} is not usable: {reason}",
            hint="Export again with `curata export DATASET@REF --format webdataset --out DIR`",
        )


class ExportFolderError(UsageError):
    """The export folder holds something the exporter did not write where it would delete or
    replace a file: a manifest listing a name the exporter never produces (``../x``, an
    absolute path, a sub-folder), or a symlink or folder under one of the exporter's names.
    Raised before anything is deleted or written.

    Attributes:
        folder: the export folder.
        name: the offending entry, as the manifest lists it or as it lies in the folder.
        reason: what is wrong with it.
    """

    def __init__(self, folder: str, *, name: Any, reason: str) -> None:
        self.folder = folder
        self.name = name if isinstance(name, str) else repr(name)
        self.reason = reason
        super().__init__(
            f"Refusing to export into {folder}: {self.name!r} {reason}; nothing was deleted "
            "or written",
            hint="Export into a new folder (`curata export REF --out NEW_DIR`), or remove "
                 "that entry yourself if the folder is yours",
        )


class LoaderStateError(UsageError):
    """A ``state_dict`` that does not belong to this loader's shards and layout."""

    def __init__(self, field: str, *, saved: Any, current: Any) -> None:
        self.field = field
        self.saved = saved
        self.current = current
        super().__init__(
            f"Cannot resume: saved state has {field}={saved!r} but this loader has {current!r}",
            hint="Resume with the same shards, seed, world size and number of workers",
        )


__all__ = [
    "ExportFolderError",
    "ExportOptionError",
    "LoaderStateError",
    "SampleKeyError",
    "ShardFormatError",
]
