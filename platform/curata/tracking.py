"""Training-side lineage: record the snapshots a training run loaded in MLflow.

``curata.load(ref, track=True)`` (or ``CURATA_TRACK=1``) logs the snapshot as an MLflow
dataset input of the active run (``mlflow.log_input``): name, ref, fingerprint and row count,
without reading any data. When no run is active, MLflow's fluent API starts one, as it does for
``mlflow.log_param``. Needs ``mlflow`` or ``mlflow-skinny`` (``pip install 'curata[mlflow]'``).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curata.snapshot import Snapshot

ENV_SWITCH = "CURATA_TRACK"
CONTEXT = "training"


def tracking_enabled(track: bool | None) -> bool:
    """``track`` if given, else the ``CURATA_TRACK`` environment switch (``1``/``true``/``yes``)."""
    if track is not None:
        return track
    return os.environ.get(ENV_SWITCH, "").strip().lower() in ("1", "true", "yes", "on")


def _source_class() -> Any:
    from mlflow.data.dataset_source import DatasetSource

    class CurataDatasetSource(DatasetSource):
        """Where a Curata snapshot lives: the Delta table URI, pinned to a version."""

        def __init__(self, uri: str, ref: str, version: int) -> None:
            self.uri, self.ref, self.version = uri, ref, version

        @staticmethod
        def _get_source_type() -> str:
            return "curata"

        def load(self, **_: Any) -> str:
            return self.uri

        @staticmethod
        def _can_resolve(raw_source: Any) -> bool:
            return False

        @classmethod
        def _resolve(cls, raw_source: Any) -> CurataDatasetSource:
            raise NotImplementedError

        def to_dict(self) -> dict[str, Any]:
            return {"uri": self.uri, "ref": self.ref, "version": self.version}

        @classmethod
        def from_dict(cls, source_dict: dict[str, Any]) -> CurataDatasetSource:
            return cls(source_dict["uri"], source_dict["ref"], int(source_dict["version"]))

    return CurataDatasetSource


def _dataset(snap: Snapshot) -> Any:
    from mlflow.data.meta_dataset import MetaDataset

    class SnapshotDataset(MetaDataset):
        """A metadata-only MLflow dataset whose profile carries the row count."""

        @property
        def profile(self) -> dict[str, Any]:
            return {"num_rows": snap.num_rows, "fingerprint": snap.fingerprint}

        def to_dict(self) -> dict[str, str]:
            return {**super().to_dict(), "profile": json.dumps(self.profile)}

    source = _source_class()(snap.table_uri, snap.ref, snap.version)
    # MLflow stores digests of at most 36 characters; the full fingerprint goes in the tags.
    return SnapshotDataset(source, name=snap.ref, digest=snap.fingerprint[:32])


def log_snapshot(snap: Snapshot, *, context: str = CONTEXT) -> bool:
    """Log ``snap`` as an input of the active MLflow run.

    Returns:
        ``True`` if logged, ``False`` if MLflow is not installed.
    """
    try:
        import mlflow
    except ModuleNotFoundError:
        return False
    mlflow.log_input(_dataset(snap), context=context, tags={
        "curata.ref": snap.ref, "curata.dataset": snap.dataset,
        "curata.version": str(snap.version), "curata.fingerprint": snap.fingerprint,
        "curata.num_rows": str(snap.num_rows)})
    return True
