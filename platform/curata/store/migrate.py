"""Alembic plumbing: the catalog schema is created and upgraded only by revisions."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

import curata


def migrations_dir() -> Path:
    """The Alembic environment: inside the wheel, or ``migrations/`` of a source checkout."""
    pkg = Path(curata.__file__).parent
    for candidate in (pkg / "_migrations", pkg.parent.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("Curata's Alembic migrations are missing from this installation")


def alembic_config(url: str, engine: Engine | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


_REV = re.compile(r"^revision(?:: str)? = ['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = (?:['\"]([^'\"]+)['\"]|None)", re.M)


@functools.cache
def head_revision() -> str:
    """The newest revision. Read from the revision files' headers, because loading them through
    Alembic costs ~0.4 s on every command; ``tests/platform/test_migrations.py`` checks that
    this agrees with Alembic's own answer."""
    revisions, parents = set(), set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        text = path.read_text()
        rev, down = _REV.search(text), _DOWN.search(text)
        if rev is None or down is None:
            return alembic_head_revision()
        revisions.add(rev.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = sorted(revisions - parents)
    if len(heads) != 1:
        raise RuntimeError(f"Catalog migrations have {len(heads)} heads: {heads}")
    return heads[0]


@functools.cache
def known_revisions() -> tuple[str, ...]:
    """Every revision this Curata ships, oldest first (read from the files' headers)."""
    parent: dict[str, str | None] = {}
    for path in (migrations_dir() / "versions").glob("*.py"):
        text = path.read_text()
        rev, down = _REV.search(text), _DOWN.search(text)
        if rev is not None and down is not None:
            parent[rev.group(1)] = down.group(1)
    order, rev = [], head_revision()
    while rev:
        order.append(rev)
        rev = parent.get(rev)
    return tuple(reversed(order))


def alembic_head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"Catalog migrations have {len(heads)} heads: {heads}")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the catalog (``alembic_version``), None for an empty database.

    Read with one query rather than Alembic's ``MigrationContext`` (importing Alembic's runtime
    costs ~0.1 s on every command); ``tests/platform/test_migrations.py`` compares the two."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"Catalog has {len(rows)} Alembic heads: {rows}")
    return rows[0] if rows else None


def alembic_current_revision(engine: Engine) -> str | None:
    """Alembic's own reading of :func:`current_revision` (tests compare them)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url, engine), revision)


def downgrade(engine: Engine, url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url, engine), revision)


def check(engine: Engine, url: str) -> None:
    """Raise if the models and the revisions disagree (``alembic check``)."""
    from alembic import command

    command.check(alembic_config(url, engine))
