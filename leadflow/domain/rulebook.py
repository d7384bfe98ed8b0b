"""A compiled rulebook: ordered rules (condition → action) and a mandatory fallback.

Compiled once from YAML/JSON (see `leadflow.rules`), immutable, shared by every
routing decision of its version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from leadflow.domain.conditions import ALWAYS, Condition
from leadflow.domain.eligibility import local_time
from leadflow.domain.model import TimeRange


class Method(StrEnum):
    ACCOUNT_OWNER = "account_owner"
    DIRECT = "direct"
    ROUND_ROBIN = "round_robin"
    WEIGHTED = "weighted"
    LOAD_BALANCED = "load_balanced"


@dataclass(frozen=True, slots=True)
class Assign:
    """Give the lead to one rep of a pool, chosen by `method`."""

    method: Method
    team: str | None = None
    reps: tuple[str, ...] = ()  # rep e-mails: an explicit pool, or the `direct` target
    territory: str | None = None  # "matched" = the lead's territory; or a territory name
    skills: frozenset[str] = frozenset()
    match_language: bool = False
    weights: Mapping[str, int] = field(default_factory=dict)  # rep e-mail → weight override

    @property
    def kind(self) -> str:
        return "assign"

    def pool_key(self) -> str:
        """Identifies the rotation whose turns this action shares (durable cursor key)."""
        if self.team:
            return f"{self.method}:team:{self.team}"
        return f"{self.method}:reps:{','.join(sorted(self.reps))}"


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Hold the lead in a named queue for reps to claim (or a manager to triage)."""

    queue: str

    @property
    def kind(self) -> str:
        return "queue"


class OfferMode(StrEnum):
    CASCADE = "cascade"  # top producer: best score first, one at a time
    BROADCAST = "broadcast"  # shark tank: N at once, first accept wins
    ROTATING = "rotating"  # round robin push & pull: rotating order, reversed each round


@dataclass(frozen=True, slots=True)
class Offer:
    """Offer the lead to reps (cascade, broadcast, rotating) until one accepts.

    `then` applies after `max_rounds` without an accept or when nobody is eligible;
    None means the `unassigned` queue (a manager's hands).
    """

    mode: str
    team: str | None = None
    reps: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)  # scoring weights (see performance)
    timeout_seconds: int = 120
    max_rounds: int = 1
    size: int | None = None  # broadcast: how many at once (None: every eligible rep)
    then: Action | None = None

    @property
    def kind(self) -> str:
        return "offer"

    def pool_key(self) -> str:
        """The durable rotation of `rotating` offers (distinct from assign rotations)."""
        if self.team:
            return f"offer:{self.mode}:team:{self.team}"
        return f"offer:{self.mode}:reps:{','.join(sorted(self.reps))}"


Action = Assign | Enqueue | Offer


@dataclass(frozen=True, slots=True)
class ActiveWindow:
    """A rule applies only on these weekdays (0 = Monday) and hours, in `timezone`."""

    weekdays: frozenset[int]
    hours: TimeRange | None
    timezone: str

    def is_open(self, now: datetime) -> bool:
        local = local_time(self.timezone, now)
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        return self.hours is None or self.hours.contains(local.time())


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    action: Action
    when: Condition = ALWAYS
    window: ActiveWindow | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Rulebook:
    rules: tuple[Rule, ...]
    fallback: Action
    version: int = 0
    free_mail_domains: frozenset[str] = frozenset()

    def rule(self, name: str) -> Rule:
        return next(r for r in self.rules if r.name == name)
