"""What the models declare for each database, as the migrations compare it with a schema."""

from __future__ import annotations

from typing import Any

from webapp.dashboard.search import SQLITE_SEARCH


def declared_for(item: Any, dialect: str) -> bool:
    """Whether the models declare ``item`` (a table, an index...) for ``dialect``: all of
    them but an index kept for one database only, which names it in ``info["dialect"]``,
    and not SQLite's search index (``SQLITE_SEARCH``), which is SQLite's own virtual table.
    Alembic's comparisons use it, so that neither database is told the other's is missing."""
    if getattr(item, "name", "").startswith(SQLITE_SEARCH):
        return False
    only = getattr(item, "info", {}).get("dialect")
    return only is None or only == dialect
