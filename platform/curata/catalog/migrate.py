"""Alembic plumbing: the catalog schema is created and upgraded only by revisions."""

from __future__ import annotations

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


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"Catalog migrations have {len(heads)} heads: {heads}")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
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
