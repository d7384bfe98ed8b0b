"""The active rulebook's `lifecycle:` section, read inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from leadflow.rules.lifecycle import DEFAULT_LIFECYCLE, LifecycleSpec, lifecycle_of
from leadflow.services import txcache
from leadflow.services.context import RULEBOOK_VERSION, read_meta
from leadflow.store.models import RulebookRow

_cache: dict[tuple[str, int], tuple[LifecycleSpec, dict[str, Any]]] = {}
"""(database, rulebook version) → parsed section; versions are immutable once stored."""


def active(s: Session) -> tuple[LifecycleSpec, dict[str, Any]]:
    """(lifecycle spec, raw rulebook document) of the active rulebook version."""
    return txcache.cached(s, "lifecycle", lambda: _active(s))


def _active(s: Session) -> tuple[LifecycleSpec, dict[str, Any]]:
    version = read_meta(s).get(RULEBOOK_VERSION, 0)
    key = (str(s.get_bind().engine.url), version)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    row = s.get(RulebookRow, version) if version else None
    document = row.document if row is not None else {}
    value = (lifecycle_of(document) if document else DEFAULT_LIFECYCLE, document)
    _cache[key] = value
    return value


def spec(s: Session) -> LifecycleSpec:
    return active(s)[0]
