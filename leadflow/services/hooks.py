"""Extension points around routing, so features plug in without editing intake.

A services module may define, at module level:

- `before_routing(s, doc, now) -> dict | None`: runs inside the intake transaction
  before the decision. May enrich/normalise `doc` in place (enrichment, scoring) and
  return a dict to short-circuit routing: `{"merged_into": <lead id>, "reason": str}`
  answers the request with that existing lead (dedup). Its trace notes go in
  `doc["_trace"]` (a list of dicts) and show in the decision trace.
- `preview_routing(s, doc, now) -> None`: the read-only part of `before_routing` for a
  dry run (enrichment, scoring: no dedup, no writes); notes in `doc["_trace"]` too.
- `after_decision(s, lead, decision, result, org, now) -> None`: runs in the same
  transaction right after a decision row is written (offers create offer rows, SLAs
  start timers, the outbox queues notifications). Raising rolls everything back.

Hooks run in module-name order. Discovery happens once per process.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from typing import Any

BeforeRouting = Callable[..., dict[str, Any] | None]
AfterDecision = Callable[..., None]


@cache
def _discover(name: str) -> tuple[Callable[..., Any], ...]:
    import leadflow.services

    found: list[Callable[..., Any]] = []
    for info in sorted(pkgutil.iter_modules(leadflow.services.__path__), key=lambda i: i.name):
        if info.name in {"hooks", "timers"}:
            continue
        module = importlib.import_module(f"leadflow.services.{info.name}")
        fn = getattr(module, name, None)
        if callable(fn):
            found.append(fn)
    return tuple(found)


def before_routing_hooks() -> tuple[BeforeRouting, ...]:
    return _discover("before_routing")


def after_decision_hooks() -> tuple[AfterDecision, ...]:
    return _discover("after_decision")


def preview_routing_hooks() -> tuple[BeforeRouting, ...]:
    return _discover("preview_routing")
