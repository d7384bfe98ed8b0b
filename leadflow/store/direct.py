"""Write one row now with a plain statement, and keep its ORM object in step.

The unit of work (`Session.flush`) is the costliest part of an intake: planning, ordering
and bookkeeping around what is, for a new lead, a handful of single-row statements. Hot
paths write through here instead: `insert_row` runs one INSERT, reads the generated key
back and attaches the object as if it had been loaded; `update_row` runs one UPDATE by
primary key and records the new values as saved. Later ORM changes to these objects (a
hook amending a decision's trace) are still saved by the next flush as usual.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Insert, Update, and_, bindparam, insert, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from leadflow.store.models import Base

R = TypeVar("R", bound=Base)


def insert_row(s: Session, cls: type[R], **values: Any) -> R:
    """INSERT `values` into `cls`'s table now; the attached object, its key filled in."""
    row, key = _insert(s, cls, values)
    obj = cls(**row)
    for column, value in zip(_primary_key(cls), key, strict=True):
        setattr(obj, column, value)
    make_transient_to_detached(obj)
    s.add(obj)
    return obj


def insert_values(s: Session, cls: type[Base], **values: Any) -> Any:
    """`insert_row` for a row nobody reads back in this transaction: no object, its key."""
    return _insert(s, cls, values)[1][0]


def _insert(s: Session, cls: type[Base], values: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    stmt, defaults, generated = _statement(cls)
    row = {**defaults, **values}
    for key, make in generated.items():
        if key not in values:
            row[key] = make(None)  # SQLAlchemy wraps callables as f(context)
    return row, s.connection().execute(stmt, row).inserted_primary_key


def update_row(s: Session, obj: Base, **values: Any) -> None:
    """UPDATE these columns of `obj`'s row now (by primary key); `obj` shows them saved."""
    keys = _primary_key(type(obj))
    params = {f"pk_{k}": getattr(obj, k) for k in keys} | values
    s.connection().execute(_update(type(obj), tuple(sorted(values))), params)
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
def _primary_key(cls: type[Base]) -> tuple[str, ...]:
    return tuple(c.key for c in cls.__table__.primary_key.columns)
