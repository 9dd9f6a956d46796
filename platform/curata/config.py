"""Where Curata keeps things: ``CURATA_HOME``, the catalog URL and the warehouse root."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOME = ".curata"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Resolved configuration (arguments win over environment, environment over defaults).

    Attributes:
        home: ``CURATA_HOME`` (default ``./.curata``), holding ``catalog.db`` and ``warehouse/``.
        catalog_url: SQLAlchemy URL (``CURATA_CATALOG_URL``; SQLite under ``home`` by default).
        warehouse: root URI of the Delta tables (``CURATA_WAREHOUSE``; ``home/warehouse``).
        storage_options: object-store options for deltalake/pyarrow, from the JSON in
            ``CURATA_STORAGE_OPTIONS`` (credentials belong in the environment, e.g. ``AWS_*``).
    """

    home: Path
    catalog_url: str
    warehouse: str
    storage_options: dict[str, str] = field(default_factory=dict)

    @property
    def is_embedded(self) -> bool:
        return self.catalog_url.startswith("sqlite")


def resolve(
    home: str | os.PathLike[str] | None = None,
    catalog_url: str | None = None,
    warehouse: str | None = None,
    storage_options: dict[str, str] | None = None,
) -> Settings:
    home_path = Path(home or os.environ.get("CURATA_HOME") or DEFAULT_HOME).expanduser().absolute()
    url = catalog_url or os.environ.get("CURATA_CATALOG_URL") or f"sqlite:///{home_path / 'catalog.db'}"
    wh = warehouse or os.environ.get("CURATA_WAREHOUSE") or str(home_path / "warehouse")
    if "://" not in wh:
        wh = str(Path(wh).expanduser().absolute())
    opts = storage_options
    if opts is None:
        opts = json.loads(os.environ.get("CURATA_STORAGE_OPTIONS") or "{}")
    return Settings(home=home_path, catalog_url=url, warehouse=wh.rstrip("/"), storage_options=opts)


def redact_url(url: str) -> str:
    """A catalog URL fit for messages: the password replaced by ``***``."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]
