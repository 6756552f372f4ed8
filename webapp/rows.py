"""A delivery's few rows, written and looked up without the ORM's cost per statement.

The unit of work (``Session.flush``) costs several times the INSERT it sends for the few
rows a delivery creates. ``insert_row`` sends that INSERT itself (``insert_chain`` a row
and rows that point at it, each at the one before, in one round trip on PostgreSQL) and
hands the session the object as if it had been loaded: the same mapper events run (so
``PatientProfile``'s ``search_text`` is filled by its own hook), column defaults apply, and
an object whose insert a rollback undid (of its savepoint or of the whole transaction)
leaves the session, as an ORM-inserted one would. ``found_objects`` looks rows up by their
ids first, so that a lookup which finds nothing, as most of a new booking's do, loads
nothing through the ORM; ``found_ids`` sends several such lookups in one round trip on
PostgreSQL, and ``loaded`` loads what they found. Functions here insert and read; the
caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    Column,
    CompoundSelect,
    Connection,
    Insert,
    Select,
    Table,
    bindparam,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.orm import (
    ColumnProperty,
    Mapper,
    Session,
    SessionTransaction,
    make_transient_to_detached,
)

from webapp.extensions import db

T = TypeVar("T")

# ``session.info`` key: the objects ``insert_row`` inserted, each with the innermost
# transaction it was inserted in, until the outermost one commits or rolls back.
INSERTED_KEY = "rows_inserted"
# The INSERT ... RETURNING statements, built once (per table, or per chain of tables and
# columns) so that their cache keys are too.
_statements: dict[object, Insert] = {}


def insert_row(instance: T) -> T:
    """Insert ``instance``, a new (transient) mapped object, and return it, now persistent
    in the session with its primary key and every column loaded.

    Many-to-one relationships are not followed: give the foreign key columns themselves,
    and set the related objects afterwards with ``set_committed_value`` if they are
    wanted without a load. Pending changes are flushed first, so statements keep their
    order. Raises ``IntegrityError`` as the flush would (a unique or foreign key conflict)
    and ``ValueError`` for an object that is not new. A column left unset takes its
    default (``None`` without one); one with only a server default is read when used.
    """
    connection = _flushed_connection()
    values = _row_values(instance, connection)
    table = inspect(instance).mapper.local_table
    statement = _statements.get(table)
    if statement is None:
        statement = _statements[table] = insert(table).returning(*table.primary_key.columns)
    _keep_loaded(instance, connection.execute(statement, values).one(), connection)
    return instance


def insert_chain(first: object, *links: tuple[object, str]) -> None:
    """Insert ``first`` and then each link's object, whose attribute the link names is a
    foreign key to the primary key (a single column) of the object before it, as
    ``insert_row`` does each; on PostgreSQL in one statement (each INSERT a CTE of the
    next), elsewhere one statement each.

    On PostgreSQL every object's ``before_insert`` events run before any row is inserted.
    """
    connection = _flushed_connection()
    if connection.dialect.name != "postgresql":
        insert_row(first)
        parent = first
        for child, foreign_key in links:
            setattr(child, foreign_key, inspect(parent).identity[0])
            parent = insert_row(child)
        return
    objects = [first, *(child for child, _ in links)]
    foreign_keys = tuple(foreign_key for _, foreign_key in links)
    rows = [_row_values(instance, connection) for instance in objects]
    for values, foreign_key in zip(rows[1:], foreign_keys, strict=True):
        del values[foreign_key]
    statement = _chain_statement(
        tuple(inspect(instance).mapper.local_table for instance in objects),
        foreign_keys,
        tuple(tuple(values) for values in rows),
    )
    parameters = {
        f"row{number}_{key}": value
        for number, values in enumerate(rows)
        for key, value in values.items()
    }
    keys = connection.execute(statement, parameters).one()
    for number, instance in enumerate(objects):
        if number:
            setattr(instance, foreign_keys[number - 1], keys[number - 1])
        _keep_loaded(instance, (keys[number],), connection)


IdLookup = Select[Any] | CompoundSelect
"""A Core select of one column of ids (or a union of such selects)."""


def found_objects(ids: IdLookup, objects: Select[Any], parameters: dict[str, Any]) -> list[Any]:
    """The mapped objects whose ids ``ids`` finds with ``parameters``, loaded by
    ``objects`` (``loaded``); an empty list when ``ids`` finds none.

    A lookup that finds nothing then costs one light statement, with no ORM load and one
    column to read; one that finds rows costs a second statement. Any lock is ``ids``'s to
    take (``FOR UPDATE``): the rows are locked before they are loaded. Pending changes are
    flushed first, as the ORM's autoflush would.
    """
    return loaded(objects, _flushed_connection().execute(ids, parameters).scalars().all())


def found_ids(lookups: Sequence[IdLookup], parameters: dict[str, Any]) -> list[list[int]]:
    """The ids each of ``lookups`` finds with ``parameters`` (one set for all: a name
    means the same in each), in the lookups' order, as ``found_objects`` looks them up
    before loading anything.

    On PostgreSQL every lookup is an ``ARRAY(...)`` of one statement, so several cost one
    round trip; elsewhere each is a statement of its own. Locks are the lookups' own
    (``FOR UPDATE``); all the lookups read what was committed when that one statement
    started. Pending changes are flushed first.
    """
    connection = _flushed_connection()
    if connection.dialect.name != "postgresql":
        return [list(connection.execute(ids, parameters).scalars()) for ids in lookups]
    key = tuple(lookups)
    statement = _lookups.get(key)
    if statement is None:
        arrays = (func.array(ids.scalar_subquery()) for ids in lookups)
        statement = _lookups[key] = select(*arrays)
    return [list(ids) for ids in connection.execute(statement, parameters).one()]


# The one-statement form of each combination ``found_ids`` was given, built once.
_lookups: dict[tuple[IdLookup, ...], Select[Any]] = {}


def loaded(objects: Select[Any], ids: Sequence[int]) -> list[Any]:
    """The mapped objects with ``ids`` (found by an id lookup), loaded by ``objects`` (an
    ORM select taking them as the expanding parameter ``ids``) in its order; no statement
    when there are none."""
    if not ids:
        return []
    return list(db.session.scalars(objects, {"ids": list(ids)}).unique())


def _flushed_connection() -> Connection:
    session = db.session()
    session.flush()
    return session.connection()


def _row_values(instance: object, connection: Connection) -> dict[str, Any]:
    """Run ``instance``'s ``before_insert`` events and return the values of its row (by
    column key); every column the row will hold gets its value on the object, as a load
    would give it (no change events: the object is new and about to be taken as loaded)."""
    state = inspect(instance)
    if not state.transient:
        raise ValueError(f"{instance!r} is not a new object")
    mapper = state.mapper
    mapper.dispatch.before_insert(mapper, connection, state)
    given = state.dict
    values: dict[str, Any] = {}
    for column in _columns_of(mapper):
        if column.key in given:
            values[column.column_key] = given[column.key]
        elif not column.from_database:
            given[column.key] = values[column.column_key] = column.unset_value()
    return values


@dataclass(frozen=True)
class _Column:
    """How ``_row_values`` fills one column: its attribute and column keys, and its value
    when the object leaves it unset."""

    key: str
    column_key: str
    # The database's to give: the INSERT leaves it out, the object reads it when used.
    from_database: bool
    default: Any = None
    call_default: bool = False

    def unset_value(self) -> Any:
        """The column's default (called when it is a function), else ``None``."""
        return self.default(None) if self.call_default else self.default


_columns: dict[Mapper[Any], tuple[_Column, ...]] = {}


def _columns_of(mapper: Mapper[Any]) -> tuple[_Column, ...]:
    """``mapper``'s columns as ``_row_values`` fills them, read once per mapper."""
    columns = _columns.get(mapper)
    if columns is None:
        columns = _columns[mapper] = tuple(_column(prop) for prop in mapper.column_attrs)
    return columns


def _column(prop: ColumnProperty[Any]) -> _Column:
    column = prop.columns[0]
    default = column.default
    if column.primary_key or (default is None and column.server_default is not None):
        return _Column(prop.key, column.key, from_database=True)
    if default is None:
        return _Column(prop.key, column.key, from_database=False)
    if default.is_scalar or default.is_callable:
        return _Column(prop.key, column.key, False, default.arg, default.is_callable)
    return _Column(prop.key, column.key, from_database=True)  # a default in SQL


def _keep_loaded(instance: object, primary_key: Sequence[Any], connection: Connection) -> None:
    """Give the session ``instance``, whose row was inserted with ``primary_key``, as loaded."""
    state = inspect(instance)
    mapper = state.mapper
    for column, value in zip(mapper.local_table.primary_key.columns, primary_key, strict=True):
        state.dict[mapper.get_property_by_column(column).key] = value
    make_transient_to_detached(instance)  # the row exists: loaded, nothing to flush
    session = db.session()
    session.add(instance)
    mapper.dispatch.after_insert(mapper, connection, state)
    innermost = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(INSERTED_KEY, []).append((innermost, instance))


def _chain_statement(
    tables: tuple[Table, ...],
    foreign_keys: tuple[str, ...],
    columns: tuple[tuple[str, ...], ...],
) -> Insert:
    """``WITH row0 AS (INSERT INTO first ... RETURNING id), row1 AS (INSERT INTO second
    (foreign_key, ...) SELECT row0.id, ... FROM row0 RETURNING id), ... INSERT INTO last
    ... RETURNING`` the id of every row, in order; values bound as ``row<n>_<column>``."""
    key = (tables, foreign_keys, columns)
    statement = _statements.get(key)
    if statement is None:
        earlier: list[Any] = []  # the CTE of each row before the last
        for number, table in enumerate(tables):
            bound = [_bound(f"row{number}", table.c[name]) for name in columns[number]]
            if earlier:
                (parent_id,) = earlier[-1].c
                rows = select(parent_id, *bound)
                chained = insert(table).from_select(
                    [foreign_keys[number - 1], *columns[number]], rows
                )
            else:
                chained = insert(table).values(dict(zip(columns[number], bound, strict=True)))
            if number < len(tables) - 1:
                earlier.append(chained.returning(*table.primary_key.columns).cte(f"row{number}"))
            else:
                ids = [select(*row.c).scalar_subquery() for row in earlier]
                statement = chained.returning(*ids, *table.primary_key.columns)
        _statements[key] = statement
    return statement


def _bound(prefix: str, column: Column[Any]) -> BindParameter[Any]:
    return bindparam(f"{prefix}_{column.key}", type_=column.type)


@event.listens_for(Session, "after_soft_rollback")
def _forget_undone_rows(session: Session, rolled_back: SessionTransaction) -> None:
    """Take out of the session the objects whose insert ``rolled_back`` undid."""
    inserted = session.info.get(INSERTED_KEY)
    if not inserted:
        return
    kept = []
    for transaction, instance in inserted:
        if _within(transaction, rolled_back):
            if instance in session:
                session.expunge(instance)
        else:
            kept.append((transaction, instance))
    session.info[INSERTED_KEY] = kept


@event.listens_for(Session, "after_commit")
def _forget_committed_rows(session: Session) -> None:
    """Once the outermost transaction commits, nothing is left to undo (a savepoint's
    release keeps its rows for the outer transaction to undo)."""
    if not session.in_nested_transaction():
        session.info.pop(INSERTED_KEY, None)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
