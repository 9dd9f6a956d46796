"""`curata.load(..., track=True)` logs the snapshot to the active MLflow run (a real local
MLflow file store)."""

from __future__ import annotations

from pathlib import Path

import curata
import mlflow  # a dev dependency: a missing install fails, never skips
import pyarrow as pa
import pytest


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps it behind a switch
    monkeypatch.delenv("CURATA_TRACK", raising=False)
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    yield mlflow.MlflowClient()
    mlflow.set_tracking_uri("")


def inputs(client, run_id: str) -> list:
    return client.get_run(run_id).inputs.dataset_inputs


def test_track_logs_ref_fingerprint_and_rows(cat, tracking) -> None:
    snap = cat.append("r", pa.table({"text": ["a", "b", "c"]}), license="MIT", source="s")
    cat.tag("r", "v1")
    with mlflow.start_run() as run:
        loaded = curata.load("r@v1", track=True)
        curata.load("r@v1")  # not tracked
    (di,) = inputs(tracking, run.info.run_id)
    tags = {t.key: t.value for t in di.tags}
    assert tags["curata.ref"] == "r@v1" and tags["curata.fingerprint"] == snap.fingerprint
    assert tags["curata.num_rows"] == "3" and tags["mlflow.data.context"] == "training"
    assert di.dataset.name == "r@v1" and di.dataset.source_type == "curata"
    assert snap.fingerprint.startswith(di.dataset.digest)
    assert '"num_rows": 3' in di.dataset.profile
    assert loaded.fingerprint == snap.fingerprint


def test_env_switch(cat, tracking, monkeypatch) -> None:
    cat.append("r", pa.table({"text": ["a"]}), license="MIT", source="s")
    monkeypatch.setenv("CURATA_TRACK", "1")
    with mlflow.start_run() as run:
        curata.load("r")
        curata.load("r@0", track=False)  # an explicit False wins over the environment
    assert [d.dataset.name for d in inputs(tracking, run.info.run_id)] == ["r@0"]
