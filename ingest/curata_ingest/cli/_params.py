"""Parameter checks shared by commands: names are validated before any work starts."""

from __future__ import annotations

from collections.abc import Callable

from curata._util import check_name


def valid_name(kind: str) -> Callable[[str | None], str | None]:
    """A Typer callback that validates a dataset or tag name whole (the catalog's own rule,
    :func:`curata._util.check_name`), so a bad name fails with exit 2 before a source is read.
    """

    def callback(value: str | None) -> str | None:
        return None if value is None else check_name(kind, value)

    return callback


dataset_name = valid_name("dataset")
tag_name = valid_name("tag")
