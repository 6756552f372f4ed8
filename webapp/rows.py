"""A delivery's few rows, written and looked up without the ORM's cost per statement.

The unit of work (``Session.flush``) costs several times the INSERT it sends for the few
rows a delivery creates. ``insert_row`` sends that INSERT itself (``insert_with_parent`` a
row and the row it points at, in one round trip on PostgreSQL) and hands the session the
object as if it had been loaded: the same mapper events run (so ``PatientProfile``'s
``search_text`` is filled by its own hook), column defaults apply, and an object whose
insert a rollback undid (of its savepoint or of the whole transaction) leaves the session,
as an ORM-inserted one would. ``found_objects`` looks rows up by their ids first, so that a
lookup which finds nothing, as most of a new booking's do, loads nothing through the ORM;
``found_ids`` sends several such lookups in one round trip on PostgreSQL, and ``loaded``
loads what they found. Functions here insert and read; the caller owns the transaction.
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
P = TypeVar("P")

# ``session.info`` key: the objects ``insert_row`` inserted, each with the innermost
# transaction it was inserted in, until the outermost one commits or rolls back.
INSERTED_KEY = "rows_inserted"
# The INSERT ... RETURNING statements, built once (per table, or per parent and child) so
# that their cache keys are too.
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


def insert_with_parent(parent: P, child: T, foreign_key: str) -> tuple[P, T]:
    """Insert ``parent`` and ``child``, whose ``foreign_key`` attribute points at the
    parent's primary key (a single column), as ``insert_row`` does each; on PostgreSQL
    in one statement (the parent's INSERT a CTE of the child's), elsewhere in two.

    Both objects' ``before_insert`` events run before either row is inserted.
    """
    connection = _flushed_connection()
    if connection.dialect.name != "postgresql":
        insert_row(parent)
        setattr(child, foreign_key, inspect(parent).identity[0])
        return parent, insert_row(child)
    parent_values = _row_values(parent, connection)
    child_values = _row_values(child, connection)
    del child_values[foreign_key]
    statement = _parent_and_child_statement(
        inspect(parent).mapper.local_table,
        inspect(child).mapper.local_table,
        foreign_key,
        tuple(parent_values),
        tuple(child_values),
    )
    parameters = {f"parent_{key}": value for key, value in parent_values.items()} | {
        f"child_{key}": value for key, value in child_values.items()
    }
    parent_key, child_key = connection.execute(statement, parameters).one()
    _keep_loaded(parent, (parent_key,), connection)
    setattr(child, foreign_key, parent_key)
    _keep_loaded(child, (child_key,), connection)
    return parent, child


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


def _parent_and_child_statement(
    parent: Table,
    child: Table,
    foreign_key: str,
    parent_columns: tuple[str, ...],
    child_columns: tuple[str, ...],
) -> Insert:
    """``WITH new_parent AS (INSERT INTO parent ... RETURNING id) INSERT INTO child
    (foreign_key, ...) SELECT new_parent.id, ... FROM new_parent RETURNING new_parent.id,
    child.id``; values bound as ``parent_<column>`` and ``child_<column>``."""
    key = (parent, child, foreign_key, parent_columns, child_columns)
    statement = _statements.get(key)
    if statement is None:
        (parent_id,) = parent.primary_key.columns
        new_parent = (
            insert(parent)
            .values({name: _bound("parent", parent.c[name]) for name in parent_columns})
            .returning(parent_id)
            .cte("new_parent")
        )
        rows = select(
            new_parent.c[parent_id.key], *(_bound("child", child.c[name]) for name in child_columns)
        )
        statement = _statements[key] = (
            insert(child)
            .from_select([foreign_key, *child_columns], rows)
            .returning(child.c[foreign_key], *child.primary_key.columns)
        )
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
