"""Team set-ups for the scale tests: a PostgreSQL catalog with a local or an S3 warehouse.

Everything reaches Curata through the environment (``CURATA_CATALOG_URL``,
``CURATA_WAREHOUSE``, ``AWS_*``), exactly as for an engineer's shell; credentials are never
passed in code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures._services import require_module
from tests.scale._cluster import LocalCluster


@dataclass(frozen=True, slots=True)
class Team:
    kind: str
    env: dict[str, str]

    @property
    def warehouse(self) -> str:
        return self.env["CURATA_WAREHOUSE"]


def s3_env(s3: object, bucket: str, prefix: str = "warehouse") -> dict[str, str]:
    return {"CURATA_WAREHOUSE": f"s3://{bucket}/{prefix}",
            "AWS_ENDPOINT_URL": s3.endpoint_url, "AWS_ACCESS_KEY_ID": s3.key,  # type: ignore[attr-defined]
            "AWS_SECRET_ACCESS_KEY": s3.secret, "AWS_REGION": s3.region}


@pytest.fixture(params=["local", "s3"])
def team(request: pytest.FixtureRequest, pg_url: str, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    """A PostgreSQL catalog (upgraded) and a warehouse on a local folder or the S3 endpoint."""
    env = {"CURATA_HOME": str(tmp_path / "home"), "CURATA_CATALOG_URL": pg_url}
    if request.param == "local":
        env["CURATA_WAREHOUSE"] = str(tmp_path / "warehouse")
    else:
        s3 = request.getfixturevalue("s3")
        env.update(s3_env(s3, s3.bucket("curata-team")))
    monkeypatch.delenv("CURATA_STORAGE_OPTIONS", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    import curata

    curata.connect(upgrade=True).engine.dispose()  # `curata db upgrade`, once, before writers
    yield Team(kind=request.param, env=env)


# What the workers of the test cluster find in their environment: the loopback S3 server's
# credentials (``tests.fixtures.s3.S3Server``), given the way docs/scale.md tells users to give
# them to a cluster (``runtime_env.env_vars``), never through the export's arguments.
RAY_WORKER_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                  "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalCluster]:
    """One Ray cluster for every Ray test of the session: a head (no CPUs: it runs no task)
    and two worker nodes of 1 CPU each, every node its own raylet and object store on this
    machine, with token authentication by a token of its own. The driver (this process)
    joins it; ``.address`` is what ``RAY_ADDRESS`` names for other processes."""
    # Under `uv run` Ray would ship the whole working tree (.venv included) to its workers;
    # the flag is read when Ray is imported.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray = require_module("ray", "uv sync --all-packages (the curata-ingest[ray] extra)")
    from tests.scale._cluster import start_cluster

    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    cluster = start_cluster(workers=2)
    try:
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False,
                 runtime_env={"env_vars": RAY_WORKER_ENV})
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
