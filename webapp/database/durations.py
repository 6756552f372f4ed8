"""The time between two stored timestamps, in SQL, the same on SQLite and PostgreSQL.

Neither database has a function both share for it, so ``seconds_between`` is a construct
of our own compiled for each (SQLAlchemy's custom SQL constructs).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[float]):  # noqa: N801 - a SQL function, named as one
    """The seconds from ``earlier`` to ``later`` (negative when ``later`` is earlier)."""

    type = Float()
    inherit_cache = True

    def __init__(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> None:
        super().__init__(later, earlier)


def _operands(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    later, earlier = element.clauses
    return compiler.process(later, **kw), compiler.process(earlier, **kw)


@compiles(seconds_between, "postgresql")
def _postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    # date_part gives a double; EXTRACT gives a numeric since PostgreSQL 14, which costs a
    # query comparing it for every row some twice the time.
    later, earlier = _operands(element, compiler, **kw)
    return f"date_part('epoch', ({later}) - ({earlier}))"


@compiles(seconds_between, "sqlite")
def _sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores the times as ISO text in UTC; julianday reads it, fractions and all.
    later, earlier = _operands(element, compiler, **kw)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"
