"""What every use case needs: the database, the clock, and per-process caches.

Caches are keyed by counters stored in the database (`meta`), so a change made by any
process is seen by every other on its next request: no in-process state is authoritative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadflow.domain.model import Org
from leadflow.domain.rulebook import Rulebook
from leadflow.services import txcache
from leadflow.services.clock import Clock, SystemClock
from leadflow.store.db import Database
from leadflow.store.models import Meta

ORG_REVISION = "org_revision"
RULEBOOK_VERSION = "rulebook_version"


@dataclass
class Services:
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    org_cache: tuple[int, Org] | None = None
    rulebook_cache: dict[int, Rulebook] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


def read_meta(session: Session) -> dict[str, int]:
    """The revision counters, read once per transaction (several hooks ask per lead)."""
    return txcache.cached(session, "meta", lambda: _read_meta(session))


def _read_meta(session: Session) -> dict[str, int]:
    return {k: v for k, v in session.execute(select(Meta.key, Meta.value))}


def bump(session: Session, key: str) -> None:
    session.execute(update(Meta).where(Meta.key == key).values(value=Meta.value + 1))
    txcache.forget(session, "meta")


def set_meta(session: Session, key: str, value: int) -> None:
    session.execute(update(Meta).where(Meta.key == key).values(value=value))
    txcache.forget(session, "meta")
