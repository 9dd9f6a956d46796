"""Secrets stay out of Ray task payloads (issue 24 item 8).

Credentials set in ``CURATA_STORAGE_OPTIONS`` (and ``AWS_SECRET_ACCESS_KEY``) must never be
pickled into what the driver hands to Ray: task arguments (``f.remote(...)``), the objects
passed to ``ray.put``, and the task functions themselves.
Workers read credentials from their own environment (the cluster's ``runtime_env.env_vars``,
``RAY_WORKER_ENV`` in conftest.py); non-secret options (endpoint, region, allow-http) travel.

The end-to-end test records every payload the driver serialises while an ingest and an
export run on the session's local cluster against the loopback S3 server, and looks for the
fake secrets' bytes in them.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import curata
import fsspec
import pytest
from curata.errors import UsageError
from curata.storage import public_options, secret_options, worker_options

SECRET = f"curata-fake-secret-{uuid.uuid4().hex}"  # in CURATA_STORAGE_OPTIONS
ENV_SECRET = f"curata-fake-env-secret-{uuid.uuid4().hex}"  # in AWS_SECRET_ACCESS_KEY


def test_public_options_keep_endpoint_and_drop_credentials() -> None:
    opts = {"AWS_ENDPOINT_URL": "http://s3.internal:9000", "AWS_REGION": "eu-west-1",
            "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": SECRET, "AZURE_STORAGE_ACCOUNT_KEY": SECRET,
            "azure_storage_sas_token": SECRET,
            "client_kwargs": {"endpoint_url": "http://e", "aws_secret_access_key": SECRET}}
    public = public_options(opts)
    assert public == {"AWS_ENDPOINT_URL": "http://s3.internal:9000", "AWS_REGION": "eu-west-1",
                      "AWS_ALLOW_HTTP": "true", "client_kwargs": {"endpoint_url": "http://e"}}
    assert SECRET not in json.dumps(public)
    assert set(secret_options(opts)) == {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AZURE_STORAGE_ACCOUNT_KEY", "azure_storage_sas_token",
        "client_kwargs.aws_secret_access_key"}
    assert public_options(None) is None and public_options({"secret": "x"}) is None


def test_workers_add_their_own_credentials(monkeypatch) -> None:
    monkeypatch.setenv("CURATA_STORAGE_OPTIONS", json.dumps({"AWS_SECRET_ACCESS_KEY": "w"}))
    assert worker_options({"AWS_REGION": "r"}) == {"AWS_REGION": "r",
                                                   "AWS_SECRET_ACCESS_KEY": "w"}
    monkeypatch.delenv("CURATA_STORAGE_OPTIONS")
    assert worker_options({"AWS_REGION": "r"}) == {"AWS_REGION": "r"}
    assert worker_options(None) is None


def test_export_job_carries_no_secret(tmp_path, monkeypatch) -> None:
    """What every export task gets (``_Job`` and the closures around it), built in this
    process without a cluster; the scan still reads the files with the worker's options."""
    import numpy as np
    import pyarrow as pa
    import ray.cloudpickle as cloudpickle
    from curata.export import ray as ray_export
    from curata.export.options import build_options
    from curata.export.publish import Staging
    from curata.export.samples import plan_fields
    from curata.export.selection import Selection

    monkeypatch.setenv("CURATA_STORAGE_OPTIONS", json.dumps(
        {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "r"}))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET)
    cat = curata.connect(home=tmp_path / "home")
    cat.append("texts", pa.table({"text": [f"t{i}" for i in range(20)]}), license="CC0-1.0",
               source="s")
    snap = cat.snapshot("texts")
    assert snap.storage_options["AWS_SECRET_ACCESS_KEY"] == SECRET  # the driver has it
    opts = build_options(name="texts", shard_size=None, shard_count=2, columns=None,
                         filter=None, shuffle=False, seed=0, split_by=None, purpose=None,
                         allow_license=(), reason=None)
    fields = plan_fields(snap.schema, None)
    selection = Selection(snap, opts, None, [f.column for f in fields])
    fs, root = fsspec.core.url_to_fs(str(tmp_path / "out"))
    staging = Staging(fs, root, token="t0")
    job, entries, _ = ray_export.make_job(snap, selection, fields, opts, filter=None,
                                          staging=staging, storage_options=None)
    scans = [ray_export.scan_file(job, f, e) for f, e in enumerate(entries)]
    plans = ray_export.plan_shards(scans, opts, selection.census())
    offsets = np.cumsum([0] + [s.num_rows for s in scans])
    tasks = ray_export.write_tasks(plans, entries, offsets, 2, False)
    payloads = [job, *tasks, [(f, e) for f, e in enumerate(entries)]]
    for p in payloads:
        blob = cloudpickle.dumps(p)
        assert SECRET.encode() not in blob and ENV_SECRET.encode() not in blob, p
    assert job.files.storage_options == {"AWS_REGION": "r"}  # non-secret options travel


# --- end to end on the session's cluster -------------------------------------------------------


@pytest.fixture
def payloads(monkeypatch) -> list[tuple[str, bytes]]:
    """Every payload the driver serialises for Ray while the test runs: the arguments of the
    Ray task calls the engines make (pickled by value, closures included) and every
    object Ray's own serializer pickles (in band and out-of-band buffers)."""
    import ray
    import ray.cloudpickle as cloudpickle
    from ray.remote_function import RemoteFunction

    seen: list[tuple[str, bytes]] = []
    dumps = cloudpickle.dumps

    def recording_dumps(obj, *args, **kwargs):
        callback = kwargs.get("buffer_callback")
        if callback is not None:
            def keep(buf):
                seen.append(("buffer", bytes(buf.raw())))
                return callback(buf)

            kwargs["buffer_callback"] = keep
        data = dumps(obj, *args, **kwargs)
        seen.append((type(obj).__name__, data))
        return data

    monkeypatch.setattr(cloudpickle, "dumps", recording_dumps)

    def record(owner, name, skip_self):
        original = getattr(owner, name)

        def call(*args, **kwargs):
            try:
                seen.append((name, dumps((args[1:] if skip_self else args, kwargs))))
            except Exception:  # noqa: BLE001 - Ray's own serializer records it below
                seen.append((name, b""))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, call)

    record(RemoteFunction, "_remote", True)  # every task's arguments (`f.remote(...)`)
    record(ray, "put", False)
    return seen


def test_ray_task_payloads_carry_no_secret(ray_cluster, s3, tmp_path, monkeypatch,
                                           payloads) -> None:
    from curata.export import export_webdataset
    from curata_ingest import ingest

    bucket = s3.bucket("secrets")
    # The driver's credentials: secret ones in CURATA_STORAGE_OPTIONS and in AWS_*. The
    # workers have only RAY_WORKER_ENV (no endpoint): the endpoint must travel, secrets not.
    monkeypatch.setenv("CURATA_WAREHOUSE", f"s3://{bucket}/warehouse")
    monkeypatch.setenv("CURATA_STORAGE_OPTIONS", json.dumps({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ENDPOINT_URL": s3.endpoint_url, "AWS_REGION": s3.region,
        "AWS_ALLOW_HTTP": "true"}))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("CURATA_CATALOG_URL", raising=False)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"{i}.jsonl").write_text("".join(json.dumps({"text": f"doc {i} {j}", "n": j})
                                                + "\n" for j in range(40)))
    cat = curata.connect(home=tmp_path / "home")
    report = ingest([str(src)], dataset="docs", license="CC0-1.0", catalog=cat, engine="ray")
    assert report.rows_written == 120
    cat.append("docs", __import__("pyarrow").table({"text": ["late"], "n": [1]}),
               license="CC0-1.0", source="late")  # a second file for the export to read
    again = ingest([str(src)], dataset="docs", license="CC0-1.0", catalog=cat, engine="ray",
                   force=True)  # dedup against the dataset: ray.put of the existing ids
    assert again.rows_written == 0
    snap = cat.snapshot("docs")
    out = f"s3://{bucket}/export"
    options = {"client_kwargs": {"endpoint_url": s3.endpoint_url, "region_name": s3.region}}
    m = export_webdataset(snap, out, engine="ray", shard_count=2, storage_options=options)
    assert m.num_samples == 121
    m = export_webdataset(snap, out + "-shuffled", engine="ray", shard_size="12KB",
                          shuffle=True, storage_options=options)
    assert m.num_samples == 121 and len(m.shards) > 1
    # a derive on Ray: its tasks read the source and write shards in the bucket too
    from curata.transforms import Dedup, Filter, NearDedup, Split

    pipe = [Filter("n >= 0"), Dedup(), NearDedup("text", threshold=0.9),
            Split({"train": 0.5, "test": 0.5})]
    local = cat.derive("docs", pipe, into="docs-local")
    derived = cat.derive("docs", pipe, into="docs-ray", engine="ray")
    assert derived.snapshot.fingerprint == local.snapshot.fingerprint
    assert derived.snapshot.num_rows == 121

    kinds = {k for k, _ in payloads}
    assert {"_remote", "put"} <= kinds, kinds
    leaked = [k for k, data in payloads
              if SECRET.encode() in data or ENV_SECRET.encode() in data]
    assert not leaked, f"secret pickled into {leaked}"
    endpoint = s3.endpoint_url.encode()
    assert any(endpoint in data for _, data in payloads)  # non-secret options do travel


def test_ray_refuses_to_ship_given_credentials(ray_cluster, tmp_path) -> None:
    """Credentials given in code (not the environment) are refused, never shipped."""
    from curata.export import export_webdataset
    from curata_ingest import ingest

    cat = curata.connect(home=tmp_path / "home")
    src = tmp_path / "a.jsonl"
    src.write_text('{"text": "x"}\n')
    with pytest.raises(UsageError, match="credentials") as err:
        ingest([str(src)], dataset="d", license="CC0-1.0", catalog=cat, engine="ray",
               storage_options={"key": "AKIA", "secret": SECRET})
    assert SECRET not in str(err.value)
    with pytest.raises(UsageError, match="credentials") as err:
        ingest([f"postgresql://u:{SECRET}@127.0.0.1:9/db#table=t"], dataset="d",
               license="CC0-1.0", catalog=cat, engine="ray")
    assert SECRET not in str(err.value)
    cat.append("d", __import__("pyarrow").table({"text": ["x"]}), license="CC0-1.0",
               source="s")
    out = tmp_path / "out"
    with pytest.raises(UsageError, match="credentials"):  # nested under client_kwargs
        export_webdataset(cat.snapshot("d"), out, engine="ray", shard_count=1,
                          storage_options={"client_kwargs": {"aws_secret_access_key": SECRET}})
    assert not Path(out).exists()
