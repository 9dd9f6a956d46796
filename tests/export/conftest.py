"""Fixtures for export tests: a real catalog with real Delta snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import curata
import pytest

from tests.export._tables import append_mix as _append_mix
from tests.export._tables import content_table

N_ROWS = 600


def require_torch():
    """torch, or a skip outside CI (``make test`` installs the CPU build; CI must have it)."""
    if os.environ.get("CI") == "true":
        import torch

        return torch
    return pytest.importorskip("torch")


@pytest.fixture
def catalog(tmp_path: Path) -> curata.Catalog:
    return curata.connect(home=tmp_path / "home")


@pytest.fixture
def snapshot(catalog: curata.Catalog) -> curata.Snapshot:
    """600 records: text, label, JSON meta, split and PNG images; three licenses."""
    return _append_mix(catalog, content_table(N_ROWS), "reviews")


@pytest.fixture
def text_snapshot(catalog: curata.Catalog) -> curata.Snapshot:
    """The same without images and under one license, for loader tests."""
    table = content_table(N_ROWS, images=None)
    catalog.append("texts", table, license="CC-BY-4.0", source="wiki dump")
    return catalog.snapshot("texts")


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible endpoint on loopback (moto's server), with a fresh bucket."""
    import socket

    import moto.server as moto_server  # dev dependency: a missing endpoint fails, never skips

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_options(s3_endpoint, monkeypatch):
    """fsspec storage options for the loopback endpoint and a bucket made for this test."""
    import uuid

    import s3fs

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    options = {"endpoint_url": s3_endpoint, "key": "testing", "secret": "testing"}
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    s3fs.S3FileSystem(**options).mkdir(bucket)
    return bucket, options
