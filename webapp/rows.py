"""Insert one new row with a single Core INSERT and keep its object in the session.

The unit of work (``Session.flush``) costs several times the INSERT it sends for the few
rows a delivery creates. ``insert_row`` sends that INSERT itself and hands the session the
object as if it had been loaded: the same mapper events run (so ``PatientProfile``'s
``search_text`` is filled by its own hook), column defaults apply, and an object whose
insert a rollback undid (of its savepoint or of the whole transaction) leaves the session,
as an ORM-inserted one would. Functions here insert; the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Insert, Table, event, insert, inspect
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached

from webapp.extensions import db

T = TypeVar("T")

# ``session.info`` key: the objects ``insert_row`` inserted, each with the innermost
# transaction it was inserted in, until the outermost one commits or rolls back.
INSERTED_KEY = "rows_inserted"
# One INSERT ... RETURNING statement per table, built once so that its cache key is too.
_statements: dict[Table, Insert] = {}


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
    state = inspect(instance)
    if not state.transient:
        raise ValueError(f"{instance!r} is not a new object")
    mapper = state.mapper
    session = db.session()
    session.flush()
    connection = session.connection()
    mapper.dispatch.before_insert(mapper, connection, state)

    table = mapper.local_table
    values: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in state.dict:
            values[column.key] = state.dict[prop.key]
        elif column.primary_key or (column.default is None and column.server_default):
            continue  # the database's to give; read when first used
        elif column.default is not None and column.default.is_scalar:
            values[column.key] = column.default.arg
        elif column.default is not None and column.default.is_callable:
            values[column.key] = column.default.arg(None)
        else:
            values[column.key] = None
        setattr(instance, prop.key, values[column.key])

    primary_key = connection.execute(_insert_statement(table), values).one()
    for column, value in zip(table.primary_key.columns, primary_key, strict=True):
        setattr(instance, mapper.get_property_by_column(column).key, value)
    make_transient_to_detached(instance)  # the row exists: loaded, nothing to flush
    session.add(instance)
    mapper.dispatch.after_insert(mapper, connection, state)
    innermost = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(INSERTED_KEY, []).append((innermost, instance))
    return instance


def _insert_statement(table: Table) -> Insert:
    statement = _statements.get(table)
    if statement is None:
        statement = _statements[table] = insert(table).returning(*table.primary_key.columns)
    return statement


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
