"""Write one row now with a plain statement, and keep its ORM object in step.

The unit of work (`Session.flush`) is the costliest part of an intake: planning, ordering
and bookkeeping around what is, for a new lead, a handful of single-row statements. Hot
paths write through here instead: `insert_row` runs one INSERT, reads the generated key
back and attaches the object as if it had been loaded; `update_row` runs one UPDATE by
primary key and records the new values as saved. Later ORM changes to these objects (a
hook amending a decision's trace) are still saved by the next flush as usual.

On SQLite these statements go straight to the driver (`execute`): each is compiled once,
with its parameters' bind processors, and then costs one `sqlite3` call instead of
SQLAlchemy's per-execution machinery (context, parameter processing, result set-up),
which cost several times the statement itself. Errors are still raised as SQLAlchemy's
(`IntegrityError`, `OperationalError`), and the statement runs on the session's own
connection, inside its transaction. Other databases keep the ordinary path.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from keyword import iskeyword
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Insert,
    Update,
    and_,
    bindparam,
    event,
    insert,
    update,
)
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.instrumentation import ClassManager
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

from leadflow.store.models import Base
from leadflow.store.types import UTCDateTime

R = TypeVar("R", bound=Base)


def insert_row(s: Session, cls: type[R], **values: Any) -> R:
    """INSERT `values` into `cls`'s table now; the attached object, its key filled in."""
    row, key = _insert(s, cls, values)
    # Filled in as a loaded object is (no constructor, no attribute event per column):
    # these are the values just written, so there is nothing to track.
    obj: R = _manager(cls).new_instance()
    fields = obj.__dict__
    fields.update(row)
    fields.update(zip(_primary_key(cls), key, strict=True))
    make_transient_to_detached(obj)
    s.add(obj)
    return obj


@cache
def _manager(cls: type[Base]) -> ClassManager[Any]:
    """The class's instrumentation, its mappers configured (the constructor, which
    `insert_row` skips, is what would otherwise configure them on first use)."""
    configure_mappers()
    return cls.__mapper__.class_manager


def insert_values(s: Session, cls: type[Base], **values: Any) -> Any:
    """`insert_row` for a row nobody reads back in this transaction: no object, its key."""
    return _insert(s, cls, values)[1][0]


def _insert(s: Session, cls: type[Base], values: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    stmt, defaults, generated = _statement(cls)
    row = {**defaults, **values}
    for key, make in generated.items():
        if key not in values:
            row[key] = make(None)  # SQLAlchemy wraps callables as f(context)
    unknown = row.keys() - _columns(cls)
    if unknown:
        raise TypeError(f"{cls.__table__.name} has no column {', '.join(sorted(unknown))}")
    conn = _connection(s)
    if conn.dialect.name != "sqlite":
        return row, conn.execute(stmt, row).inserted_primary_key
    keys = _primary_key(cls)
    plan = _insert_plan(cls, tuple(row), conn.dialect)
    rowid = _run(conn, plan, row).lastrowid
    if all(row.get(k) is not None for k in keys):
        return row, tuple(row[k] for k in keys)
    return row, (rowid,)  # one integer key: SQLite's rowid, as SQLAlchemy reads it too


_CONNECTION = "leadflow.direct.connection"


def _connection(s: Session) -> Connection:
    """The session's connection in its current transaction. `Session.connection()` walks
    the transaction's state machine on every call (several times the cost of a small
    statement), so the connection is kept in `Session.info` from the moment the
    transaction begins on it until that transaction ends. Not inside a savepoint:
    `Session.connection()` is what emits a nested transaction's SAVEPOINT."""
    found: Connection | None = s.info.get(_CONNECTION)
    return found if found is not None else s.connection()


@event.listens_for(Session, "after_begin")
def _keep_connection(session: Session, _transaction: Any, connection: Connection) -> None:
    session.info[_CONNECTION] = connection


@event.listens_for(Session, "after_transaction_create")
def _no_shortcut_in_savepoints(session: Session, transaction: Any) -> None:
    if transaction.nested:
        session.info.pop(_CONNECTION, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_connection(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction: savepoints keep it
        session.info.pop(_CONNECTION, None)


def update_row(s: Session, obj: Base, **values: Any) -> None:
    """UPDATE these columns of `obj`'s row now (by primary key); `obj` shows them saved."""
    keys = _primary_key(type(obj))
    params = {f"pk_{k}": getattr(obj, k) for k in keys} | values
    execute(s, _update(type(obj), tuple(sorted(values))), params)
    for key, value in values.items():
        set_committed_value(obj, key, value)


@cache
def _update(cls: type[Base], columns: tuple[str, ...]) -> Update:
    table = cls.__table__
    where = and_(*(c == bindparam(f"pk_{c.key}") for c in table.primary_key.columns))
    return update(table).where(where).values({c: bindparam(c) for c in columns})


@cache
def _statement(cls: type[Base]) -> tuple[Insert, dict[str, Any], dict[str, Any]]:
    """The statement, the scalar defaults, and the defaults made per row (e.g. `dict`)."""
    table = cls.__table__
    defaults: dict[str, Any] = {}
    generated: dict[str, Any] = {}
    for column in table.columns:
        if column.primary_key and column.autoincrement is not False:
            continue
        default = column.default
        if column.server_default is not None or (
            default is not None and not (default.is_callable or default.is_scalar)
        ):
            # The database would fill it: the object could not know its value.
            raise TypeError(f"insert_row cannot fill {table.name}.{column.key}")
        if default is not None and default.is_callable:
            generated[column.key] = default.arg
        else:
            defaults[column.key] = default.arg if default is not None else None
    return insert(table), defaults, generated


@cache
def _columns(cls: type[Base]) -> frozenset[str]:
    return frozenset(cls.__table__.columns.keys())


@cache
def _primary_key(cls: type[Base]) -> tuple[str, ...]:
    return tuple(c.key for c in cls.__table__.primary_key.columns)


def execute(s: Session, stmt: Executable, params: Mapping[str, Any]) -> None:
    """Run a prebuilt INSERT/UPDATE/DELETE with `params` on the session's connection
    (straight on the driver on SQLite: see the module docstring)."""
    conn = _connection(s)
    if conn.dialect.name != "sqlite":
        conn.execute(stmt, dict(params))
        return
    _run(conn, _plan(stmt, conn.dialect), params)


def scalar(s: Session, stmt: Executable, params: Mapping[str, Any]) -> Any:
    """The first column of the first row of a prebuilt one-column SELECT (or None); its
    column must be one the driver returns as is (an integer id, a text)."""
    conn = _connection(s)
    if conn.dialect.name != "sqlite":
        return conn.execute(stmt, dict(params)).scalar()
    plan = _plan(stmt, conn.dialect)
    if not plan.plain_result or not _expandable(plan, params):
        return conn.execute(stmt, dict(params)).scalar()
    row = _run(conn, plan, params).fetchone()
    return row[0] if row is not None else None


def rows(s: Session, stmt: Executable, params: Mapping[str, Any]) -> list[Any]:
    """The rows of a prebuilt SELECT, each read by column name (`row.domain`) as
    SQLAlchemy's rows are; on SQLite, straight from the driver with the columns' result
    processors (booleans, dates, JSON)."""
    conn = _connection(s)
    if conn.dialect.name != "sqlite":
        return list(conn.execute(stmt, dict(params)))
    plan = _plan(stmt, conn.dialect)
    if plan.row is None or not _expandable(plan, params):
        return list(conn.execute(stmt, dict(params)))
    fetched = _run(conn, plan, params).fetchall()
    make = plan.row._make
    if plan.plain_result:
        return [make(raw) for raw in fetched]
    processors = plan.results
    return [
        make(v if p is None else p(v) for p, v in zip(processors, raw, strict=True))
        for raw in fetched
    ]


def _expandable(plan: _Plan, params: Mapping[str, Any]) -> bool:
    """SQLAlchemy writes an empty `IN ()` as a special expression: left to it."""
    return all(params.get(name) for name in plan.expanding)


@dataclass(frozen=True)
class _Plan:
    """A statement compiled once for SQLite: its SQL, and per positional parameter its
    name, its value when the statement fixes it (a LIMIT) and its bind processor."""

    sql_text: str
    params: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    plain_result: bool
    # SELECT: a named tuple type for its rows and each column's result processor (None
    # when its column names cannot name a tuple's fields).
    row: Any
    results: tuple[Callable[[Any], Any] | None, ...]
    expanding: frozenset[str]  # `IN` lists: one placeholder per value, SQL per length
    variants: dict[tuple[int, ...], str] = field(default_factory=dict, compare=False)

    def sql(self, values: Mapping[str, Any]) -> str:
        if not self.expanding:
            return self.sql_text
        sizes = tuple(len(values[name]) for name in sorted(self.expanding))
        found = self.variants.get(sizes)
        if found is None:
            found = self.sql_text
            for name, size in zip(sorted(self.expanding), sizes, strict=True):
                found = found.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * size))
            self.variants[sizes] = found
        return found


_FIXED = object()  # marks a parameter the caller must give


def _run(conn: Connection, plan: _Plan, values: Mapping[str, Any]) -> Any:
    args = []
    for name, fixed, process in plan.params:
        if fixed is not _FIXED:
            value = values.get(name, fixed)
        elif name in values:
            value = values[name]
        else:  # as SQLAlchemy says it: never a silent NULL
            raise InvalidRequestError(f"A value is required for bind parameter {name!r}")
        if name in plan.expanding:
            args.extend(process(v) if process is not None and v is not None else v for v in value)
        else:
            args.append(process(value) if process is not None and value is not None else value)
    sql = plan.sql(values)
    driver = conn.connection.driver_connection
    assert driver is not None
    dbapi = conn.dialect.loaded_dbapi
    try:
        return driver.execute(sql, args)
    except dbapi.Error as error:
        raise DBAPIError.instance(sql, args, error, dbapi.Error, dialect=conn.dialect) from error


_insert_plans: dict[tuple[type[Base], tuple[str, ...], str], _Plan] = {}


def _insert_plan(cls: type[Base], columns: tuple[str, ...], dialect: Dialect) -> _Plan:
    key = (cls, columns, dialect.name)
    found = _insert_plans.get(key)
    if found is None:
        stmt = insert(cls.__table__).values({c: bindparam(c) for c in columns})
        found = _insert_plans[key] = _compile(stmt, dialect)
    return found


# Compiled once per statement object and database kind (not per engine: tests make many).
_plans: dict[tuple[int, str], tuple[Executable, _Plan]] = {}


def _plan(stmt: Executable, dialect: Dialect) -> _Plan:
    key = (id(stmt), dialect.name)
    found = _plans.get(key)
    if found is not None and found[0] is stmt:
        return found[1]
    plan = _compile(stmt, dialect)
    _plans[key] = (stmt, plan)  # keeps `stmt` alive, so its id is never reused
    return plan


def _remembering(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process` that answers again at once for the datetime it saw last: an intake binds
    the same `now` in half a dozen columns of four statements, and SQLite's datetime
    processor formats a string each time."""
    last: list[tuple[Any, Any]] = [(object(), None)]

    def remembered(value: Any) -> Any:
        held = last[0]  # one tuple, replaced whole: threads never see half of a pair
        if held[0] is value:
            return held[1]
        out = process(value)
        last[0] = (value, out)
        return out

    return remembered


def _compile(stmt: Executable, dialect: Dialect) -> _Plan:
    assert isinstance(stmt, ClauseElement)
    compiled: Any = stmt.compile(dialect=dialect)
    if any(getattr(compiled, a, None) for a in ("prefetch", "postfetch", "returning")):
        raise TypeError(f"not a plain statement: {compiled.string}")
    if compiled.literal_execute_params:
        raise TypeError(f"not a plain statement: {compiled.string}")
    expanding = frozenset(name for name, b in compiled.binds.items() if b.expanding)
    params = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        fixed = _FIXED if bind.required or bind.callable is not None else bind.value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and isinstance(bind.type, DateTime | UTCDateTime):
            process = _remembering(process)
        params.append((name, fixed, process))
    result = getattr(compiled, "_result_columns", None)
    results = tuple(
        col[3].dialect_impl(dialect).result_processor(dialect, None) for col in result or ()
    )
    plain_result = result is not None and all(p is None for p in results)
    keys = [col[0] for col in result or ()]
    named = len(set(keys)) == len(keys) and all(
        k.isidentifier() and not k.startswith("_") and not iskeyword(k) for k in keys
    )
    row = namedtuple("Row", keys) if keys and named else None
    return _Plan(compiled.string, tuple(params), plain_result, row, results, expanding)
