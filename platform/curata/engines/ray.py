"""``Snapshot.to_ray()``: a ``ray.data.Dataset`` over exactly the files of a pinned version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from curata.storage import filesystem, join_uri

if TYPE_CHECKING:
    from curata.snapshot import Snapshot


def to_ray(snapshot: Snapshot, *, columns: Sequence[str] | None = None,
           override_num_blocks: int | None = None) -> Any:
    """Read the Parquet files of ``snapshot``'s version as a Ray dataset.

    The file list comes from the Delta log at the pinned version, so writes after the
    snapshot never show up; the files are read by Ray tasks on whatever cluster
    ``ray.init()`` connects to (local folder or object storage, credentials from the
    environment).
    """
    try:
        import ray
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError("to_ray() needs Ray: pip install 'curata-ingest[ray]' "
                                  "or 'ray[data]'") from exc
    fs, root = filesystem(snapshot.table_uri, snapshot.storage_options)
    paths = [join_uri(root, f["path"]) for f in snapshot.files()]
    if not paths:
        return ray.data.from_arrow(snapshot.to_arrow(columns=columns))
    return ray.data.read_parquet(paths, filesystem=fs,
                                 columns=list(columns) if columns is not None else None,
                                 override_num_blocks=override_num_blocks)
