"""Alembic environment for the Curata catalog (SQLite or PostgreSQL)."""

from __future__ import annotations

from alembic import context
from curata.store.models import Base, load_extensions
from sqlalchemy import create_engine

load_extensions()
config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
