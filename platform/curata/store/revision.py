"""Create a new Alembic revision from the models: ``python -m curata.store.revision MSG``."""

from __future__ import annotations

import sys
import tempfile

from alembic import command
from sqlalchemy import create_engine

from curata.store.migrate import alembic_config, upgrade


def main() -> None:
    message = " ".join(sys.argv[1:]) or "change"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/rev.db"
        engine = create_engine(url)
        upgrade(engine, url)
        command.revision(alembic_config(url, engine), message=message, autogenerate=True)


if __name__ == "__main__":
    main()
