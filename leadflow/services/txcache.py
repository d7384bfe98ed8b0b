"""Values read once per write transaction, not once per lead.

Intake reads the same small things many times per lead (the `meta` counters, the active
lifecycle section, the webhook endpoints), and on SQLite a group commit runs dozens of
leads in one transaction. Inside one transaction those reads cannot change except by the
transaction's own writes, so they are kept in `Session.info` (a session is one
transaction here: `Database.write()`), dropped by the writer that changes them (`forget`)
and dropped on any rollback, savepoints included, so a value never outlives the state it
was read from. The SQLite group commit keeps one session across its transactions and
calls `clear` when another connection has written in between (see `group_commit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")

_KEY = "leadflow.txcache"


def cached(s: Session, name: str, load: Callable[[], T]) -> T:
    """`load()` the first time this transaction asks for `name`; the same value after."""
    store: dict[str, Any] = s.info.setdefault(_KEY, {})
    if name in store:
        return store[name]  # type: ignore[no-any-return]
    value = store[name] = load()
    return value


def peek(s: Session, name: str) -> Any:
    """What this transaction holds under `name`, without loading it (None if nothing)."""
    store = s.info.get(_KEY)
    return store.get(name) if store else None


def forget(s: Session, name: str) -> None:
    """The transaction changed what `name` was read from: read it again next time."""
    store = s.info.get(_KEY)
    if store:
        store.pop(name, None)


def clear(s: Session) -> None:
    """Forget everything (another connection changed the database)."""
    s.info.pop(_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_KEY, None)
