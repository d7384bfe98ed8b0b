"""Durable timers: every feature keeps its due work in its own table (rows with a due
time), and exposes `run_due_timers(svc, now, limit) -> int` in its services module.

`run_all_due` discovers those functions and runs each; the `leadflow worker` loop calls it.
A runner must claim its rows safely when several workers run at once (PostgreSQL:
`SELECT … FOR UPDATE SKIP LOCKED`; SQLite: writers are serialised by BEGIN IMMEDIATE)
and must be idempotent: a crash between claim and completion may run a timer twice,
never zero times.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from datetime import datetime
from functools import cache

from leadflow.services.context import Services

DueRunner = Callable[[Services, datetime, int], int]
log = logging.getLogger("leadflow.timers")


@cache
def discover_due_runners() -> dict[str, DueRunner]:
    """Found once per process: the loop asks several times a second."""
    import leadflow.services

    runners: dict[str, DueRunner] = {}
    for info in sorted(pkgutil.iter_modules(leadflow.services.__path__), key=lambda i: i.name):
        if info.name == "timers":
            continue
        module = importlib.import_module(f"leadflow.services.{info.name}")
        runner = getattr(module, "run_due_timers", None)
        if callable(runner):
            runners[info.name] = runner
    return runners


def run_all_due(svc: Services, limit: int = 100) -> dict[str, int]:
    """Run every feature's due timers once; returns how many each one handled."""
    now = svc.clock.now()
    done: dict[str, int] = {}
    for name, runner in discover_due_runners().items():
        try:
            done[name] = runner(svc, now, limit)
        except Exception:
            # One feature's failure must not stop the others; the rows stay due.
            log.exception("timer runner %s failed", name)
            done[name] = 0
    return done
