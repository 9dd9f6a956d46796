"""Team set-ups for the scale tests: a PostgreSQL catalog with a local or an S3 warehouse.

Everything reaches Curata through the environment (``CURATA_CATALOG_URL``,
``CURATA_WAREHOUSE``, ``AWS_*``), exactly as for an engineer's shell; credentials are never
passed in code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


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
