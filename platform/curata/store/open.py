"""Opening a store: the catalog database (checked, created or migrated) and the warehouse."""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from curata.config import Settings, redact_url, resolve
from curata.errors import CatalogSchemaError, CatalogTooNewError, CatalogUnavailableError
from curata.store import migrate
from curata.store.store import Store


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for the catalog URL (SQLite: WAL, foreign keys, busy waits)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # WAL: readers never block writers
            cur = dbapi_conn.cursor()
            # Switching a new file to WAL takes an exclusive lock that SQLite's busy timeout
            # does not wait for: two processes opening a new catalog at once retry here.
            deadline = time.monotonic() + 60
            while True:
                try:
                    cur.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def open_store(
    home: str | os.PathLike[str] | None = None,
    catalog_url: str | None = None,
    warehouse: str | None = None,
    *,
    storage_options: dict[str, str] | None = None,
    upgrade: bool | None = None,
    create: bool = False,
) -> Store:
    """Open the catalog database and warehouse (see ``curata.connect``, which wraps the
    store in the ``Catalog`` facade)."""
    settings = resolve(home, catalog_url, warehouse, storage_options)
    if settings.is_embedded:
        _check_sqlite_file(settings)
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.catalog_url)
    head = migrate.head_revision()
    current = _current_revision(engine, settings)
    if current is not None and current not in migrate.known_revisions():
        raise CatalogTooNewError(redact_url(settings.catalog_url), current=current,
                                 known=migrate.known_revisions())
    if current != head:
        if upgrade if upgrade is not None else (settings.is_embedded or
                                                (create and current is None)):
            _upgrade_once(engine, settings)
        else:
            raise CatalogSchemaError(
                redact_url(settings.catalog_url), current=current, expected=head
            )
    return Store(settings, engine)


def _upgrade_once(engine: Engine, settings: Settings) -> None:
    """Migrate to the head revision; two processes creating one embedded catalog at once
    take turns (a file lock), and the second finds the work done."""
    if not settings.is_embedded:
        migrate.upgrade(engine, settings.catalog_url)
        return
    import fcntl

    with open(settings.home / ".catalog.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _current_revision(engine, settings) != migrate.head_revision():
                migrate.upgrade(engine, settings.catalog_url)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _check_sqlite_file(settings: Settings) -> None:
    """An embedded catalog file that exists but is empty or not SQLite is never "repaired"
    into a new empty catalog: that forgot every version and re-ingested data already there."""
    from sqlalchemy.engine import make_url

    path = make_url(settings.catalog_url).database
    if not path or path == ":memory:" or not os.path.exists(path):
        return
    with open(path, "rb") as f:
        head = f.read(16)
    if head != b"SQLite format 3\0":
        what = "empty (0 bytes)" if not head else "not a SQLite database (truncated or overwritten?)"
        raise CatalogUnavailableError(
            path, reason=what,
            hint="Restore it from a backup; to start a new catalog, move it away (the warehouse "
            f"{settings.warehouse} keeps its data, which a new catalog does not know)")


def _current_revision(engine: Engine, settings: Settings) -> str | None:
    """The catalog's schema revision; an unreachable or unreadable database is
    ``CatalogUnavailableError`` naming it (never a driver traceback)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CatalogUnavailableError(redact_url(settings.catalog_url), reason=reason) from None


