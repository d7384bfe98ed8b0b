"""Factories for domain values: sensible defaults, `**overrides` for what a test cares about."""

from __future__ import annotations

import itertools
from typing import Any

from leadflow.domain.model import Org, Rep, Team, Territory

_ids = itertools.count(1000)


def rep(**overrides: Any) -> Rep:
    rid = overrides.pop("id", None) or next(_ids)
    defaults: dict[str, Any] = {
        "id": rid,
        "name": f"Rep {rid}",
        "email": f"rep{rid}@example.com",
        "teams": frozenset({"sales"}),
    }
    defaults.update(overrides)
    for key in ("teams", "territories", "skills", "languages"):
        if isinstance(defaults.get(key), list | set | tuple):
            defaults[key] = frozenset(defaults[key])
    return Rep(**defaults)


def make_org(
    reps: list[Rep], teams: list[Team] | None = None, territories: list[Territory] | None = None
) -> Org:
    names = {t for r in reps for t in r.teams}
    team_map = {t.name: t for t in teams or []}
    for name in names:
        team_map.setdefault(name, Team(name))
    return Org({r.id: r for r in reps}, team_map, tuple(territories or ()))


def lead(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": "jane@prospect.example",
        "company": {"name": "Prospect", "country": "FR", "size": 120},
        "account": {"matched": False},
        "territory": {"matched": False},
    }
    data.update(overrides)
    return data


def ensure_queues(svc: Any, names: Any) -> None:
    """Create the (pool) queues a test rulebook names: since pull distribution, a rulebook
    naming a queue that does not exist is refused."""
    from leadflow.pull_schemas import QueueIn
    from leadflow.services import queues

    known = {q["name"] for q in queues.list_queues(svc)}
    for name in sorted(set(names) - known):
        queues.create_queue(svc, QueueIn(name=name, mode="pool"))


def queues_named(doc: dict[str, Any]) -> set[str]:
    """Queue names a rulebook document's rules and fallback use (`queue: x` or `{name: x}`)."""
    found: set[str] = set()
    for action in [*(doc.get("rules") or []), doc.get("fallback") or {}]:
        queue = action.get("queue") if isinstance(action, dict) else None
        name = queue.get("name") if isinstance(queue, dict) else queue
        if isinstance(name, str):
            found.add(name)
    return found
