"""Catalog schema only through Alembic: upgrade/downgrade/upgrade and no drift, on SQLite and
on a real PostgreSQL 15 server."""

from __future__ import annotations

import curata
import pytest
import sqlalchemy as sa
from curata import errors
from curata.catalog import migrate
from curata.catalog._catalog import _engine


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
