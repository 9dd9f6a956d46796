"""Catalog schema only through Alembic: upgrade/downgrade/upgrade and no drift, on SQLite and
on a real PostgreSQL 15 server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import curata
import pyarrow as pa
import pytest
import sqlalchemy as sa
from curata import errors
from curata.store import make_engine as _engine
from curata.store import migrate


def _roundtrip(url: str) -> None:
    engine = _engine(url)
    migrate.upgrade(engine, url)
    assert migrate.current_revision(engine) == migrate.head_revision()
    migrate.check(engine, url)  # raises on drift between models and revisions
    migrate.downgrade(engine, url, "base")
    assert migrate.current_revision(engine) is None
    assert "datasets" not in sa.inspect(engine).get_table_names()
    migrate.upgrade(engine, url)
    migrate.check(engine, url)
    assert {"datasets", "snapshots", "tags", "audit_log"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_upgrade_downgrade_upgrade_and_check(tmp_path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'c.db'}")


@pytest.mark.postgres
def test_postgres_upgrade_downgrade_upgrade_and_check(pg_url: str) -> None:
    _roundtrip(pg_url)


def test_connect_upgrades_embedded_sqlite(tmp_path) -> None:
    cat = curata.connect(home=tmp_path / "h")
    assert migrate.current_revision(cat.engine) == migrate.head_revision()


@pytest.mark.postgres
def test_connect_refuses_older_postgres_schema_then_works_after_upgrade(pg_url, tmp_path) -> None:
    with pytest.raises(errors.CatalogSchemaError) as info:
        curata.connect(home=tmp_path, catalog_url=pg_url)
    assert info.value.current is None and "db upgrade" in str(info.value.hint)
    engine = _engine(pg_url)
    migrate.upgrade(engine, pg_url)
    cat = curata.connect(home=tmp_path, catalog_url=pg_url, warehouse=str(tmp_path / "wh"))
    import pyarrow as pa

    snap = cat.append("r", pa.table({"text": ["a", "b"]}), license="CC0-1.0", source="s")
    cat.tag("r", "v1")
    assert cat.snapshot("r@v1").fingerprint == snap.fingerprint
    assert snap.verify().ok
    engine.dispose()
    cat.engine.dispose()


def test_fast_head_revision_agrees_with_alembic() -> None:
    assert migrate.head_revision() == migrate.alembic_head_revision()


def test_fast_current_revision_agrees_with_alembic(tmp_path) -> None:
    engine = _engine(f"sqlite:///{tmp_path / 'c.db'}")
    assert migrate.current_revision(engine) is None
    assert migrate.alembic_current_revision(engine) is None
    migrate.upgrade(engine, str(engine.url), "0001")
    assert migrate.current_revision(engine) == migrate.alembic_current_revision(engine) == "0001"
    migrate.upgrade(engine, str(engine.url))
    assert migrate.current_revision(engine) == migrate.alembic_current_revision(engine) \
        == migrate.head_revision()


def _as_fp1_catalog(home) -> tuple[str, str]:
    """A catalog as Curata 0005 left it: one tagged version recorded under curata-fp-1."""
    from curata import fingerprint as fp
    from sqlalchemy import text

    cat = curata.connect(home=home)
    snap = cat.append("r", pa.table({"text": ["a", "b", "a2"]}), license="CC0-1.0", source="s")
    cat.tag("r", "v1")
    old = fp.snapshot_fingerprint(snap.to_arrow(), schema=snap.schema, scheme="curata-fp-1")
    acc = fp.accumulate(snap.to_arrow().to_batches(), scheme="curata-fp-1")
    url = cat.settings.catalog_url
    migrate.downgrade(cat.engine, url, "0005")
    with cat.engine.begin() as conn:
        conn.execute(text("UPDATE snapshots SET fingerprint=:f, row_sum=:r"),
                     {"f": old, "r": json.dumps(acc.to_json())})
        conn.execute(text("UPDATE tags SET fingerprint=:f"), {"f": old})
    cat.engine.dispose()
    return old, snap.fingerprint


def test_old_scheme_versions_keep_verifying_until_db_upgrade_refingerprints(tmp_path) -> None:
    """Revision 0006: fp-1 records keep loading and verifying; `curata db upgrade` moves them
    (and their tags) to fp-2 with an audit entry naming both values."""
    home = tmp_path / "h"
    old, new = _as_fp1_catalog(home)
    assert old != new
    cat = curata.connect(home=home)  # embedded: schema upgraded, records left under fp-1
    snap = cat.snapshot("r@v1")
    assert (snap.fingerprint, snap.fingerprint_scheme) == (old, "curata-fp-1")
    assert snap.verify().ok
    # An append on top of an fp-1 version is recorded under fp-2 (a full rescan).
    after = cat.append("r", pa.table({"text": ["c"]}), license="CC0-1.0", source="s")
    assert after.fingerprint_scheme == "curata-fp-2" and after.verify().ok
    cat.engine.dispose()

    r = subprocess.run([sys.executable, "-c", "from curata_ingest.cli import main; main()",
                        "db", "upgrade", "--json"], capture_output=True, text=True,
                       env={**os.environ, "CURATA_HOME": str(home)}, timeout=120)
    assert r.returncode == 0, r.stderr
    moved = json.loads(r.stdout)["refingerprinted"]
    assert [(m["dataset"], m["version"], m["fingerprint_from"], m["fingerprint_to"])
            for m in moved] == [("r", 0, old, new)]
    cat = curata.connect(home=home)
    snap = cat.snapshot("r@v1")
    assert (snap.fingerprint, snap.fingerprint_scheme) == (new, "curata-fp-2")
    assert snap.verify().ok
    assert cat.tags("r")[0].fingerprint == new
    entry = next(e for e in cat.audit_log("r") if e.action == "fingerprint.rescheme")
    assert entry.details["from"] == old and entry.details["to"] == new
    assert entry.details["tags"] == ["v1"]
    cat.engine.dispose()


@pytest.mark.postgres
def test_init_creates_a_team_catalog_in_an_empty_postgres_database(pg_url, tmp_path) -> None:
    """`curata init` is the one command a team needs; an older schema is still refused."""
    env = {**os.environ, "CURATA_HOME": str(tmp_path / "h"), "CURATA_CATALOG_URL": pg_url,
           "CURATA_WAREHOUSE": str(tmp_path / "wh")}
    cli = [sys.executable, "-c", "from curata_ingest.cli import main; main()"]
    r = subprocess.run([*cli, "init", "--json"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    engine = _engine(pg_url)
    assert migrate.current_revision(engine) == migrate.head_revision()
    r = subprocess.run([*cli, "datasets", "--json"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0 and json.loads(r.stdout) == {"datasets": []}
    migrate.downgrade(engine, pg_url, "0005")
    r = subprocess.run([*cli, "init", "--json"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 5, r.stdout + r.stderr
    assert json.loads(r.stdout)["error"] == "CatalogSchemaError"
    assert migrate.current_revision(engine) == "0005"
    engine.dispose()
